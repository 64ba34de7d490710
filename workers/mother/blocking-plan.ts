/**
 * What the mother does with an LL-HLS blocking playlist request before it
 * costs an origin request. Pure: the mother passes what it last saw of the
 * rendition's live edge.
 *
 * - Already satisfied by the newest playlist it holds (a client asking for
 *   an msn/part that exists): answered from that playlist, no origin
 *   request, whatever the value. So a thousand different past `_HLS_msn`
 *   values cost the origin nothing.
 * - Further ahead than the spec allows (msn more than 2 past the last
 *   segment, with one more per target duration elapsed since the mother
 *   last looked, so a stale view never refuses a legitimate request): 400,
 *   no origin request.
 * - Otherwise forwarded once (coalesced) and held at the origin.
 */
import type { HlsQuery } from "../../common/hls-query.js";
import { satisfiesBlockingRequest, playlistPosition, parseTargetDuration } from "./cache-policy.js";

export interface KnownPlaylist {
  text: string;
  /** When the mother received it (ms). */
  fetchedAt: number;
}

export type BlockingPlan = { kind: "forward" } | { kind: "answer-known" } | { kind: "reject"; code: string; message: string };

export function planBlocking(known: KnownPlaylist | undefined, query: HlsQuery, now: number): BlockingPlan {
  if (query.msn === undefined || known === undefined) return { kind: "forward" };
  if (satisfiesBlockingRequest(known.text, query)) return { kind: "answer-known" };
  const { lastMsn } = playlistPosition(known.text);
  const targetMs = (parseTargetDuration(known.text) ?? 2) * 1000;
  const allowance = Math.ceil(Math.max(0, now - known.fetchedAt) / targetMs);
  if (query.msn > lastMsn + 2 + allowance) {
    return { kind: "reject", code: "msn_too_far", message: `_HLS_msn ${query.msn} is more than 2 past the live edge (${lastMsn})` };
  }
  return { kind: "forward" };
}

/** Is playlist `a` at or past playlist `b`'s live edge? (Used to keep the newest one known.) */
export function isNewerOrSame(a: string, b: string): boolean {
  const pa = playlistPosition(a);
  const pb = playlistPosition(b);
  return pa.lastMsn > pb.lastMsn || (pa.lastMsn === pb.lastMsn && pa.pendingParts >= pb.pendingParts);
}

/** PART-TARGET in seconds, or null for a playlist without parts. */
export function parsePartTarget(playlist: string): number | null {
  const match = /^#EXT-X-PART-INF:.*PART-TARGET=(\d+(?:\.\d+)?)/m.exec(playlist);
  if (!match) return null;
  const value = Number(match[1]);
  return Number.isFinite(value) && value > 0 ? value : null;
}
