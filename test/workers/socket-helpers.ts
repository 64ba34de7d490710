/** WebSocket clients for the rooms tests (inside workerd, through the Worker's fetch). */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { signRequest } from "../../common/signing.js";
import worker from "../../workers/index.js";
import { signSessionToken, type TokenRole } from "../../workers/lib/session-token.js";
import { CONNECT_HEADER } from "../../workers/rooms/room.js";
import { createUser, edge, randomId, sleep } from "./helpers.js";

export interface Frame {
  type: string;
  seq: number;
  ts: number;
  [key: string]: unknown;
}

export interface TestSocket {
  ws: WebSocket;
  frames: Frame[];
  /** resolves when the socket closes */
  closed: Promise<{ code: number; reason: string }>;
  isClosed(): boolean;
  send(frame: unknown): void;
  sendRaw(text: string | ArrayBuffer): void;
  /** waits for the first frame (from `from` on) matching `match` */
  next(match: (f: Frame) => boolean, timeoutMs?: number, what?: string): Promise<Frame>;
  /** waits until `count` frames match */
  waitCount(match: (f: Frame) => boolean, count: number, timeoutMs?: number): Promise<Frame[]>;
  close(): void;
}

export async function mintToken(
  sub: string,
  role: TokenRole = "anonymous",
  { ttlSeconds = 3600, now }: { ttlSeconds?: number; now?: number } = {},
): Promise<string> {
  return (await signSessionToken(env.TOKEN_SECRET, { sub, role, anon: role === "anonymous" }, { ttlSeconds, now })).token;
}

export async function anonToken(): Promise<string> {
  return mintToken(`anon_${randomId(12)}`);
}

/**
 * A socket straight on a fan-out shard, as an anonymous viewer (what the
 * Worker hands over, without placement), once a frame of type `first` came.
 */
export async function openOnShard(
  shard: { fetch(url: string, init: RequestInit): Promise<Response> },
  first: string,
  since: number | null = null,
): Promise<TestSocket> {
  const info = {
    userId: `anon_${randomId(12)}`,
    role: "anonymous",
    anon: true,
    exp: Date.now() + 3600_000,
    country: null,
    device: "desktop",
  };
  const res = await shard.fetch("https://rooms.internal/", {
    headers: { Upgrade: "websocket", [CONNECT_HEADER]: JSON.stringify({ since, info }) },
  });
  return accepted(res, first);
}

const envs = new Map<string, Env>();
/** The Worker's env with some vars replaced: one object per set of values (parseConfig reads each env object once). */
export function envWith(vars: Record<string, string>): Env {
  const key = JSON.stringify(vars);
  let e = envs.get(key);
  if (e === undefined) {
    e = { ...env, ...vars } as Env;
    envs.set(key, e);
  }
  return e;
}

/** A socket upgraded through the Worker's entry with `workerEnv`, once a frame of type `first` came. */
export async function openThroughWorker(request: Request, workerEnv: Env, first: string): Promise<TestSocket> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, workerEnv, ctx);
  await waitOnExecutionContext(ctx);
  return accepted(res, first);
}

async function accepted(res: Response, first: string): Promise<TestSocket> {
  if (res.status !== 101 || res.webSocket === null) throw new Error(`upgrade refused: ${res.status} ${await res.text()}`);
  const socket = wrapSocket(res.webSocket);
  await socket.next((f) => f.type === first);
  return socket;
}

export interface OpenOptions {
  token?: string | null;
  since?: number;
  headers?: Record<string, string>;
  cf?: Record<string, unknown>;
}

/** Opens a socket; throws with the HTTP status and body if the upgrade is refused. */
export async function openSocket(path: string, options: OpenOptions = {}): Promise<TestSocket> {
  const res = await upgradeRequest(path, options);
  if (res.status !== 101 || res.webSocket === null) {
    throw new Error(`upgrade refused: ${res.status} ${await res.text()}`);
  }
  return wrapSocket(res.webSocket);
}

export async function upgradeRequest(path: string, options: OpenOptions = {}): Promise<Response> {
  const token = options.token === undefined ? await anonToken() : options.token;
  const params = new URLSearchParams();
  if (token !== null) params.set("token", token);
  if (options.since !== undefined) params.set("since", String(options.since));
  const query = params.toString();
  return edge(`${path}${query ? `?${query}` : ""}`, {
    headers: { Upgrade: "websocket", ...options.headers },
    ...(options.cf ? { cf: options.cf } : {}),
  } as RequestInit);
}

