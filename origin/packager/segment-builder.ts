/**
 * Assembles a track's parts into segments: the part being appended either
 * continues the open segment or, when it starts one, closes it first. The
 * decision to cut is the caller's (segmenter.ts cuts video at keyframes,
 * audio-segmenter.ts follows the video's cuts); this keeps the bytes, the
 * part layout and the segment's program date-time.
 *
 * A segment's first part begins with the CMAF `styp` (cmaf.ts), so a
 * segment is exactly the concatenation of its parts.
 */
import { BoxError } from "./box-splitter.js";
import { SEGMENT_TYPE_BOX } from "./cmaf.js";
import type { InitInfo, InitTrack } from "./init-info.js";
import type { PdtClock } from "./pdt-clock.js";

/** One LL-HLS part: a moof+mdat pair (plus the styp when it opens a segment). */
export interface Part {
  /** Decode time of the track's first sample, seconds. */
  startDts: number;
  /** Seconds of the track covered. */
  duration: number;
  /** The first sample is a sync sample. */
  independent: boolean;
  bytes: Buffer;
  /** Wall clock (ms) when the part was complete. */
  arrivedAt: number;
}

/** A part's place inside its closed segment. */
export interface SegmentPart {
  startDts: number;
  duration: number;
  independent: boolean;
  arrivedAt: number;
  /** Byte range of the part within `Segment.bytes`. */
  offset: number;
  length: number;
}

export interface Segment {
  startDts: number;
  duration: number;
  /** Wall clock (ms, rounded) of the first sample. */
  programDateTime: number;
  parts: SegmentPart[];
  bytes: Buffer;
}

export interface InitSegment {
  /** The CMAF header: our ftyp + FFmpeg's moov. */
  bytes: Buffer;
  info: InitInfo;
  /** The one track of the init; segment timing is its timing. */
  timingTrack: InitTrack;
}

export type SegmenterEvent =
  | { type: "init"; init: InitSegment }
  /**
   * A part was appended to the open segment as its part number `partIndex`;
   * `programDateTime` is the open segment's (ms).
   */
  | { type: "part"; part: Part; partIndex: number; programDateTime: number }
  | { type: "segment"; segment: Segment };

export const DEFAULT_MAX_SEGMENT_BYTES = 256 * 1024 * 1024;

interface OpenSegment {
  startTicks: number;
  durationTicks: number;
  programDateTime: number;
  parts: Part[];
  bytes: number;
}

export class SegmentBuilder {
  private open: OpenSegment | undefined;

  constructor(
    private readonly timescale: number,
    private readonly clock: PdtClock,
    private readonly maxSegmentBytes: number = DEFAULT_MAX_SEGMENT_BYTES,
  ) {}

  get isOpen(): boolean {
    return this.open !== undefined;
  }

  /** Seconds of media in the open segment. */
  get openDuration(): number {
    return (this.open?.durationTicks ?? 0) / this.timescale;
  }

  get openParts(): readonly Part[] {
    return this.open?.parts ?? [];
  }

  /**
   * Appends a part (moof+mdat) covering [startTicks, startTicks + durationTicks);
   * `startsSegment` closes the open segment first and prefixes the styp.
   */
  add(
    fragment: Buffer,
    at: { startTicks: number; durationTicks: number; independent: boolean; arrivedAt: number },
    startsSegment: boolean,
  ): SegmenterEvent[] {
    if (!startsSegment && !this.open) return []; // nothing decodable to attach it to yet
    const bytes = startsSegment ? Buffer.concat([SEGMENT_TYPE_BOX, fragment]) : fragment;
    // Checked before any state changes so a failure never loses an already closed segment.
    if ((startsSegment ? 0 : this.open!.bytes) + bytes.length > this.maxSegmentBytes) {
      throw new BoxError(`segment would exceed ${this.maxSegmentBytes} bytes without a keyframe to cut at`);
    }
    const events: SegmenterEvent[] = [];
    if (startsSegment) {
      const closed = this.close();
      if (closed) events.push({ type: "segment", segment: closed });
      this.open = {
        startTicks: at.startTicks,
        durationTicks: 0,
        programDateTime: this.clock.at(at.startTicks / this.timescale),
        parts: [],
        bytes: 0,
      };
    }
    const target = this.open!;
    const part: Part = {
      startDts: at.startTicks / this.timescale,
      duration: at.durationTicks / this.timescale,
      independent: at.independent,
      bytes,
      arrivedAt: at.arrivedAt,
    };
    target.parts.push(part);
    target.durationTicks += at.durationTicks;
    target.bytes += bytes.length;
    events.push({ type: "part", part, partIndex: target.parts.length - 1, programDateTime: target.programDateTime });
    return events;
  }

  /** Closes the open segment, if any. */
  close(): Segment | undefined {
    const open = this.open;
    if (!open) return undefined;
    this.open = undefined;
    const bytes = Buffer.concat(
      open.parts.map((c) => c.bytes),
      open.bytes,
    );
    let offset = 0;
    const parts = open.parts.map((c): SegmentPart => {
      const placed = {
        startDts: c.startDts,
        duration: c.duration,
        independent: c.independent,
        arrivedAt: c.arrivedAt,
        offset,
        length: c.bytes.length,
      };
      offset += c.bytes.length;
      return placed;
    });
    return {
      startDts: open.startTicks / this.timescale,
      duration: open.durationTicks / this.timescale,
      programDateTime: open.programDateTime,
      parts,
      bytes,
    };
  }
}
