/**
 * HlsMother: one Durable Object per stream (`idFromName(streamId)`), the only
 * requester of that stream's objects at its origin box (the patent's "HLS
 * mother server"). Edges call it over RPC on a Cache API miss.
 *
 * - At most one origin request per object is in flight; every concurrent
 *   waiter is answered from it (each with its own Response over the same bytes).
 * - Answers are kept in memory (LRU bounded by bytes) for as long as the
 *   max-age the mother writes (cache-policy.ts); a 404 for 1 s.
 * - A plain media playlist whose origin fetch fails (network error, 5xx,
 *   timeout) is served stale for at most STALE_IF_ERROR_MS, never beyond.
 * - Every answer carries `X-Cache-Tier: origin | mother-hit | mother-stale`.
 */
import { DurableObject } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import {
  classifyObjectPath,
  contentTypeFor,
  isValidStreamId,
  type HlsObjectType,
} from "../../common/hls-paths.js";
import { intFromEnv, type Env } from "../env.js";
import { getDb, schema } from "../lib/db.js";
import { errorBody } from "../lib/errors.js";
import { formatHlsQuery, parseHlsQuery, type HlsQuery } from "../lib/hls-query.js";
import { ByteLru } from "./byte-lru.js";
import {
  DEFAULT_ORIGIN_TIMEOUT_MS,
  DEFAULT_STALE_IF_ERROR_MS,
  NO_STORE,
  STALE_CACHE_CONTROL,
  policyForError,
  policyForOk,
  staleIfErrorApplies,
} from "./cache-policy.js";
import { fetchOrigin } from "./origin-fetch.js";

export const TIER_HEADER = "X-Cache-Tier";
export type CacheTier = "origin" | "mother-hit" | "mother-stale";

/** Memory budget of the object cache of one mother. */
export const MOTHER_CACHE_BYTES = 64 * 1024 * 1024;
/** How long a resolved origin is trusted before asking D1 again. */
const ORIGIN_MEMO_MS = 5_000;
/** How long "unknown stream" / "no origin yet" is remembered. */
const ORIGIN_MISS_MEMO_MS = 1_000;

interface Entry {
  status: number;
  body: ArrayBuffer;
  headers: [string, string][];
  fetchedAt: number;
  /** The mother answers from this entry until then. */
  expiresAt: number;
  size: number;
  type: HlsObjectType;
}

type Outcome =
  | { kind: "fresh"; entry: Entry }
  | { kind: "stale"; entry: Entry }
  | { kind: "error"; status: number; code: string; message: string; tier: CacheTier };

type OriginResolution =
  | { ok: true; baseUrl: string }
  | { ok: false; status: number; code: string; message: string };

export interface MotherStats {
  streamId: string | null;
  originBaseUrl: string | null;
  requests: number;
  /** Requests sent to the origin, by object type. */
  originFetches: Record<HlsObjectType, number>;
  /** Origin fetches that failed (network error, 5xx, timeout). */
  originFailures: number;
  /** Answers from the mother's memory (including negative-cached 404s). */
  hits: number;
  /** Answers served stale (stale-if-error). */
  staleServed: number;
  /** Requests that waited for another request's origin fetch. */
  coalescedWaiters: number;
  cacheEntries: number;
  cacheBytes: number;
}

const PASSTHROUGH_HEADERS = ["etag", "last-modified"];

export class HlsMother extends DurableObject<Env> {
  private readonly cache = new ByteLru<Entry>(MOTHER_CACHE_BYTES);
  private readonly inflight = new Map<string, Promise<Outcome>>();
  private origin: { resolution: OriginResolution; expiresAt: number } | null = null;
  private originLookup: Promise<OriginResolution> | null = null;
  private lastBaseUrl: string | null = null;
  private streamId: string | null = null;
  private readonly counters = {
    requests: 0,
    originFetches: { master: 0, media: 0, init: 0, segment: 0, part: 0 } as Record<HlsObjectType, number>,
    originFailures: 0,
    hits: 0,
    staleServed: 0,
    coalescedWaiters: 0,
  };

