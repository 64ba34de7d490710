/**
 * HlsRelay: one Durable Object per (stream, region), between every colo of
 * its region and the stream's HlsMother (the regional child of the mother). The
 * Cache API neither coalesces across isolates nor across colos, so without
 * it the mother's request rate grows with colos × isolates; with it the
 * mother sees at most one request per object per region.
 *
 * - At most one mother request per object is under way; every colo's
 *   request waits on it, LL-HLS blocking requests included (held once per
 *   region). When every waiter has gone, the mother request is cancelled.
 * - Answers are kept for the max-age the mother wrote (playlists about a
 *   part, parts and segments long), bounded in bytes.
 * - `X-Cache-Tier: relay-hit` when answered from here; otherwise the
 *   mother's tier passes through.
 *
 * Addressed as https://relay/<streamId>/<objectPath>?<canonical query>
 * (the edge validated and canonicalized it); named `<streamId>@<region>`.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env.js";
import { errorBody } from "../lib/errors.js";
import { TIER_HEADER } from "../tiers/freshness.js";
import { hlsMother } from "../stubs.js";
import { Coalescer } from "../tiers/coalescer.js";
import { HotCache, type StoredAnswer } from "../tiers/hot-cache.js";
import { UpstreamCounter, type UpstreamCounts } from "./upstream-counts.js";

/** A relay's memory budget: the live edge of one stream, every rendition. */
const RELAY_CACHE_BYTES = 48 * 1024 * 1024;
const FETCH_PATH = /^\/([a-z0-9]{8,32})\/([^?]+)$/;

export interface RelayStats {
  requests: number;
  hits: number;
  /** Requests sent to the mother. */
  motherRequests: number;
  /** Requests that waited for another request's mother call. */
  coalesced: number;
  cacheEntries: number;
  cacheBytes: number;
  /** Mother requests per object, by type (the benchmark's "mother requests per object" per region). */
  mother: UpstreamCounts;
  /** When this instance started (ms): the counters are in memory, so a restart starts them again. */
  startedAt: number;
}

export class HlsRelay extends DurableObject<Env> {
  private readonly cache = new HotCache(RELAY_CACHE_BYTES);
  private readonly flights = new Coalescer<StoredAnswer>();
  private readonly counters = { requests: 0, motherRequests: 0, coalesced: 0 };
  private readonly upstream = new UpstreamCounter();
  private readonly startedAt = Date.now();

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const match = FETCH_PATH.exec(url.pathname);
    if (!match) return jsonError(400, "bad_path", "not an HLS object path");
    const [, streamId, objectPath] = match as unknown as [string, string, string];
    this.counters.requests++;
    const key = objectPath + url.search;

    const hot = this.cache.get(key, Date.now());
    if (hot) return respond(hot.answer, "relay-hit", hot.ageSeconds);

    const joined = await this.flights.join(
      key,
      async (signal) => {
        this.counters.motherRequests++;
        this.upstream.record(objectPath, url.search);
        const res = await hlsMother(this.env, streamId).fetch(
          new Request(`https://mother/${streamId}/${objectPath}${url.search}`, { signal }),
        );
        const answer = { status: res.status, headers: [...res.headers], body: await res.arrayBuffer() };
        // stored before the call settles, so a request arriving meanwhile finds it rather than calling again
        this.cache.set(key, answer, Date.now());
        return answer;
      },
      request.signal,
    );
    if (joined.kind === "gone") return jsonError(499, "client_gone", "request cancelled");
    if (joined.kind === "failed") {
      console.error("relay: mother call failed", joined.error);
      return jsonError(502, "mother_unavailable", "stream cache tier unavailable");
    }
    if (joined.leader) return respond(joined.value);
    this.counters.coalesced++;
    return respond(joined.value, "relay-coalesced");
  }

  async stats(): Promise<RelayStats> {
    return {
      requests: this.counters.requests,
      hits: this.cache.hits,
      motherRequests: this.counters.motherRequests,
      coalesced: this.counters.coalesced,
      cacheEntries: this.cache.entries,
      cacheBytes: this.cache.bytes,
      mother: this.upstream.snapshot(),
      startedAt: this.startedAt,
    };
  }
}

function respond(answer: StoredAnswer, tier?: string, ageSeconds?: number): Response {
  const headers = new Headers(answer.headers);
  if (tier !== undefined) headers.set(TIER_HEADER, tier);
  if (ageSeconds !== undefined) headers.set("Age", String(ageSeconds));
  // every caller gets its own copy of the bytes
  return new Response(answer.body.slice(0), { status: answer.status, headers });
}

function jsonError(status: number, code: string, message: string): Response {
  return new Response(errorBody(code, message), {
    status,
    headers: { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store", [TIER_HEADER]: "relay-hit" },
  });
}
