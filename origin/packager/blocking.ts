/**
 * LL-HLS blocking requests (RFC 8216bis §6.2.5.2, §6.2.6) as pure decisions:
 * given where the live edge of a rendition is, answer now, hold, or refuse.
 * The packager applies them (it owns the parts) and re-evaluates held
 * requests whenever a part or segment is added.
 */
import type { LivePosition } from "./rendition.js";

/** `_HLS_msn` / `_HLS_part` of a media playlist request. */
export interface BlockingQuery {
  msn?: number;
  part?: number;
}

export type Decision = { kind: "answer" } | { kind: "hold" } | { kind: "reject"; status: 400 | 404; code: string; message: string };

export interface BlockingLimits {
  /** PART-TARGET, seconds. */
  partTarget: number;
  /** EXT-X-TARGETDURATION, seconds. */
  targetDuration: number;
}

const ANSWER: Decision = { kind: "answer" };
const HOLD: Decision = { kind: "hold" };

/**
 * The Advance Part Limit: how many parts past the newest one a client may
 * ask for (three divided by the part target when it is below one second,
 * three otherwise).
 */
export function advancePartLimit(partTarget: number): number {
  return partTarget < 1 ? Math.floor(3 / partTarget) : 3;
}

/** How long a blocking request may be held before 503: three target durations. */
export function holdLimitMs(targetDuration: number): number {
  return 3 * targetDuration * 1000;
}

/** Whether the playlist at `pos` contains what the query waits for. */
export function satisfies(pos: LivePosition, query: BlockingQuery): boolean {
  if (query.msn === undefined) return true;
  if (query.msn <= pos.lastMsn) return true;
  return query.part !== undefined && query.msn === pos.openMsn && query.part < pos.openParts;
}

/** A media playlist request with optional `_HLS_msn` / `_HLS_part`. */
export function decidePlaylist(pos: LivePosition, query: BlockingQuery, ended: boolean, limits: BlockingLimits): Decision {
  if (query.part !== undefined && query.msn === undefined) {
    return { kind: "reject", status: 400, code: "bad_query", message: "_HLS_part requires _HLS_msn" };
  }
  // An ended playlist will not grow: answer with what there is.
  if (ended || satisfies(pos, query)) return ANSWER;
  const msn = query.msn!;
  if (msn > pos.lastMsn + 2) {
    return {
      kind: "reject",
      status: 400,
      code: "msn_too_far",
      message: `_HLS_msn ${msn} is more than 2 past the last segment ${pos.lastMsn}`,
    };
  }
  if (query.part !== undefined) {
    // Distance in parts from the newest published part; segments not yet
    // begun are counted at their nominal number of parts.
    const perSegment = Math.max(1, Math.round(limits.targetDuration / limits.partTarget));
    const newest = pos.openParts > 0 ? { msn: pos.openMsn, part: pos.openParts - 1 } : { msn: pos.lastMsn, part: pos.lastSegmentParts - 1 };
    let ahead: number;
    if (msn === newest.msn) ahead = query.part - newest.part;
    else ahead = Math.max(0, perSegment - 1 - newest.part) + (msn - newest.msn - 1) * perSegment + query.part + 1;
    if (ahead > advancePartLimit(limits.partTarget)) {
      return {
        kind: "reject",
        status: 400,
        code: "part_too_far",
        message: `_HLS_part ${query.part} of ${msn} is beyond the advance part limit`,
      };
    }
  }
  return HOLD;
}

/**
 * A part request by running number. The hinted part (the next one) is held
 * until it is complete; anything further ahead does not exist yet, anything
 * older that is missing has left retention.
 */
export function decidePart(pos: LivePosition, number: number, available: boolean, ended: boolean): Decision {
  if (available) return ANSWER;
  if (number === pos.nextPart && !ended) return HOLD;
  return {
    kind: "reject",
    status: 404,
    code: "object_not_found",
    message: number > pos.nextPart ? "part not announced yet" : "no such part",
  };
}
