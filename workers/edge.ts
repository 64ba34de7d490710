/**
 * Edge (child) tier: `GET|HEAD /live/<streamId>/<objectPath>`.
 *
 * Rejects anything that is not an HLS object of a known stream before it
 * costs a Durable Object call, answers from the colo's Cache API when it can,
 * and otherwise asks the stream's HlsMother, with at most one in-flight
 * mother call per cache key in this isolate.
 *
 * The cache key is the object path plus the canonical LL-HLS directives,
 * which only media playlists keep (common/hls-query.ts): any other query
 * string is dropped before the cache lookup. A mother call that every
 * waiting viewer has abandoned (an LL-HLS blocking request held for
 * seconds) is cancelled, and the mother cancels its origin request in turn.
 */
import type { Context, MiddlewareHandler } from "hono";
import { classifyObjectPath, isValidStreamId, type HlsObjectType } from "../common/hls-paths.js";
import type { AppEnv, Env } from "./env.js";
import { errorResponse } from "./lib/errors.js";
import { formatHlsQuery, parseHlsQuery } from "../common/hls-query.js";
import { parseRange, rangeResponse } from "./lib/byte-range.js";
import { streamExists } from "./lib/stream-directory.js";
import { isEdgeCacheable } from "./mother/cache-policy.js";
import { TIER_HEADER } from "./mother/hls-mother.js";

interface Buffered {
  status: number;
  headers: [string, string][];
  body: ArrayBuffer;
}

interface Flight {
  promise: Promise<Buffered>;
  /** Viewers still waiting on it. */
  waiters: number;
  controller: AbortController;
}

const inflight = new Map<string, Flight>();

const LIVE_PATH = /^\/live\/([^/]*)\/(.+)$/;

export const CORS_HEADERS: Record<string, string> = {
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Expose-Headers": "X-Cache-Tier, Age, Content-Length, Content-Range, Content-Type, ETag, Accept-Ranges",
  "Timing-Allow-Origin": "*",
};

/** When the edge stored an answer (ms): its Age on a hit. Never sent to viewers. */
const STORED_AT_HEADER = "X-Edge-Stored-At";
const READ_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * For every media route (/live, /vod, /thumbnails): CORS headers on every
 * answer, preflights answered, 405 for methods that do not read.
 */
export const liveCors: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!READ_METHODS.has(c.req.method)) {
    const res = errorResponse(405, "method_not_allowed", "HLS objects are read with GET or HEAD", { Allow: "GET, HEAD, OPTIONS" });
    for (const [name, value] of Object.entries(CORS_HEADERS)) res.headers.set(name, value);
    return res;
  }
  if (c.req.method === "OPTIONS") {
    return new Response(null, {
      status: 204,
      headers: {
        ...CORS_HEADERS,
        "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
        "Access-Control-Allow-Headers": c.req.header("Access-Control-Request-Headers") ?? "*",
        "Access-Control-Max-Age": "86400",
      },
    });
  }
  await next();
  const res = new Response(c.res.body, c.res);
  for (const [name, value] of Object.entries(CORS_HEADERS)) res.headers.set(name, value);
  c.res = res;
};

function toResponse(buffered: Buffered, tier?: string): Response {
  const headers = new Headers(buffered.headers);
  if (tier !== undefined) headers.set(TIER_HEADER, tier);
  return new Response(buffered.body, { status: buffered.status, headers });
}

/** The mother's fetch() entry point, so that cancelling `signal` reaches it as request.signal. */
async function askMother(env: Env, streamId: string, objectPath: string, search: string, signal: AbortSignal): Promise<Buffered> {
  const stub = env.HLS_MOTHER.get(env.HLS_MOTHER.idFromName(streamId));
  const response = await stub.fetch(new Request(`https://mother/${streamId}/${objectPath}${search}`, { signal }));
  return {
    status: response.status,
    headers: [...response.headers],
    body: await response.arrayBuffer(),
  };
}