  /**
   * Answers one HLS object of `streamId`. `objectPath` is relative to the
   * stream (`master.m3u8`, `v0/index.m3u8`, ...); `search` may carry the
   * LL-HLS `_HLS_msn` / `_HLS_part` / `_HLS_skip` directives (others ignored).
   */
  async serve(streamId: string, objectPath: string, search = ""): Promise<Response> {
    const type = classifyObjectPath(objectPath);
    if (!isValidStreamId(streamId) || type === null) {
      return this.render({ kind: "error", status: 400, code: "bad_path", message: "not an HLS object path", tier: "mother-hit" });
    }
    if (this.streamId !== null && this.streamId !== streamId) {
      return this.render({ kind: "error", status: 400, code: "wrong_mother", message: "this mother serves another stream", tier: "mother-hit" });
    }
    const query = parseHlsQuery(search);
    if (query === null) {
      return this.render({ kind: "error", status: 400, code: "bad_query", message: "malformed _HLS_ query parameter", tier: "mother-hit" });
    }
    this.streamId = streamId;
    this.counters.requests++;

    const key = objectPath + formatHlsQuery(query);
    const cached = this.cache.get(key);
    if (cached !== undefined && Date.now() < cached.expiresAt) {
      this.counters.hits++;
      return this.respond(cached, "mother-hit");
    }

    const pending = this.inflight.get(key);
    if (pending !== undefined) {
      this.counters.coalescedWaiters++;
      return this.render(await pending);
    }

    const fill = this.fill(streamId, objectPath, type, query, key);
    this.inflight.set(key, fill);
    try {
      return this.render(await fill);
    } finally {
      this.inflight.delete(key);
    }
  }

  /** Counters for tests, benchmarks and the stats route. */
  async stats(): Promise<MotherStats> {
    const resolution = this.origin?.resolution;
    return {
      streamId: this.streamId,
      originBaseUrl: resolution?.ok ? resolution.baseUrl : this.lastBaseUrl,
      requests: this.counters.requests,
      originFetches: { ...this.counters.originFetches },
      originFailures: this.counters.originFailures,
      hits: this.counters.hits,
      staleServed: this.counters.staleServed,
      coalescedWaiters: this.counters.coalescedWaiters,
      cacheEntries: this.cache.entries,
      cacheBytes: this.cache.bytes,
    };
  }

  private settings() {
    return {
      staleMs: intFromEnv(this.env.STALE_IF_ERROR_MS, DEFAULT_STALE_IF_ERROR_MS),
      timeoutMs: intFromEnv(this.env.ORIGIN_TIMEOUT_MS, DEFAULT_ORIGIN_TIMEOUT_MS) || DEFAULT_ORIGIN_TIMEOUT_MS,
    };
  }

  /** The single origin request for `key`; never rejects. */
  private async fill(
    streamId: string,
    objectPath: string,
    type: HlsObjectType,
    query: HlsQuery,
    key: string,
  ): Promise<Outcome> {
    const resolution = await this.resolveOrigin(streamId);
    if (!resolution.ok) {
      return { kind: "error", status: resolution.status, code: resolution.code, message: resolution.message, tier: "mother-hit" };
    }
    const { staleMs, timeoutMs } = this.settings();
    // An LL-HLS blocking request may legitimately be held by the origin for
    // up to ~3 target durations.
    const timeout = query.msn !== undefined ? timeoutMs * 3 : timeoutMs;
    const url = `${resolution.baseUrl}/hls/${streamId}/${objectPath}${formatHlsQuery(query)}`;

    this.counters.originFetches[type]++;
    const result = await fetchOrigin(url, timeout);
    const now = Date.now();

    if (result.kind === "response" && result.status < 500) {
      if (result.status === 200) {
        const text = type === "media" ? new TextDecoder().decode(result.body) : undefined;
        const policy = policyForOk(type, query, text);
        const headers: [string, string][] = [
          ["Content-Type", contentTypeFor(type)],
          ["Cache-Control", policy.cacheControl],
        ];
        for (const name of PASSTHROUGH_HEADERS) {
          const value = result.headers.get(name);
          if (value !== null) headers.push([name, value]);
        }
        const entry = this.makeEntry(200, result.body, headers, type, now, policy.freshMs);
        this.cache.set(key, entry);
        return { kind: "fresh", entry };
      }
      // An answer, not a failure: passed on, never cached downstream; a 404
      // is remembered for 1 s so a burst for a future segment costs one fetch.
      const policy = policyForError(result.status);
      const notFound = result.status === 404;
      const body = new TextEncoder().encode(
        errorBody(notFound ? "not_found" : "origin_rejected", notFound ? "object not found at origin" : `origin answered ${result.status}`),
      );
      const entry = this.makeEntry(
        result.status,
        body.buffer as ArrayBuffer,
        [
          ["Content-Type", "application/json; charset=utf-8"],
          ["Cache-Control", policy.cacheControl],
        ],
        type,
        now,
        policy.freshMs,
      );
      if (policy.freshMs > 0) this.cache.set(key, entry);
      return { kind: "fresh", entry };
    }

    // Origin failure: re-resolve the origin next time (the broadcaster may
    // have reconnected elsewhere), serve a recent playlist copy if allowed.
    this.counters.originFailures++;
    this.origin = null;
    const timedOut = result.kind === "timeout";
    if (staleIfErrorApplies(type, query)) {
      const last = this.cache.peek(key);
      if (last !== undefined && last.status === 200 && now - last.fetchedAt <= staleMs) {
        return { kind: "stale", entry: last };
      }
    }
    const message =
      result.kind === "timeout"
        ? `origin did not answer within ${timeout} ms`
        : result.kind === "network"
          ? `origin unreachable: ${result.message}`
          : `origin answered ${result.status}`;
    return {
      kind: "error",
      status: timedOut ? 504 : 502,
      code: timedOut ? "origin_timeout" : "origin_error",
      message,
      tier: "origin",
    };
  }

