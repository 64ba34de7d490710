/**
 * Turns one rendition's top-level boxes, from one FFmpeg run, into an init
 * segment, parts and media segments.
 *
 * A part is one moof+mdat pair as FFmpeg writes it (FFmpeg calls it a
 * fragment; `-frag_duration` sets its length): the LL-HLS partial segment,
 * published the moment it is complete. Segments are whole runs of parts,
 * only ever cut in front of an independent part, so every segment starts
 * with a sync sample; part boundaries are kept inside each segment.
 */
import { BoxError, parseInit, parseMoof, type Box, type InitInfo, type InitTrack } from "./boxes.js";
import { PdtClock } from "./pdt-clock.js";
import { shiftDecodeTimes } from "./timeline.js";

/** One moof+mdat pair as FFmpeg wrote it. */
export interface Part {
  /** Decode time of the timing track's first sample, seconds. */
  startDts: number;
  /** Seconds of the timing track covered. */
  duration: number;
  /** The timing track's first sample is a sync sample. */
  independent: boolean;
  /** moof+mdat. */
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
  /** ftyp+moov as FFmpeg wrote them. */
  bytes: Buffer;
  info: InitInfo;
  /** The track segment timing is taken from: video, else audio, else the first. */
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

export interface SegmenterOptions {
  /** Seconds. */
  targetDuration: number;
  now?: () => number;
  /** Shared by the renditions of one run; a private clock by default. */
  clock?: PdtClock;
  /** An open segment larger than this means keyframes stopped arriving; fail instead of growing without bound. */
  maxSegmentBytes?: number;
  /** Seconds added to every decode time (the run's place on the stream's timeline, see timeline.ts). */
  decodeTimeOffset?: number;
}

/** Lets a segment close at the keyframe that lands just short of the target (frame timing jitter). */
const CUT_TOLERANCE = 0.05;
const DEFAULT_MAX_SEGMENT_BYTES = 256 * 1024 * 1024;

interface OpenSegment {
  startTicks: number;
  durationTicks: number;
  programDateTime: number;
  parts: Part[];
  bytes: number;
}

export class Segmenter {
  private readonly targetDuration: number;
  private readonly now: () => number;
  private readonly maxSegmentBytes: number;
  private readonly decodeTimeOffset: number;
  private ftyp: Buffer | undefined;
  private initSegment: InitSegment | undefined;
  private pendingMoof: Buffer | undefined;
  private open: OpenSegment | undefined;
  /** End of the last part, in timing-track ticks; places parts that lack timing-track samples. */
  private nextTicks: number | undefined;
  private readonly clock: PdtClock;

  constructor(opts: SegmenterOptions) {
    this.targetDuration = opts.targetDuration;
    this.now = opts.now ?? Date.now;
    this.maxSegmentBytes = opts.maxSegmentBytes ?? DEFAULT_MAX_SEGMENT_BYTES;
    this.decodeTimeOffset = opts.decodeTimeOffset ?? 0;
    this.clock = opts.clock ?? new PdtClock();
  }

  get init(): InitSegment | undefined {
    return this.initSegment;
  }

  /** Parts of the segment still being built (the LL-HLS parts published so far). */
  get openParts(): readonly Part[] {
    return this.open?.parts ?? [];
  }

  push(box: Box): SegmenterEvent[] {
    switch (box.type) {
      case "ftyp":
        if (!this.initSegment) this.ftyp = box.data;
        return [];
      case "moov":
        return [this.onMoov(box.data)];
      case "moof":
        if (!this.initSegment) throw new BoxError("moof before moov");
        if (this.pendingMoof) throw new BoxError("moof not followed by mdat");
        shiftDecodeTimes(box.data, this.decodeTimeOffset, this.initSegment.info.tracks);
        this.pendingMoof = box.data;
        return [];
      case "mdat": {
        if (!this.pendingMoof) throw new BoxError("mdat without moof (not fragmented MP4?)");
        const moof = this.pendingMoof;
        this.pendingMoof = undefined;
        return this.onPart(moof, box.data);
      }
      default:
        // free/skip/mfra/sidx/styp/prft etc. carry nothing a client of our segments needs.
        return [];
    }
  }

  /** Closes the open segment (end of input). A moof still waiting for its mdat is dropped. */
  flush(): Segment | undefined {
    this.pendingMoof = undefined;
    return this.close();
  }

  private onMoov(moov: Buffer): SegmenterEvent {
    if (this.initSegment) throw new BoxError("second moov in one run");
    const bytes = this.ftyp ? Buffer.concat([this.ftyp, moov]) : moov;
    const info = parseInit(bytes);
    const timingTrack =
      info.tracks.find((t) => t.kind === "video") ??
      info.tracks.find((t) => t.kind === "audio") ??
      info.tracks[0];
    if (!timingTrack) throw new BoxError("init segment has no tracks");
    this.initSegment = { bytes, info, timingTrack };
    this.ftyp = undefined;
    return { type: "init", init: this.initSegment };
  }

  private onPart(moof: Buffer, mdat: Buffer): SegmenterEvent[] {
    const init = this.initSegment!;
    const { timescale, trackId } = init.timingTrack;
    const arrivedAt = this.now();
    const frag = parseMoof(moof, init.info.tracks).find((t) => t.trackId === trackId);
    const timed = frag !== undefined && frag.sampleCount > 0;
    const startTicks = timed ? frag.baseMediaDecodeTime : this.nextTicks ?? 0;
    const durationTicks = timed ? frag.duration : 0;
    this.nextTicks = startTicks + durationTicks;

    if (timed) this.clock.observe(arrivedAt, startTicks / timescale, durationTicks / timescale);

    const part: Part = {
      startDts: startTicks / timescale,
      duration: durationTicks / timescale,
      independent: timed && frag.firstSampleIsSync,
      bytes: Buffer.concat([moof, mdat]),
      arrivedAt,
    };

    const open = this.open;
    const cut =
      part.independent && (!open || open.durationTicks / timescale >= this.targetDuration - CUT_TOLERANCE);
    if (!cut && !open) return []; // nothing decodable to attach it to yet
    // Checked before any state changes so a failure never loses an already closed segment.
    if ((cut ? 0 : open!.bytes) + part.bytes.length > this.maxSegmentBytes) {
      throw new BoxError(`segment would exceed ${this.maxSegmentBytes} bytes without a keyframe to cut at`);
    }

    const events: SegmenterEvent[] = [];
    if (cut) {
      const closed = this.close();
      if (closed) events.push({ type: "segment", segment: closed });
      this.open = {
        startTicks,
        durationTicks: 0,
        programDateTime: this.clock.at(startTicks / timescale),
        parts: [],
        bytes: 0,
      };
    }
    const target = this.open!;
    target.parts.push(part);
    target.durationTicks += durationTicks;
    target.bytes += part.bytes.length;
    events.push({ type: "part", part, partIndex: target.parts.length - 1, programDateTime: target.programDateTime });
    return events;
  }

  private close(): Segment | undefined {
    const open = this.open;
    if (!open) return undefined;
    this.open = undefined;
    const timescale = this.initSegment!.timingTrack.timescale;
    const bytes = Buffer.concat(open.parts.map((c) => c.bytes), open.bytes);
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
      startDts: open.startTicks / timescale,
      duration: open.durationTicks / timescale,
      programDateTime: open.programDateTime,
      parts,
      bytes,
    };
  }
}
