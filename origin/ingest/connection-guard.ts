/**
 * What node-media-server does not do for an RTMP port open to the internet
 * (its own ping timeout settings are not applied): limits on connections,
 * enforced on the raw sockets before NMS sees them.
 *
 * - At most `maxPerAddress` open connections per client address.
 * - A connection must become a publish (or a loopback play) within
 *   `handshakeTimeoutMs`, whatever it sends meanwhile: a client that never
 *   completes the handshake, or sends garbage after it, is closed.
 * Accepted publishes are watched for media by the ingest (a silent
 * publisher is closed), see rtmp-ingest.ts.
 */
import type { Server, Socket } from "node:net";

export interface ConnectionGuardOptions {
  maxPerAddress: number;
  handshakeTimeoutMs: number;
  log: (message: string) => void;
}

export class ConnectionGuard {
  private readonly perAddress = new Map<string, number>();
  private readonly pending = new Map<Socket, NodeJS.Timeout>();
  refused = 0;
  timedOut = 0;

  constructor(private readonly options: ConnectionGuardOptions) {}

  /** Runs before node-media-server's own connection handler. */
  attach(server: Server): void {
    server.prependListener("connection", (socket: Socket) => this.onConnection(socket));
  }

  /** The connection became a publish or a play: the handshake deadline no longer applies. */
  promote(socket: Socket | undefined): void {
    if (!socket) return;
    const timer = this.pending.get(socket);
    if (timer) clearTimeout(timer);
    this.pending.delete(socket);
  }

  get openConnections(): number {
    let n = 0;
    for (const count of this.perAddress.values()) n += count;
    return n;
  }

  private onConnection(socket: Socket): void {
    const address = normalizeAddress(socket.remoteAddress ?? "unknown");
    const count = (this.perAddress.get(address) ?? 0) + 1;
    if (count > this.options.maxPerAddress) {
      this.refused++;
      if (this.refused === 1 || this.refused % 100 === 0) {
        this.options.log(
          `rtmp: refused a connection from ${address}: more than ${this.options.maxPerAddress} open (${this.refused} refused so far)`,
        );
      }
      socket.destroy();
      return;
    }
    this.perAddress.set(address, count);
    const timer = setTimeout(() => {
      this.pending.delete(socket);
      this.timedOut++;
      this.options.log(`rtmp: closed a connection from ${address}: no publish within ${this.options.handshakeTimeoutMs} ms`);
      socket.destroy();
    }, this.options.handshakeTimeoutMs);
    timer.unref();
    this.pending.set(socket, timer);
    socket.once("close", () => {
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left <= 0) this.perAddress.delete(address);
      else this.perAddress.set(address, left);
      const pendingTimer = this.pending.get(socket);
      if (pendingTimer) clearTimeout(pendingTimer);
      this.pending.delete(socket);
    });
  }

  stop(): void {
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
  }
}

function normalizeAddress(address: string): string {
  return address.replace(/^::ffff:/, "");
}

/**
 * Stream keys never reach a log line: node-media-server prints stream paths
 * (`/live/<key>`) and names (`name=<key>`) in its messages.
 */
export function redactStreamKeys(message: string): string {
  return message
    .replace(/(^|[\s=("'])(\/[A-Za-z0-9_.-]{1,64}\/)[A-Za-z0-9_-]{8,128}(?=[\s,.:;)"']|$)/g, "$1$2<redacted>")
    .replace(/(name=)[A-Za-z0-9_-]{8,128}/g, "$1<redacted>");
}