  private makeEntry(
    status: number,
    body: ArrayBuffer,
    headers: [string, string][],
    type: HlsObjectType,
    now: number,
    freshMs: number,
  ): Entry {
    return { status, body, headers, type, fetchedAt: now, expiresAt: now + freshMs, size: body.byteLength + 256 };
  }

  /** streams.originId → origins.baseUrl, memoized; concurrent lookups share one query. */
  private async resolveOrigin(streamId: string): Promise<OriginResolution> {
    if (this.origin !== null && Date.now() < this.origin.expiresAt) return this.origin.resolution;
    if (this.originLookup === null) {
      this.originLookup = this.lookupOrigin(streamId).finally(() => {
        this.originLookup = null;
      });
    }
    return this.originLookup;
  }

  private async lookupOrigin(streamId: string): Promise<OriginResolution> {
    let row: { originId: string | null; baseUrl: string | null } | undefined;
    try {
      const db = getDb(this.env.DB);
      [row] = await db
        .select({ originId: schema.streams.originId, baseUrl: schema.origins.baseUrl })
        .from(schema.streams)
        .leftJoin(schema.origins, eq(schema.streams.originId, schema.origins.id))
        .where(eq(schema.streams.id, streamId))
        .limit(1);
    } catch {
      // not memoized: the next request asks again
      return { ok: false, status: 503, code: "directory_unavailable", message: "stream directory unavailable" };
    }
    let resolution: OriginResolution;
    if (row === undefined) {
      resolution = { ok: false, status: 404, code: "unknown_stream", message: "no such stream" };
    } else if (row.baseUrl === null) {
      resolution = { ok: false, status: 404, code: "stream_offline", message: "stream has no origin yet" };
    } else {
      const baseUrl = row.baseUrl.replace(/\/+$/, "");
      if (this.lastBaseUrl !== null && this.lastBaseUrl !== baseUrl) {
        // New origin box: playlists from the old one must not be served,
        // not even stale. Segments are epoch-named, so they stay valid.
        this.cache.deleteWhere((_key, entry) => entry.type === "master" || entry.type === "media");
      }
      this.lastBaseUrl = baseUrl;
      resolution = { ok: true, baseUrl };
    }
    this.origin = { resolution, expiresAt: Date.now() + (resolution.ok ? ORIGIN_MEMO_MS : ORIGIN_MISS_MEMO_MS) };
    return resolution;
  }

  private render(outcome: Outcome): Response {
    switch (outcome.kind) {
      case "fresh":
        return this.respond(outcome.entry, "origin");
      case "stale":
        return this.respond(outcome.entry, "mother-stale");
      case "error":
        return new Response(errorBody(outcome.code, outcome.message), {
          status: outcome.status,
          headers: {
            "Content-Type": "application/json; charset=utf-8",
            "Cache-Control": NO_STORE,
            [TIER_HEADER]: outcome.tier,
          },
        });
    }
  }

  private respond(entry: Entry, tier: CacheTier): Response {
    const headers = new Headers(entry.headers);
    headers.set(TIER_HEADER, tier);
    if (tier === "mother-hit") {
      headers.set("Age", String(Math.max(0, Math.floor((Date.now() - entry.fetchedAt) / 1000))));
    } else if (tier === "mother-stale") {
      this.counters.staleServed++;
      headers.set("Cache-Control", STALE_CACHE_CONTROL);
    }
    // new Response copies the bytes: every waiter gets its own body.
    return new Response(entry.body, { status: entry.status, headers });
  }
}
