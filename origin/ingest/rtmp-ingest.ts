/**
 * RTMP ingest on node-media-server. Each accepted publish is handed to the
 * caller as an IncomingPublish; the caller decides (asynchronously, after
 * asking the Worker) whether to take it or refuse it. Refusal closes the
 * broadcaster's connection before any transcoder exists.
 *
 * Media leaves NMS through an in-process FLV subscriber (the same mechanism
 * NMS uses for its own recorder), so no second RTMP connection is needed
 * between ingest and transcoder.
 */
import { createRequire } from "node:module";
import { connect } from "node:net";
import type { Server, Socket } from "node:net";
import { ConnectionGuard, redactStreamKeys } from "./connection-guard.js";

const require = createRequire(import.meta.url);
// NMS is CommonJS without type declarations; these are the few shapes we use.
interface NmsSession {
  id: string;
  ip: string;
  streamApp: string;
  streamName: string;
  streamPath: string;
  socket?: Socket;
  close(): void;
}
interface NmsBroadcast {
  publisher: NmsSession | null;
  postPlay(session: unknown): string | null;
  donePlay(session: unknown): void;
}
interface NmsServer {
  store?: { _onSignal?: (signal: NodeJS.Signals) => void };
  rtmpServer?: { tcpServer?: Server };
  on(event: string, listener: (session: NmsSession) => void): void;
  run(): Promise<void> | void;
  stop(): Promise<void>;
}
const NodeMediaServer = require("node-media-server") as new (config: object) => NmsServer;
const Context = require("node-media-server/src/core/context.js") as {
  broadcasts: Map<string, NmsBroadcast>;
};
const logger = require("node-media-server/src/core/logger.js") as {
  level: string;
  log: (message: unknown, level?: string) => void;
  __redacting?: boolean;
};
// Redact at the source: every NMS message goes through logger.log.
if (!logger.__redacting) {
  const log = logger.log.bind(logger);
  logger.log = (message: unknown, level?: string) => log(redactStreamKeys(String(message)), level);
  logger.__redacting = true;
}
const BaseSession = require("node-media-server/src/session/base_session.js") as new () => {
  protocol: string;
  streamPath: string;
  sendBuffer: (buffer: Buffer) => void;
};

const STREAM_KEY_PATTERN = /^[A-Za-z0-9_-]{8,128}$/;

export interface IncomingPublish {
  readonly streamKey: string;
  readonly clientAddress: string;
  /** False when NMS turned it away itself (e.g. the path already has a live publisher). */
  isActive(): boolean;
  /** Closes the broadcaster's connection. */
  refuse(reason: string): void;
  /** Starts receiving FLV bytes (header, metadata, codec headers, then live tags). Returns detach. */
  attach(sink: (flv: Buffer) => void): () => void;
  /** Called once when the broadcaster's connection closes. */
  onEnd(listener: () => void): void;
}

export interface RtmpIngestOptions {
  bindHost: string;
  port: number;
  dataDir: string;
  onPublish: (publish: IncomingPublish) => void;
  log: (message: string) => void;
  /** Open connections one client address may hold (default 10). */
  maxConnectionsPerAddress?: number;
  /** A connection must be publishing (or playing) by then (default 10 s). */
  handshakeTimeoutMs?: number;
  /** A publisher that sends no media this long is closed (default 5 s): its stream goes to reconnecting. */
  mediaIdleTimeoutMs?: number;
}

function isLoopback(address: string): boolean {
  return /^(127\.|::1|::ffff:127\.)/.test(address);
}

export class RtmpIngest {
  private readonly nms: NmsServer;
  private readonly guard: ConnectionGuard;
  private readonly watchdogs = new Set<NodeJS.Timeout>();

  constructor(private readonly options: RtmpIngestOptions) {
    this.nms = new NodeMediaServer({
      bind: options.bindHost,
      rtmp: { port: options.port, chunk_size: 60000, gop_cache: true, ping: 30, ping_timeout: 60 },
      store: { path: `${options.dataDir}/nms-store` },
      webadmin: { enable: false },
    });
    // NMS forces "debug" in its constructor; its per-session chatter is not ours to print.
    logger.level = process.env.NMS_LOG_LEVEL ?? "warn";
    this.guard = new ConnectionGuard({
      maxPerAddress: options.maxConnectionsPerAddress ?? 10,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
      log: options.log,
    });
    this.nms.on("postPublish", (session) => {
      this.guard.promote(session.socket);
      this.handlePublish(session);
    });
    // Players never pull RTMP from us except loopback tools: viewers use HLS.
    this.nms.on("prePlay", (session) => {
      if (!isLoopback(session.ip.replace(/:\d+$/, ""))) {
        this.options.log(`rtmp play refused for ${session.ip}: playback is HLS only`);
        session.close();
        return;
      }
      this.guard.promote(session.socket);
    });
  }

