/**
 * HlsMother: one Durable Object per stream (`idFromName(streamId)`), the only
 * requester of that stream's objects at its origin box (the "mother" of
 * the media tiers). Edges call it over RPC on a Cache API miss.
 *
 * - At most one origin request per object is in flight; every concurrent
 *   waiter is answered from it (each with its own Response over the same bytes).
 * - Answers are kept in memory (LRU bounded by bytes) for as long as the
 *   max-age the mother writes (cache-policy.ts); a 404 for 1 s.
 * - A plain media playlist whose origin fetch fails (network error, 5xx,
 *   timeout) is served stale for at most STALE_IF_ERROR_MS, never beyond.
 * - LL-HLS blocking requests (`_HLS_msn` / `_HLS_part`) are planned first
 *   (blocking-plan.ts): satisfied ones are answered from the newest playlist
 *   held, impossible ones refused; the rest are held once at the origin,
 *   with a timeout sized from the target duration (a held request is not a
 *   failing origin). When every waiter of a held request has gone (the
 *   edge's request was cancelled: `fetch()` entry point, request.signal),
 *   the origin request is cancelled too.
 * - Every answer carries `X-Cache-Tier: origin | mother-hit | mother-stale`.
 */
import { DurableObject } from "cloudflare:workers";
import { classifyObjectPath, contentTypeFor, isValidStreamId, type HlsObjectType } from "../../common/hls-paths.js";
import { formatHlsQuery, parseHlsQuery, type HlsQuery } from "../../common/hls-query.js";
import { parseConfig } from "../config.js";
import type { Env } from "../env.js";
import { getDb } from "../lib/db.js";
import { errorBody } from "../lib/errors.js";
import { isNewerOrSame, planBlocking, type KnownPlaylist } from "./blocking-plan.js";
import { Coalescer } from "../tiers/coalescer.js";
import { TIER_HEADER } from "../tiers/freshness.js";
import { ByteLru } from "../tiers/byte-lru.js";
import {
  BLOCKING_MAX_AGE_S,
  DEFAULT_TARGET_DURATION_S,
  NO_STORE,
  STALE_CACHE_CONTROL,
  parseTargetDuration,
  policyForError,
  policyForOk,
  satisfiesBlockingRequest,
  staleIfErrorApplies,
} from "./cache-policy.js";
import { OriginDirectory } from "./origin-directory.js";
import { fetchOrigin } from "./origin-fetch.js";

export type CacheTier = "origin" | "mother-hit" | "mother-stale" | "mother-coalesced";

/** Memory budget of the object cache of one mother. */
const MOTHER_CACHE_BYTES = 64 * 1024 * 1024;

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
  /** Blocking requests answered from the newest playlist held (no origin request). */
  blockingAnsweredKnown: number;
  /** Blocking requests refused before the origin (too far ahead). */
  blockingRefused: number;
  /** Origin requests cancelled because every waiter had gone. */
  abandoned: number;
  cacheEntries: number;
  cacheBytes: number;
}

const PASSTHROUGH_HEADERS = ["etag", "last-modified"];
/** How `fetch()` is addressed: https://mother/<streamId>/<objectPath>?<query> (the host is not used). */
const FETCH_PATH = /^\/([^/]+)\/(.+)$/;

export class HlsMother extends DurableObject<Env> {
  private readonly cache = new ByteLru<Entry>(MOTHER_CACHE_BYTES);
  /** One origin request per key; fetch() callers that leave are counted, RPC callers keep it alive (tiers/coalescer.ts). */
  private readonly flights = new Coalescer<Outcome>();
  /** Newest media playlist seen per rendition path: answers satisfied blocking requests without the origin. */
  private readonly known = new Map<string, KnownPlaylist>();
  private readonly origins = new OriginDirectory(
    () => getDb(this.env.DB),
    // New origin box: playlists from the old one must not be served, not
    // even stale. Segments and parts are epoch-named, so they stay valid.
    () => {
      this.cache.deleteWhere((_key, entry) => entry.type === "master" || entry.type === "media");
      this.known.clear();
    },
  );
  private streamId: string | null = null;
  private readonly counters = {
    requests: 0,
    originFetches: { master: 0, media: 0, init: 0, segment: 0, part: 0 } as Record<HlsObjectType, number>,
    originFailures: 0,
    hits: 0,
    staleServed: 0,
    coalescedWaiters: 0,
    blockingAnsweredKnown: 0,
    blockingRefused: 0,
    abandoned: 0,
  };

