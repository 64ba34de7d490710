/**
 * What the mother writes into Cache-Control (docs/architecture.md, "Caching policy"). Pure functions:
 * no I/O, no clock, so the policy is unit-testable on its own.
 *
 *   master playlist           public, max-age=86400 (life of a stream ≤ 24 h)
 *   media playlist (plain)    public, max-age=max(1, floor(targetDuration / 2)); 1 with LL-HLS parts
 *                             (the mother itself keeps an LL playlist for one part target only)
 *   blocking request (_HLS_msn[, _HLS_part]) answered
 *                             public, max-age=86400 (the answer for an msn/part never changes)
 *   init, segment, part       public, max-age=31536000, immutable
 *   any error                 no-store (a 404 is negative-cached inside the mother for 1 s)
 *
 * The mother's own freshness for an object equals the max-age it writes, except for a media
 * playlist with parts: Cache-Control cannot say less than 1 s, so the mother keeps it one part.
 */
import type { HlsObjectType } from "../../common/hls-paths.js";
import type { HlsQuery } from "../../common/hls-query.js";

const MASTER_MAX_AGE_S = 86_400;
export const BLOCKING_MAX_AGE_S = 86_400;
const IMMUTABLE_MAX_AGE_S = 31_536_000;
export const DEFAULT_TARGET_DURATION_S = 2;
const NEGATIVE_CACHE_MS = 1_000;

export const NO_STORE = "no-store";
/** What a stale media playlist is served with (stale-if-error). */
export const STALE_CACHE_CONTROL = "public, max-age=1";

export interface CachePolicy {
  /** Cache-Control written on the response. */
  cacheControl: string;
  /** How long the mother itself treats the answer as fresh (0: not kept). */
  freshMs: number;
}

function publicMaxAge(seconds: number, immutable = false): CachePolicy {
  return {
    cacheControl: `public, max-age=${seconds}${immutable ? ", immutable" : ""}`,
    freshMs: seconds * 1000,
  };
}

/** EXT-X-TARGETDURATION of a media playlist, or null when absent/invalid. */
export function parseTargetDuration(playlist: string): number | null {
  const match = /^#EXT-X-TARGETDURATION:\s*(\d+(?:\.\d+)?)\s*$/m.exec(playlist);
  if (!match) return null;
  const value = Number(match[1]);
  return Number.isFinite(value) && value > 0 ? value : null;
}

/** About half a segment, never below 1 s (Cache-Control has 1 s granularity). */
export function mediaPlaylistMaxAge(targetDurationS: number | null): number {
  const td = targetDurationS ?? DEFAULT_TARGET_DURATION_S;
  return Math.max(1, Math.floor(td / 2));
}

export interface PlaylistPosition {
  /** Media sequence number of the last complete segment, -1 when none. */
  lastMsn: number;
  /** Parts announced for segment lastMsn + 1 (the one being produced). */
  pendingParts: number;
}

/** Where the live edge of a media playlist is (for blocking-request checks). */
export function playlistPosition(playlist: string): PlaylistPosition {
  const seq = /^#EXT-X-MEDIA-SEQUENCE:\s*(\d+)\s*$/m.exec(playlist);
  let msn = seq ? Number(seq[1]) : 0;
  let pendingParts = 0;
  for (const rawLine of playlist.split("\n")) {
    const line = rawLine.trim();
    if (line.startsWith("#EXT-X-PART:")) pendingParts++;
    else if (line.length > 0 && !line.startsWith("#")) {
      // a segment URI closes the segment and its parts
      msn++;
      pendingParts = 0;
    }
  }
  return { lastMsn: msn - 1, pendingParts };
}

/**
 * True when a playlist answers the blocking request: it contains segment
 * `msn` (or, with `part`, that part of segment `msn`). Only then is the
 * answer immutable and safe to cache long.
 */
export function satisfiesBlockingRequest(playlist: string, query: HlsQuery): boolean {
  if (query.msn === undefined) return false;
  const { lastMsn, pendingParts } = playlistPosition(playlist);
  if (query.msn <= lastMsn) return true;
  return query.part !== undefined && query.msn === lastMsn + 1 && query.part < pendingParts;
}

/** Policy for a 200 answer from the origin. `body` is needed for media playlists. */
export function policyForOk(type: HlsObjectType, query: HlsQuery, body?: string): CachePolicy {
  switch (type) {
    case "master":
      return publicMaxAge(MASTER_MAX_AGE_S);
    case "media": {
      const text = body ?? "";
      if (query.msn !== undefined && satisfiesBlockingRequest(text, query)) {
        return publicMaxAge(BLOCKING_MAX_AGE_S);
      }
      const partTarget = /^#EXT-X-PART-INF:.*PART-TARGET=(\d+(?:\.\d+)?)/m.exec(text);
      if (partTarget) {
        // Cache-Control has 1 s granularity; the mother refreshes after about one part.
        return { cacheControl: "public, max-age=1", freshMs: Math.min(1000, Math.max(100, Math.round(Number(partTarget[1]) * 1000))) };
      }
      return publicMaxAge(mediaPlaylistMaxAge(parseTargetDuration(text)));
    }
    case "init":
    case "segment":
    case "part":
      return publicMaxAge(IMMUTABLE_MAX_AGE_S, true);
  }
}

/** Policy for any non-200 answer: never cached downstream; 404 negative-cached briefly. */
export function policyForError(status: number): CachePolicy {
  return { cacheControl: NO_STORE, freshMs: status === 404 ? NEGATIVE_CACHE_MS : 0 };
}

/** Stale-if-error applies to plain media playlist requests only. */
export function staleIfErrorApplies(type: HlsObjectType, query: HlsQuery): boolean {
  return type === "media" && query.msn === undefined;
}
