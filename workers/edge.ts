/**
 * Edge (child) tier: `GET|HEAD /live/<streamId>/<objectPath>`.
 *
 * Rejects anything that is not an HLS object of a known stream before it
 * costs a Durable Object call, then answers from the nearest tier that has
 * the object, each one filling the ones below it:
 *
 *   edge-memory  this isolate's hot tier (tiers/hot-cache.ts)
 *   edge-hit     the colo's Cache API
 *   relay-hit    the region's HlsRelay (relay/hls-relay.ts)
 *   mother-hit / mother-stale / origin   the stream's HlsMother
 *
 * and `<tier>-coalesced` (edge-, relay-, mother-) for a request that waited
 * on another request's call at that tier: it cost nothing above it.
 *
 * with at most one in-flight relay call per cache key in this isolate.
 * The cache key is the object path plus the canonical LL-HLS directives,
 * which only media playlists keep (common/hls-query.ts): any other query
 * string is dropped before the cache lookup. A call that every waiting
 * viewer has abandoned (an LL-HLS blocking request held for seconds) is
 * cancelled, and each tier above cancels its own in turn.
 */
import type { Context, MiddlewareHandler } from "hono";
import { classifyObjectPath, isValidStreamId, type HlsObjectType } from "../common/hls-paths.js";
import { formatHlsQuery, parseHlsQuery } from "../common/hls-query.js";
import { parseConfig } from "./config.js";
import type { AppEnv, Env } from "./env.js";
import { parseRange, rangeResponse } from "./lib/byte-range.js";
import { errorResponse } from "./lib/errors.js";
import { streamExists } from "./lib/stream-directory.js";
import { TIER_HEADER, isEdgeCacheable } from "./tiers/freshness.js";
import { hlsRelay } from "./stubs.js";
import { Coalescer } from "./tiers/coalescer.js";
import { HotCache, type StoredAnswer } from "./tiers/hot-cache.js";
import { DEFAULT_REGIONS, placementOf, type Placement } from "./tiers/regions.js";

type Buffered = StoredAnswer;

/** Per isolate: the relay calls under way, and the hot tier (sized on first use from the config). */
const flights = new Coalescer<Buffered>();
let hot: HotCache | undefined;

/** Empties this isolate's hot tier, as a fresh isolate of the same colo would have it (tests). */
export function dropHotTier(): void {
  hot = undefined;
}

const LIVE_PATH = /^\/live\/([^/]*)\/(.+)$/;

const CORS_HEADERS: Record<string, string> = {
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
  // the live route's answers carry them already (built once, not copied again here)
  if (c.res.headers.has("Access-Control-Allow-Origin")) return;
  const res = new Response(c.res.body, c.res);
  for (const [name, value] of Object.entries(CORS_HEADERS)) res.headers.set(name, value);
  c.res = res;
};

const CORS_ENTRIES = Object.entries(CORS_HEADERS);
const HOP_HEADERS = new Set([TIER_HEADER.toLowerCase(), "age"]);