  /** Connections refused over the per-address cap, and closed for not publishing in time. */
  guardStats(): { refused: number; timedOut: number; open: number } {
    return { refused: this.guard.refused, timedOut: this.guard.timedOut, open: this.guard.openConnections };
  }

  async start(): Promise<void> {
    await this.nms.run();
    const server = this.nms.rtmpServer?.tcpServer;
    if (!server) throw new Error("node-media-server has no RTMP listener");
    this.guard.attach(server);
    // NMS's metadata store installs SIGINT/SIGTERM handlers that re-raise the
    // signal, which would kill the process before our orderly shutdown (stop
    // FFmpeg, report "ended", stop wrangler). Shutdown is ours to run.
    const onSignal = this.nms.store?._onSignal;
    if (onSignal) {
      process.removeListener("SIGINT", onSignal);
      process.removeListener("SIGTERM", onSignal);
    }
    await waitForPort(this.options.bindHost === "0.0.0.0" ? "127.0.0.1" : this.options.bindHost, this.options.port);
  }

  async stop(): Promise<void> {
    this.guard.stop();
    for (const timer of this.watchdogs) clearInterval(timer);
    this.watchdogs.clear();
    await this.nms.stop();
  }

  private handlePublish(session: NmsSession): void {
    const clientAddress = session.ip.replace(/:\d+$/, "");
    const streamKey = session.streamName;
    const endListeners: Array<() => void> = [];
    let ended = false;
    const fireEnd = () => {
      if (ended) return;
      ended = true;
      endListeners.splice(0).forEach((listener) => listener());
    };
    session.socket?.once("close", fireEnd);

    // A publisher whose connection stays open but sends nothing (a laptop
    // that sleeps, a frozen encoder) is closed, so its stream goes to
    // "reconnecting" and a new publish can take over.
    const idleMs = this.options.mediaIdleTimeoutMs ?? 5_000;
    let lastMediaAt = Date.now();
    const watchdog = setInterval(
      () => {
        if (ended) return;
        const silentFor = Date.now() - lastMediaAt;
        if (silentFor > idleMs) {
          this.options.log(`rtmp publisher ${clientAddress} sent no media for ${silentFor} ms: closing it`);
          session.close();
          session.socket?.destroy();
        }
      },
      Math.max(100, Math.min(1_000, idleMs / 4)),
    );
    watchdog.unref();
    this.watchdogs.add(watchdog);
    endListeners.push(() => {
      clearInterval(watchdog);
      this.watchdogs.delete(watchdog);
    });

    const publish: IncomingPublish = {
      streamKey,
      clientAddress,
      isActive: () => !ended && Context.broadcasts.get(session.streamPath)?.publisher === session,
      refuse: (reason) => {
        this.options.log(`rtmp publish refused (${clientAddress}, app=${session.streamApp}): ${reason}`);
        session.close();
      },
      attach: (sink) => {
        const broadcast = Context.broadcasts.get(session.streamPath);
        if (!broadcast) throw new Error("publish has no broadcast");
        const subscriber = new BaseSession();
        subscriber.protocol = "flv";
        subscriber.streamPath = session.streamPath;
        subscriber.sendBuffer = (flv: Buffer) => {
          lastMediaAt = Date.now();
          sink(flv);
        };
        broadcast.postPlay(subscriber);
        return () => broadcast.donePlay(subscriber);
      },
      onEnd: (listener) => {
        if (ended) listener();
        else endListeners.push(listener);
      },
    };

    if (session.streamApp !== "live") {
      publish.refuse(`unknown application "${session.streamApp}" (publish to /live/<streamKey>)`);
      return;
    }
    if (!STREAM_KEY_PATTERN.test(streamKey)) {
      publish.refuse("malformed stream key");
      return;
    }
    this.options.onPublish(publish);
  }
}

async function waitForPort(host: string, port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host, port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on ${host}:${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