  /**
   * Answers one HLS object of `streamId`. `objectPath` is relative to the
   * stream (`master.m3u8`, `v0/index.m3u8`, ...); `search` may carry the
   * LL-HLS `_HLS_msn` / `_HLS_part` directives (meaningful on media
   * playlists only; anything else is dropped).
   */
  async serve(streamId: string, objectPath: string, search = ""): Promise<Response> {
    return this.answer(streamId, objectPath, search, undefined);
  }

  /**
   * The same as `serve()`, addressed as https://mother/<streamId>/<objectPath>?<query>.
   * The edge uses this entry point because a cancelled request reaches us
   * as `request.signal`: a held request nobody waits for any more is
   * cancelled at the origin.
   */
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const match = FETCH_PATH.exec(url.pathname);
    if (!match) return this.render({ kind: "error", status: 400, code: "bad_path", message: "not an HLS object path", tier: "mother-hit" });
    return this.answer(match[1]!, match[2]!, url.search, request.signal);
  }

  private async answer(streamId: string, objectPath: string, search: string, signal: AbortSignal | undefined): Promise<Response> {
    const type = classifyObjectPath(objectPath);
    if (!isValidStreamId(streamId) || type === null) {
      return this.render({ kind: "error", status: 400, code: "bad_path", message: "not an HLS object path", tier: "mother-hit" });
    }
    if (this.streamId !== null && this.streamId !== streamId) {
      return this.render({
        kind: "error",
        status: 400,
        code: "wrong_mother",
        message: "this mother serves another stream",
        tier: "mother-hit",
      });
    }
    const parsed = parseHlsQuery(search, type);
    if (!parsed.ok) {
      return this.render({ kind: "error", status: 400, code: "bad_query", message: parsed.message, tier: "mother-hit" });
    }
    const query = parsed.query;
    this.streamId = streamId;
    this.counters.requests++;

    const key = objectPath + formatHlsQuery(query);
    const cached = this.cache.get(key);
    if (cached !== undefined && Date.now() < cached.expiresAt) {
      this.counters.hits++;
      return this.respond(cached, "mother-hit");
    }

    if (type === "media" && query.msn !== undefined) {
      const plan = planBlocking(this.known.get(objectPath), query, Date.now());
      if (plan.kind === "reject") {
        this.counters.blockingRefused++;
        return this.render({ kind: "error", status: 400, code: plan.code, message: plan.message, tier: "mother-hit" });
      }
      if (plan.kind === "answer-known") {
        this.counters.blockingAnsweredKnown++;
        return this.respond(this.knownAnswer(objectPath, query, key), "mother-hit");
      }
    }

    const joined = await this.flights.join(key, (cancel) => this.fill(streamId, objectPath, type, query, key, cancel), signal);
    if (joined.kind === "gone") {
      return this.render({ kind: "error", status: 499, code: "client_gone", message: "request cancelled", tier: "mother-hit" });
    }
    if (joined.kind === "failed") {
      // fill() never rejects; a failure here is a bug, answered as an upstream error
      console.error("mother: origin request failed unexpectedly", joined.error);
      return this.render({ kind: "error", status: 502, code: "origin_error", message: "origin request failed", tier: "origin" });
    }
    if (joined.leader) return this.render(joined.value);
    this.counters.coalescedWaiters++;
    return this.render(joined.value, "mother-coalesced");
  }

  /** A blocking request the newest known playlist already satisfies: answered from it and cached under its key. */
  private knownAnswer(objectPath: string, query: HlsQuery, key: string): Entry {
    const known = this.known.get(objectPath)!;
    const body = new TextEncoder().encode(known.text).buffer as ArrayBuffer;
    const satisfied = satisfiesBlockingRequest(known.text, query);
    const policy = satisfied
      ? { cacheControl: `public, max-age=${BLOCKING_MAX_AGE_S}`, freshMs: BLOCKING_MAX_AGE_S * 1000 }
      : policyForOk("media", {}, known.text);
    const entry = this.makeEntry(
      200,
      body,
      [
        ["Content-Type", contentTypeFor("media")],
        ["Cache-Control", policy.cacheControl],
      ],
      "media",
      known.fetchedAt,
      policy.freshMs,
    );
    entry.expiresAt = Date.now() + policy.freshMs;
    this.cache.set(key, entry);
    return entry;
  }

  /** Remembers the newest media playlist of a rendition. */
  private noteKnown(objectPath: string, text: string, now: number): void {
    const current = this.known.get(objectPath);
    if (current === undefined || isNewerOrSame(text, current.text)) this.known.set(objectPath, { text, fetchedAt: now });
  }

  /** Counters for tests, benchmarks and the stats route. */
  async stats(): Promise<MotherStats> {
    const resolution = this.origins.current;
    return {
      streamId: this.streamId,
      originBaseUrl: resolution?.ok ? resolution.baseUrl : this.origins.lastBaseUrl,
      requests: this.counters.requests,
      originFetches: { ...this.counters.originFetches },
      originFailures: this.counters.originFailures,
      hits: this.counters.hits,
      staleServed: this.counters.staleServed,
      coalescedWaiters: this.counters.coalescedWaiters,
      blockingAnsweredKnown: this.counters.blockingAnsweredKnown,
      blockingRefused: this.counters.blockingRefused,
      abandoned: this.counters.abandoned,
      cacheEntries: this.cache.entries,
      cacheBytes: this.cache.bytes,
    };
  }

  private settings() {
    return {
      staleMs: parseConfig(this.env).mother.staleIfErrorMs,
      timeoutMs: parseConfig(this.env).mother.originTimeoutMs,
    };
  }

  /** The single origin request for `key`; never rejects. */
  private async fill(
    streamId: string,
    objectPath: string,
    type: HlsObjectType,
    query: HlsQuery,
    key: string,
    signal: AbortSignal,
  ): Promise<Outcome> {
    const resolution = await this.origins.resolve(streamId);
    if (!resolution.ok) {
      return { kind: "error", status: resolution.status, code: resolution.code, message: resolution.message, tier: "mother-hit" };
    }
    const { staleMs, timeoutMs } = this.settings();
    // The origin legitimately holds a blocking request (a playlist with
    // _HLS_msn, or the hinted part) for up to three target durations before
    // it answers 503: wait that long plus the usual allowance.
    const blocking = query.msn !== undefined || type === "part";
    const known = this.known.get(type === "part" ? objectPath.replace(/\/[^/]+$/, "/index.m3u8") : objectPath);
    const targetS = (known && parseTargetDuration(known.text)) ?? DEFAULT_TARGET_DURATION_S;
    const timeout = blocking ? 3 * targetS * 1000 + timeoutMs : timeoutMs;
    const url = `${resolution.baseUrl}/hls/${streamId}/${objectPath}${formatHlsQuery(query)}`;

    this.counters.originFetches[type]++;
    const result = await fetchOrigin(url, timeout, signal);
    const now = Date.now();

    if (result.kind === "aborted") {
      // every waiter left: not an origin failure, nothing to cache
      this.counters.abandoned++;
      return { kind: "error", status: 499, code: "client_gone", message: "request cancelled", tier: "origin" };
    }
    // A held request that ran out of time is an answer (503, try again), not a failing origin.
    const heldTooLong = result.kind === "response" && result.status === 503 && blocking;
    if (result.kind === "response" && (result.status < 500 || heldTooLong)) {
      if (result.status === 200) {
        const text = type === "media" ? new TextDecoder().decode(result.body) : undefined;
        if (text !== undefined) this.noteKnown(objectPath, text, now);
        const policy = policyForOk(type, query, text);
        const headers: [string, string][] = [
          ["Content-Type", contentTypeFor(type)],
          ["Cache-Control", policy.cacheControl],
        ];
        for (const name of PASSTHROUGH_HEADERS) {
          const value = result.headers.get(name);
          if (value !== null) headers.push([name, value]);
        }
        // an immutable name never names other bytes: it is a strong validator by itself
        if (type === "init" || type === "segment" || type === "part") {
          if (!headers.some(([name]) => name === "etag")) headers.push(["ETag", `"${objectPath}"`]);
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
    this.origins.forget();
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

  /** `coalesced`: the request waited on another request's origin fetch (it cost the origin nothing). */
  private render(outcome: Outcome, coalesced?: "mother-coalesced"): Response {
    switch (outcome.kind) {
      case "fresh":
        return this.respond(outcome.entry, coalesced ?? "origin");
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