function toResponse(buffered: Buffered, tier?: string): Response {
  const headers = new Headers(buffered.headers);
  if (tier !== undefined) headers.set(TIER_HEADER, tier);
  return new Response(buffered.body, { status: buffered.status, headers });
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

  const config = parseConfig(c.env);
  const placement = placementOf(
    c.req.raw as Request & { cf?: { colo?: unknown; continent?: unknown } },
    DEFAULT_REGIONS,
    config.tiers.devColoHeader,
  );
  // a simulated colo (dev header) gets caches of its own, as a real colo would
  const coloPrefix = placement.simulated ? `/__colo/${placement.colo}` : "";
  const cacheKey = `${url.origin}${coloPrefix}/live/${streamId}/${objectPath}${search}`;
  const now = Date.now();

  if (config.tiers.hotCacheBytes > 0) hot ??= new HotCache(config.tiers.hotCacheBytes);
  // A hot-tier hit does no other work: no Cache API, no Durable Object, one Headers built from the stored list.
  const memory = hot?.get(cacheKey, now);
  if (memory) return deliver(c.req.raw, memory.answer, type, "edge-memory", memory.ageSeconds);

  const cache = caches.default;
  // A failing cache is a miss, not an error for the viewer.
  const hit = await cache.match(cacheKey).catch((error: unknown) => {
    console.error("edge: cache match failed", error);
    return undefined;
  });
  if (hit !== undefined) {
    const headers = new Headers(hit.headers);
    const storedAt = Number(headers.get(STORED_AT_HEADER));
    headers.delete(STORED_AT_HEADER);
    // Age: how long it has been cached here, on top of what the tier above reported when it was stored
    const upstreamAge = Number(headers.get("Age") ?? 0) || 0;
    const ageSeconds = storedAt > 0 ? upstreamAge + Math.max(0, Math.floor((now - storedAt) / 1000)) : undefined;
    const answer = withoutUpstreamTier({ status: hit.status, headers: [...headers], body: await hit.arrayBuffer() });
    hot?.set(cacheKey, answer, now);
    return deliver(c.req.raw, answer, type, "edge-hit", ageSeconds);
  }

  /** The relay call for this object, storing the answer in this colo's tiers before it settles. */
  async function callRelay(signal: AbortSignal): Promise<Buffered> {
    const answer = await askRelay(c.env, placement, streamId, objectPath, search, signal);
    // stored before the call settles, so a request arriving meanwhile finds it rather than calling again
    if (answer.status === 200) {
      hot?.set(cacheKey, withoutUpstreamTier(answer), Date.now());
      const cacheControl = new Headers(answer.headers).get("cache-control");
      if (isEdgeCacheable(cacheControl)) {
        const stored = toResponse(answer);
        stored.headers.set(STORED_AT_HEADER, String(Date.now()));
        c.executionCtx.waitUntil(cache.put(cacheKey, stored).catch((error: unknown) => console.error("edge: cache put failed", error)));
      }
    }
    return answer;
  }

  const joined = await flights.join(
    cacheKey,
    (signal) => {
      const call = callRelay(signal);
      // The call belongs to this (the first) viewer's request, but others wait on it: keep it
      // running if this viewer goes away first (otherwise the runtime cancels it with this request
      // and the others hang). Only every viewer leaving cancels it (the signal).
      c.executionCtx.waitUntil(call.catch(() => undefined));
      return call;
    },
    c.req.raw.signal,
  );
  if (joined.kind === "gone") return errorResponse(499, "client_gone", "request cancelled");
  if (joined.kind === "failed") {
    console.error("edge: relay call failed", joined.error);
    return errorResponse(502, "mother_unavailable", "stream cache tier unavailable");
  }
  // a viewer who waited on another viewer's call was answered by this tier, not by the ones above
  if (joined.leader) return deliver(c.req.raw, joined.value, type);
  return deliver(c.req.raw, joined.value, type, "edge-coalesced");
}

/**
 * The answer as this colo keeps it: without the tier header and Age of the
 * tier it came from (each delivery names its own), so a hit only appends.
 */
function withoutUpstreamTier(answer: Buffered): Buffered {
  if (!answer.headers.some(([name]) => HOP_HEADERS.has(name.toLowerCase()))) return answer;
  return { ...answer, headers: answer.headers.filter(([name]) => !HOP_HEADERS.has(name.toLowerCase())) };
}

/** The region's relay, through its fetch() entry point so that cancelling `signal` reaches it. */
async function askRelay(
  env: Env,
  placement: Placement,
  streamId: string,
  objectPath: string,
  search: string,
  signal: AbortSignal,
): Promise<Buffered> {
  const stub = hlsRelay(env, streamId, placement.region, DEFAULT_REGIONS.hints[placement.region]);
  const response = await stub.fetch(new Request(`https://relay/${streamId}/${objectPath}${search}`, { signal }));
  return { status: response.status, headers: [...response.headers], body: await response.arrayBuffer() };
}

/**
 * The viewer's answer: the stored headers plus the tier that answered (and
 * Age), CORS, validators (304 for a matching If-None-Match) and byte ranges
 * (206 / 416) on the immutable media objects. Without `tier` the answer's own
 * tier header (the leader's, from the tiers above) is kept.
 */
function deliver(request: Request, buffered: Buffered, type: HlsObjectType, tier?: string, ageSeconds?: number): Response {
  const headers = new Headers(buffered.headers);
  if (tier !== undefined) headers.set(TIER_HEADER, tier);
  if (ageSeconds !== undefined) headers.set("Age", String(ageSeconds));
  for (const [name, value] of CORS_ENTRIES) headers.set(name, value);
  if (buffered.status !== 200) return new Response(buffered.body, { status: buffered.status, headers });
  const etag = headers.get("ETag");
  if (etag !== null) {
    const match = request.headers.get("If-None-Match");
    if (match !== null && match.split(",").some((v) => v.trim() === etag)) return new Response(null, { status: 304, headers });
  }
  if (type === "init" || type === "segment" || type === "part") {
    headers.set("Accept-Ranges", "bytes");
    const range = request.method === "GET" ? request.headers.get("Range") : null;
    if (range !== null) {
      const partial = rangeResponse(buffered.body, headers, parseRange(range, buffered.body.byteLength));
      if (partial) return partial;
    }
  }
  return new Response(buffered.body, { status: 200, headers });
}
