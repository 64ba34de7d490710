/**
 * Turns one rendition's top-level boxes, from one FFmpeg run, into an init
 * segment and media segments made of whole FFmpeg fragments ("chunks").
 *
 * Segments are only ever cut in front of an independent chunk, so every
 * segment starts with a sync sample. Chunk boundaries are kept inside each
 * segment because LL-HLS partial segments are exactly these chunks.
 */
import { BoxError, parseInit, parseMoof, type Box, type InitInfo, type InitTrack } from "./boxes.js";
import { PdtClock } from "./pdt-clock.js";

/** One moof+mdat pair as FFmpeg wrote it. */
export interface Chunk {
  /** Decode time of the timing track's first sample, seconds. */
  startDts: number;
  /** Seconds of the timing track covered. */
  duration: number;
  /** The timing track's first sample is a sync sample. */
  independent: boolean;
  /** moof+mdat. */
  bytes: Buffer;
  /** Wall clock (ms) when the chunk was complete. */
  arrivedAt: number;
}

/** A chunk's place inside its closed segment: a future LL-HLS part. */
export interface SegmentChunk {
  startDts: number;
  duration: number;
  independent: boolean;
  arrivedAt: number;
  /** Byte range of the chunk within `Segment.bytes`. */
  offset: number;
  length: number;
}

export interface Segment {
  startDts: number;
  duration: number;
  /** Wall clock (ms, rounded) of the first sample. */
  programDateTime: number;
  chunks: SegmentChunk[];
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
  /** A chunk was appended to the open segment as its part number `partIndex`. */
  | { type: "chunk"; chunk: Chunk; partIndex: number }
  | { type: "segment"; segment: Segment };

export interface SegmenterOptions {
  /** Seconds. */
  targetDuration: number;
  now?: () => number;
  /** Shared by the renditions of one run; a private clock by default. */
  clock?: PdtClock;
  /** An open segment larger than this means keyframes stopped arriving; fail instead of growing without bound. */
  maxSegmentBytes?: number;
}

/** Lets a segment close at the keyframe that lands just short of the target (frame timing jitter). */
const CUT_TOLERANCE = 0.05;
const DEFAULT_MAX_SEGMENT_BYTES = 256 * 1024 * 1024;

interface OpenSegment {
  startTicks: number;
  durationTicks: number;
  programDateTime: number;
  chunks: Chunk[];
  bytes: number;
}

export class Segmenter {
  private readonly targetDuration: number;
  private readonly now: () => number;
  private readonly maxSegmentBytes: number;
  private ftyp: Buffer | undefined;
  private initSegment: InitSegment | undefined;
  private pendingMoof: Buffer | undefined;
  private open: OpenSegment | undefined;
  /** End of the last chunk, in timing-track ticks; places chunks that lack timing-track samples. */
  private nextTicks: number | undefined;
  private readonly clock: PdtClock;

  constructor(opts: SegmenterOptions) {
    this.targetDuration = opts.targetDuration;
    this.now = opts.now ?? Date.now;
    this.maxSegmentBytes = opts.maxSegmentBytes ?? DEFAULT_MAX_SEGMENT_BYTES;
    this.clock = opts.clock ?? new PdtClock();
  }

  get init(): InitSegment | undefined {
    return this.initSegment;
  }

  /** Chunks of the segment still being built (the LL-HLS parts published so far). */
  get openChunks(): readonly Chunk[] {
    return this.open?.chunks ?? [];
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
        this.pendingMoof = box.data;
        return [];
      case "mdat": {
        if (!this.pendingMoof) throw new BoxError("mdat without moof (not fragmented MP4?)");
        const moof = this.pendingMoof;
        this.pendingMoof = undefined;
        return this.onChunk(moof, box.data);
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

  private onChunk(moof: Buffer, mdat: Buffer): SegmenterEvent[] {
    const init = this.initSegment!;
    const { timescale, trackId } = init.timingTrack;
    const arrivedAt = this.now();
    const frag = parseMoof(moof, init.info.tracks).find((t) => t.trackId === trackId);
    const timed = frag !== undefined && frag.sampleCount > 0;
    const startTicks = timed ? frag.baseMediaDecodeTime : this.nextTicks ?? 0;
    const durationTicks = timed ? frag.duration : 0;
    this.nextTicks = startTicks + durationTicks;

    if (timed) this.clock.observe(arrivedAt, startTicks / timescale, durationTicks / timescale);

    const chunk: Chunk = {
      startDts: startTicks / timescale,
      duration: durationTicks / timescale,
      independent: timed && frag.firstSampleIsSync,
      bytes: Buffer.concat([moof, mdat]),
      arrivedAt,
    };

    const open = this.open;
    const cut =
      chunk.independent && (!open || open.durationTicks / timescale >= this.targetDuration - CUT_TOLERANCE);
    if (!cut && !open) return []; // nothing decodable to attach it to yet
    // Checked before any state changes so a failure never loses an already closed segment.
    if ((cut ? 0 : open!.bytes) + chunk.bytes.length > this.maxSegmentBytes) {
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
        chunks: [],
        bytes: 0,
      };
    }
    const target = this.open!;
    target.chunks.push(chunk);
    target.durationTicks += durationTicks;
    target.bytes += chunk.bytes.length;
    events.push({ type: "chunk", chunk, partIndex: target.chunks.length - 1 });
    return events;
  }

  private close(): Segment | undefined {
    const open = this.open;
    if (!open) return undefined;
    this.open = undefined;
    const timescale = this.initSegment!.timingTrack.timescale;
    const bytes = Buffer.concat(open.chunks.map((c) => c.bytes), open.bytes);
    let offset = 0;
    const chunks = open.chunks.map((c): SegmentChunk => {
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
      chunks,
      bytes,
    };
  }
}
