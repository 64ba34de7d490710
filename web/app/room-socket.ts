/**
 * One room socket (/ws/streams/<id> or /ws/events/<id>) that stays connected:
 * reconnects with backoff after a drop and asks for `?since=<last seq seen>`,
 * so the room replays what was missed before its `hello` (no gap), and drops
 * any log frame it has already delivered (no duplicate). A token the server
 * refuses or that expired (close 4001) is replaced before the next attempt.
 * Client frames with a `ref` resolve on their `ack` and reject on their
 * `error`.
 */
export interface ServerFrame {
  type: string;
  seq: number;
  ts: number;
  [field: string]: unknown;
}

export type SocketStatus = "connecting" | "open" | "reconnecting" | "closed";

export interface RoomSocketOptions {
  /** e.g. "/ws/streams/abc" (same origin) */
  path: string;
  /** Frames that are not replayed (direct), beside hello/error/ack/telemetry_summary and group messages. */
  directTypes?: string[];
  /** A session token; `fresh` asks for a new one (the last was refused or expired). */
  token(fresh: boolean): Promise<string>;
  /** Start from this seq (`since`) on the first connect; null: live only. */
  since?: number | null;
  onFrame(frame: ServerFrame): void;
  onStatus?(status: SocketStatus): void;
}

export class SocketError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const ALWAYS_DIRECT = ["hello", "error", "ack", "telemetry_summary"];
const PING_MS = 25_000;
const SILENCE_MS = 60_000;

/** Whether a frame is new: direct frames always are; a log frame only past the last seq delivered. */
export function isNewFrame(frame: ServerFrame, lastSeq: number | null, directTypes: readonly string[]): boolean {
  if (ALWAYS_DIRECT.includes(frame.type) || directTypes.includes(frame.type) || "group" in frame) return true;
  return lastSeq === null || frame.seq > lastSeq;
}

/** Reconnect delay: 0.5 s doubling to 8 s, with jitter so a room's viewers do not return in step. */
export function backoffMs(attempt: number, random = Math.random): number {
  const base = Math.min(8_000, 500 * 2 ** Math.min(attempt, 4));
  return Math.round(base * (0.75 + 0.5 * random()));
}

export class RoomSocket {
  private ws: WebSocket | null = null;
  private lastSeq: number | null;
  private attempt = 0;
  private refCounter = 0;
  private stopped = false;
  private freshToken = false;
  private timers: ReturnType<typeof setTimeout>[] = [];
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private lastHeard = Date.now();
  private readonly pending = new Map<string, { resolve(frame: ServerFrame): void; reject(error: Error): void }>();
  status: SocketStatus = "connecting";
  /** Delivered frames per connect, for tests: how many were replayed and how many dropped as duplicates. */
  readonly stats = { connects: 0, duplicates: 0, replayed: 0 };

  constructor(private readonly options: RoomSocketOptions) {
    this.lastSeq = options.since ?? null;
    void this.connect();
  }

  get seq(): number | null {
    return this.lastSeq;
  }

  get open(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** Sends a client frame; resolves with its ack (rejects with the room's error code). */
  send(frame: { type: string; [field: string]: unknown }, timeoutMs = 10_000): Promise<ServerFrame> {
    if (!this.open || !this.ws) return Promise.reject(new SocketError("offline", "not connected; retrying"));
    const ref = `r${++this.refCounter}`;
    const ws = this.ws;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject(new SocketError("timeout", "no answer from the room"));
      }, timeoutMs);
      this.pending.set(ref, {
        resolve: (f) => (clearTimeout(timer), resolve(f)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      ws.send(JSON.stringify({ ...frame, ref }));
    });
  }

  /** Closes the connection as a network drop would (tests); the socket comes back with `since`. */
  drop(): void {
    this.ws?.close(4000, "dropped");
  }

  close(): void {
    this.stopped = true;
    this.clearTimers();
    this.ws?.close(1000, "bye");
    this.setStatus("closed");
  }

  private setStatus(status: SocketStatus): void {
    if (this.status === status) return;
    this.status = status;
    this.options.onStatus?.(status);
  }

  private clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.pingTimer = null;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    let token: string;
    try {
      token = await this.options.token(this.freshToken);
    } catch {
      return this.retry();
    }
    if (this.stopped) return;
    const url = new URL(this.options.path, location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("token", token);
    if (this.lastSeq !== null) url.searchParams.set("since", String(this.lastSeq));
    const ws = new WebSocket(url);
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.lastHeard = Date.now();
      this.pingTimer = setInterval(() => {
        // the runtime answers "ping" with "pong" without waking the room; silence means a dead link
        if (Date.now() - this.lastHeard > SILENCE_MS) ws.close(4000, "silent");
        else if (ws.readyState === WebSocket.OPEN) ws.send("ping");
      }, PING_MS);
    };
    ws.onmessage = (message) => {
      this.lastHeard = Date.now();
      if (typeof message.data !== "string" || message.data === "pong") return;
      let frame: ServerFrame;
      try {
        frame = JSON.parse(message.data) as ServerFrame;
      } catch {
        return;
      }
      this.receive(frame);
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.clearTimers();
      for (const [, p] of this.pending) p.reject(new SocketError("offline", "connection lost"));
      this.pending.clear();
      if (this.stopped) return;
      // 4001: token expired; a connection refused before opening is most often a bad token (401)
      this.freshToken = event.code === 4001 || (!opened && this.attempt >= 1);
      this.retry();
    };
  }

  private retry(): void {
    if (this.stopped) return;
    this.setStatus("reconnecting");
    const delay = backoffMs(this.attempt++);
    this.timers.push(setTimeout(() => void this.connect(), delay));
  }

  private receive(frame: ServerFrame): void {
    if (frame.type === "hello") {
      this.attempt = 0;
      this.freshToken = false;
      this.stats.connects++;
      this.stats.replayed += typeof frame.replayed === "number" ? frame.replayed : 0;
      this.setStatus("open");
    }
    if ((frame.type === "ack" || frame.type === "error") && typeof frame.ref === "string") {
      const waiter = this.pending.get(frame.ref);
      if (waiter) {
        this.pending.delete(frame.ref);
        if (frame.type === "ack") waiter.resolve(frame);
        else waiter.reject(new SocketError(String(frame.code), String(frame.message ?? frame.code)));
        return;
      }
    }
    if (!isNewFrame(frame, this.lastSeq, this.options.directTypes ?? [])) {
      this.stats.duplicates++;
      return;
    }
    if (typeof frame.seq === "number" && (this.lastSeq === null || frame.seq > this.lastSeq)) this.lastSeq = frame.seq;
    this.options.onFrame(frame);
  }
}