export function wrapSocket(ws: WebSocket): TestSocket {
  const frames: Frame[] = [];
  const listeners = new Set<() => void>();
  let closedState: { code: number; reason: string } | null = null;
  let resolveClosed!: (value: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((r) => (resolveClosed = r));
  ws.accept();
  ws.addEventListener("message", (event) => {
    if (typeof event.data !== "string") return;
    if (event.data === "pong") {
      frames.push({ type: "pong", seq: -1, ts: Date.now() });
    } else {
      frames.push(JSON.parse(event.data) as Frame);
    }
    for (const l of listeners) l();
  });
  ws.addEventListener("close", (event) => {
    closedState = { code: event.code, reason: event.reason };
    resolveClosed(closedState);
    for (const l of listeners) l();
  });

  const waitFor = <T>(check: () => T | undefined, timeoutMs: number, what: string) =>
    new Promise<T>((resolve, reject) => {
      const immediate = check();
      if (immediate !== undefined) return resolve(immediate);
      const listener = () => {
        const value = check();
        if (value !== undefined) {
          listeners.delete(listener);
          clearTimeout(timer);
          resolve(value);
        }
      };
      const timer = setTimeout(() => {
        listeners.delete(listener);
        reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(frames.map((f) => f.type))}`));
      }, timeoutMs);
      listeners.add(listener);
    });

  return {
    ws,
    frames,
    closed,
    isClosed: () => closedState !== null,
    send: (frame) => ws.send(JSON.stringify(frame)),
    sendRaw: (text) => ws.send(text),
    next: (match, timeoutMs = 5_000, what = "a frame") => waitFor(() => frames.find(match), timeoutMs, what),
    waitCount: (match, count, timeoutMs = 5_000) =>
      waitFor(
        () => {
          const found = frames.filter(match);
          return found.length >= count ? found : undefined;
        },
        timeoutMs,
        `${count} matching frames`,
      ),
    close: () => {
      try {
        ws.close(1000, "test done");
      } catch {
        // already closed
      }
    },
  };
}

/** Frames of the shared log (everything with a fresh seq), by type. */
export const isLogFrame = (f: Frame) => !["hello", "error", "ack", "event_snapshot", "telemetry_summary", "pong"].includes(f.type);

export async function signedPost(path: string, body: unknown): Promise<Response> {
  const raw = JSON.stringify(body);
  const headers = await signRequest(env.ORIGIN_SHARED_SECRET, "POST", path, raw);
  return edge(path, { method: "POST", headers: { ...headers, "Content-Type": "application/json" }, body: raw });
}

export async function signedGet(path: string): Promise<Response> {
  const headers = await signRequest(env.ORIGIN_SHARED_SECRET, "GET", path, "");
  return edge(path, { headers });
}

/** A stream owned by a new broadcaster; returns ids and the owner's token. */
export async function createStreamRow(options: { status?: string; eventId?: string | null; startedAt?: number | null } = {}) {
  const owner = await createUser("broadcaster");
  const id = randomId();
  await env.DB.prepare(
    `INSERT INTO streams (id, key_hash, owner_id, origin_id, status, title, tags, event_id, created_at, started_at)
     VALUES (?1, ?2, ?3, NULL, ?4, 'rooms test', '[]', ?5, ?6, ?7)`,
  )
    .bind(id, `hash-${randomId(40)}`, owner.id, options.status ?? "created", options.eventId ?? null, Date.now(), options.startedAt ?? null)
    .run();
  return { streamId: id, owner, ownerToken: await mintToken(owner.id, "broadcaster") };
}

// ---- the provider simulator (Node, started by the global setup) ----

export async function simulator(command: Record<string, unknown>): Promise<{ appliedAt: number }> {
  const res = await fetch(`${env.EVENT_PROVIDER_URL}/__control`, { method: "POST", body: JSON.stringify(command) });
  if (!res.ok) throw new Error(`simulator control failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as { appliedAt: number };
}

export async function eventStats(eventId: string) {
  const res = await signedGet(`/api/internal/events/${eventId}/stats`);
  return (await res.json()) as {
    status: string | null;
    polling: boolean;
    sockets: number;
    lastSeq: number;
    event: Record<string, unknown> | null;
    feed: { polls: number; updates: number; failures: number; errors: number; malformed: number; lastError: string | null };
  };
}

export async function until<T>(fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 5_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
