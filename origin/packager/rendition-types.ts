/**
 * The shapes a Rendition stores and reports (its inits and segments, the
 * live edge, where a later process resumes) and how a served object is
 * packed, shared by the rendition, the stream packager and the recorder.
 */
import { contentTypeFor, type HlsObjectType } from "../../common/hls-paths.js";
import type { InitSegment, SegmentPart } from "./segment-builder.js";

export interface PackagedObject {
  body: Buffer | string;
  contentType: string;
  type: HlsObjectType;
}

export interface StoredInit {
  /** Run (FFmpeg process) index; also the init's discontinuity number in its name. */
  run: number;
  name: string;
  init: InitSegment;
}

export interface StoredSegment {
  msn: number;
  run: number;
  name: string;
  /** First segment of a run that follows another run's segment. */
  discontinuity: boolean;
  duration: number;
  /** Decode time (s) of its first sample on the stream's timeline. */
  startDts: number;
  programDateTime: number;
  bytes: Buffer;
  /** Its parts, as byte ranges of `bytes`; part `i` is named by `firstPart + i`. */
  parts: SegmentPart[];
  firstPart: number;
  /** When it left the playlist (ms); it stays downloadable for a while after (see `retention`). */
  removedAt?: number;
}

/** Where the live edge is, for blocking-request decisions and rendition reports. */
export interface LivePosition {
  /** msn of the newest complete segment, -1 before the first. */
  lastMsn: number;
  /** msn of the segment being built (lastMsn + 1). */
  openMsn: number;
  /** Parts of the open segment published so far. */
  openParts: number;
  /** Parts of segment `lastMsn` (0 before the first). */
  lastSegmentParts: number;
  /** Running number of the next part to be published (the preload hint). */
  nextPart: number;
}

/**
 * Where a rendition of the same stream stopped in an earlier origin process
 * (crash recovery, see origin/stream/stream-journal.ts): numbering and the
 * discontinuity count continue, PDT never goes back, and the first segment
 * after it is marked as a discontinuity.
 */
export interface RenditionResume {
  nextMsn: number;
  nextPart: number;
  /** Discontinuity tags written so far (all of them now precede the playlist). */
  discontinuities: number;
  /** Wall clock (ms) where the last segment's media ended. */
  pdtEnd: number;
  /** Decode time (s) where the last segment ended: the next run continues the timeline from there. */
  dtsEnd?: number;
}

export interface RenditionOptions {
  epoch: string;
  targetDuration: number;
  windowSize: number;
  /** Nominal part duration (s); PART-TARGET starts here and only moves up when a part is longer. */
  partTarget: number;
  /**
   * Extra time (ms) a segment stays downloadable after it leaves the
   * playlist, beyond what RFC 8216bis §6.2.2 asks for (its duration plus the
   * longest playlist that contained it).
   */
  retentionGraceMs: number;
  /** Hard cap on segments kept after they left the playlist (memory bound). */
  maxRemovedSegments: number;
  now: () => number;
  resume?: RenditionResume;
  /** The audio rendition: its init, segments and parts are served as audio/mp4. */
  audio?: boolean;
}

export function packaged(type: HlsObjectType, body: Buffer | string, audio = false): PackagedObject {
  return { body, type, contentType: audio && type !== "master" && type !== "media" ? "audio/mp4" : contentTypeFor(type) };
}

/** Seconds rounded up to the millisecond: what a playlist may claim as an upper bound. */
export function ceilMs(seconds: number): number {
  return Math.ceil(seconds * 1000 - 1e-6) / 1000;
}