export async function handleLive(c: Context<AppEnv>): Promise<Response> {
  const url = new URL(c.req.url);
  // The raw (still percent-encoded) path: an encoded slash or dot never
  // matches the object path grammar, so it is refused here.
  const match = LIVE_PATH.exec(url.pathname);
  const streamId = match?.[1] ?? "";
  const objectPath = match?.[2] ?? "";
  const type = classifyObjectPath(objectPath);
  if (!match || !isValidStreamId(streamId) || type === null) {
    return errorResponse(400, "bad_path", "not a playable HLS object path");
  }
  const parsed = parseHlsQuery(url.searchParams, type);
  if (!parsed.ok) return errorResponse(400, "bad_query", parsed.message);
  const search = formatHlsQuery(parsed.query);
  // A directory outage must not stop playback: the mother checks the stream too.
  const exists = await streamExists(c.env.DB, streamId).catch((error: unknown) => {
    console.error("edge: stream directory lookup failed", error);
    return true;
  });
  if (!exists) return errorResponse(404, "unknown_stream", "no such stream");

  const cacheKey = `${url.origin}/live/${streamId}/${objectPath}${search}`;
  const cache = caches.default;
  // A failing cache is a miss, not an error for the viewer.
  const hit = await cache.match(cacheKey).catch((error: unknown) => {
    console.error("edge: cache match failed", error);
    return undefined;
  });
  if (hit !== undefined) {
    const headers = new Headers(hit.headers);
    headers.set(TIER_HEADER, "edge-hit");
    const storedAt = Number(headers.get(STORED_AT_HEADER));
    headers.delete(STORED_AT_HEADER);
    // Age: how long it has been cached here, on top of what the mother reported when it was stored
    const upstreamAge = Number(headers.get("Age") ?? 0) || 0;
    if (storedAt > 0) headers.set("Age", String(upstreamAge + Math.max(0, Math.floor((Date.now() - storedAt) / 1000))));
    return deliver(c.req.raw, { status: hit.status, headers: [...headers], body: await hit.arrayBuffer() }, type);
  }

  let flight = inflight.get(cacheKey);
  const leader = flight === undefined;
  if (flight === undefined) {
    const controller = new AbortController();
    const started: Flight = {
      promise: askMother(c.env, streamId, objectPath, search, controller.signal).finally(() => {
        if (inflight.get(cacheKey) === started) inflight.delete(cacheKey);
      }),
      waiters: 0,
      controller,
    };
    flight = started;
    inflight.set(cacheKey, flight);
  }
  const viewerGone = c.req.raw.signal;
  const current = flight;
  current.waiters++;
  const onGone = () => {
    current.waiters--;
    // nobody left to answer: stop holding the mother (and through it the origin)
    if (current.waiters === 0) {
      current.controller.abort(new Error("every viewer left"));
      if (inflight.get(cacheKey) === current) inflight.delete(cacheKey);
    }
  };
  viewerGone.addEventListener("abort", onGone, { once: true });
  let buffered: Buffered;
  try {
    buffered = await current.promise;
  } catch (error) {
    if (current.controller.signal.aborted) return errorResponse(499, "client_gone", "request cancelled");
    console.error("edge: mother call failed", error);
    return errorResponse(502, "mother_unavailable", "stream cache tier unavailable");
  } finally {
    viewerGone.removeEventListener("abort", onGone);
    if (!viewerGone.aborted) current.waiters--;
  }
  if (leader && buffered.status === 200) {
    const cacheControl = new Headers(buffered.headers).get("cache-control");
    if (isEdgeCacheable(cacheControl)) {
      const stored = toResponse(buffered);
      stored.headers.set(STORED_AT_HEADER, String(Date.now()));
      c.executionCtx.waitUntil(
        cache.put(cacheKey, stored).catch((error: unknown) => console.error("edge: cache put failed", error)),
      );
    }
  }
  return deliver(c.req.raw, buffered, type);
}

/**
 * The viewer's answer: validators (304 for a matching If-None-Match) and
 * byte ranges (206 / 416) on the immutable media objects.
 */
function deliver(request: Request, buffered: Buffered, type: HlsObjectType): Response {
  const res = toResponse(buffered);
  if (buffered.status !== 200) return res;
  const etag = res.headers.get("ETag");
  if (etag !== null && request.headers.get("If-None-Match")?.split(",").some((v) => v.trim() === etag)) {
    return new Response(null, { status: 304, headers: res.headers });
  }
  if (type === "init" || type === "segment" || type === "part") {
    res.headers.set("Accept-Ranges", "bytes");
    if (request.method === "GET") {
      const partial = rangeResponse(buffered.body, res.headers, parseRange(request.headers.get("Range"), buffered.body.byteLength));
      if (partial) return partial;
    }
  }
  return res;
}
