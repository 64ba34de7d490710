import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { sha256Hex, signRequest } from "../../common/signing.js";
import worker from "../../workers/index.js";

export const BASE = "http://edge.test";
export const TEST_ORIGIN_ID = "test-upstream";

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Request through the Worker's exported fetch handler (edge tier, API, ...),
 * in this isolate with the real bindings. Resolves once the request's
 * `waitUntil` work (e.g. the edge's cache.put) has settled, so a following
 * request sees it. (The exported handler rather than SELF: SELF's per-request
 * overhead in the pool grows with every request made through it.)
 */
export async function edge(path: string, init?: RequestInit, base = BASE): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(new Request(`${base}${path}`, init), env, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

export function randomId(length = 16): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return [...bytes].map((b) => alphabet[b % alphabet.length]).join("");
}

// ---- the real test origin (test/workers/node/upstream.ts) ----

export async function upstreamCount(path: string): Promise<number> {
  const res = await fetch(`${env.TEST_UPSTREAM_URL}/__count?path=${encodeURIComponent(path)}`);
  return ((await res.json()) as { count: number }).count;
}

export async function upstreamCountPrefix(prefix: string): Promise<number> {
  const res = await fetch(`${env.TEST_UPSTREAM_URL}/__count?prefix=${encodeURIComponent(prefix)}`);
  return ((await res.json()) as { count: number }).count;
}

export async function upstreamAborted(path: string): Promise<number> {
  const res = await fetch(`${env.TEST_UPSTREAM_URL}/__aborted?path=${encodeURIComponent(path)}`);
  return ((await res.json()) as { count: number }).count;
}

export async function setUpstream(
  stream: string,
  config: {
    mode?: "ok" | "error" | "hang" | "reset";
    delayMs?: number;
    targetDuration?: number;
    /** How long a blocking request (msn past the live edge, hinted part) is held. */
    holdMs?: number;
    /** What a held request ends with (200, or 503 as an origin out of patience). */
    holdStatus?: number;
  },
): Promise<void> {
  const res = await fetch(`${env.TEST_UPSTREAM_URL}/__mode`, {
    method: "POST",
    body: JSON.stringify({ stream, ...config }),
  });
  if (!res.ok) throw new Error(`upstream control failed: ${res.status}`);
}

// ---- D1 fixtures ----

/**
 * Registers the test origin. Its heartbeat is deliberately old: the mother
 * resolves origins through streams.originId regardless of liveness, and the
 * API tests need to control which origins count as live.
 */
export async function ensureTestOrigin(): Promise<void> {
  await env.DB.prepare(
    `INSERT INTO origins (id, base_url, rtmp_url, capacity, active_streams, pool, last_heartbeat_at)
     VALUES (?1, ?2, 'rtmp://127.0.0.1:1935/live', 100, 0, 'standard', 0)
     ON CONFLICT(id) DO UPDATE SET base_url = excluded.base_url`,
  )
    .bind(TEST_ORIGIN_ID, env.TEST_UPSTREAM_URL)
    .run();
}

export async function createUser(role: "broadcaster" | "viewer" | "vip" | "media" | "admin") {
  const id = crypto.randomUUID();
  const apiKey = `ak_${randomId(40)}`;
  await env.DB.prepare("INSERT INTO users (id, name, role, api_key_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)")
    .bind(id, `${role} ${id.slice(0, 4)}`, role, await sha256Hex(apiKey), Date.now())
    .run();
  return { id, apiKey };
}

/** A live stream served by the test origin; returns its id. */
export async function createLiveStream(): Promise<string> {
  await ensureTestOrigin();
  const owner = await createUser("broadcaster");
  const id = randomId();
  await env.DB.prepare(
    `INSERT INTO streams (id, key_hash, owner_id, origin_id, status, title, tags, created_at, started_at)
     VALUES (?1, ?2, ?3, ?4, 'live', 'test', '[]', ?5, ?5)`,
  )
    .bind(id, await sha256Hex(`sk_${randomId(40)}`), owner.id, TEST_ORIGIN_ID, Date.now())
    .run();
  return id;
}

export function relay(streamId: string, region: string) {
  return env.HLS_RELAY.get(env.HLS_RELAY.idFromName(`${streamId}@${region}`));
}

export function mother(streamId: string) {
  return env.HLS_MOTHER.get(env.HLS_MOTHER.idFromName(streamId));
}

// ---- signed origin → Worker calls ----

export async function signedFetch(
  method: string,
  pathWithQuery: string,
  body?: unknown,
  { secret = env.ORIGIN_SHARED_SECRET, now }: { secret?: string; now?: number } = {},
): Promise<Response> {
  const raw = body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body);
  const headers = await signRequest(secret, method, pathWithQuery, raw, now);
  return edge(pathWithQuery, {
    method,
    headers: { ...headers, "Content-Type": "application/json" },
    body: method === "GET" || method === "HEAD" ? undefined : raw,
  });
}

export async function errorCode(res: Response): Promise<string | undefined> {
  const body = (await res.json()) as { error?: { code?: string } };
  return body.error?.code;
}

/** Body as UTF-8 text (Response.text() warns for playlist content types). */
export async function textOf(res: Response): Promise<string> {
  return new TextDecoder().decode(await res.arrayBuffer());
}
