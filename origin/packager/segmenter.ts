/**
 * Turns one video rendition's top-level boxes, from one FFmpeg run, into a
 * CMAF header, parts and media segments.
 *
 * A part is one moof+mdat pair as FFmpeg writes it (FFmpeg calls it a
 * fragment; `-frag_duration` sets its length): the LL-HLS partial segment,
 * published the moment it is complete. Segments are whole runs of parts,
 * only ever cut in front of an independent part, so every segment starts
 * with a sync sample; part boundaries are kept inside each segment. Every
 * input carries exactly one track (CMAF: one track per file).
 */
import { BoxError, type Box } from "./box-splitter.js";
import { cmafInit } from "./cmaf.js";
import { parseMoof } from "./fragment.js";
import { parseInit } from "./init-info.js";
import { PdtClock } from "./pdt-clock.js";
import {
  DEFAULT_MAX_SEGMENT_BYTES,
  SegmentBuilder,
  type InitSegment,
  type Part,
  type Segment,
  type SegmenterEvent,
} from "./segment-builder.js";
import { shiftDecodeTimes } from "./timeline.js";

export type { InitSegment, Part, Segment, SegmentPart, SegmenterEvent } from "./segment-builder.js";

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

/** The init of a one-track input, as a CMAF header; anything else is refused. */
export function singleTrackInit(moov: Buffer): InitSegment {
  const info = parseInit(moov);
  const track = info.tracks[0];
  if (!track || info.tracks.length !== 1) {
    throw new BoxError(`expected one track per input (CMAF), found ${info.tracks.length}`);
  }
  return { bytes: cmafInit(moov, track), info, timingTrack: track };
}

export class Segmenter {
  private readonly targetDuration: number;
  private readonly now: () => number;
  private readonly maxSegmentBytes: number;
  private readonly decodeTimeOffset: number;
  private initSegment: InitSegment | undefined;
  private builder: SegmentBuilder | undefined;
  private pendingMoof: Buffer | undefined;
  /** End of the last part, in track ticks; places parts without samples. */
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
    return this.builder?.openParts ?? [];
  }

  push(box: Box): SegmenterEvent[] {
    switch (box.type) {
      case "moov": {
        if (this.initSegment) throw new BoxError("second moov in one run");
        this.initSegment = singleTrackInit(box.data);
        this.builder = new SegmentBuilder(this.initSegment.timingTrack.timescale, this.clock, this.maxSegmentBytes);
        return [{ type: "init", init: this.initSegment }];
      }
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
        // ftyp (ours replaces it), free/skip/mfra/sidx/styp/prft etc.: nothing a client of our segments needs.
        return [];
    }
  }

  /** Closes the open segment (end of input). A moof still waiting for its mdat is dropped. */
  flush(): Segment | undefined {
    this.pendingMoof = undefined;
    return this.builder?.close();
  }

  private onPart(moof: Buffer, mdat: Buffer): SegmenterEvent[] {
    const init = this.initSegment!;
    const builder = this.builder!;
    const { timescale, trackId } = init.timingTrack;
    const arrivedAt = this.now();
    const frag = parseMoof(moof, init.info.tracks).find((t) => t.trackId === trackId);
    const timed = frag !== undefined && frag.sampleCount > 0;
    const startTicks = timed ? frag.baseMediaDecodeTime : (this.nextTicks ?? 0);
    const durationTicks = timed ? frag.duration : 0;
    this.nextTicks = startTicks + durationTicks;
    if (timed) this.clock.observe(arrivedAt, startTicks / timescale, durationTicks / timescale);
    const independent = timed && frag.firstSampleIsSync;
    const cut = independent && (!builder.isOpen || builder.openDuration >= this.targetDuration - CUT_TOLERANCE);
    return builder.add(Buffer.concat([moof, mdat]), { startTicks, durationTicks, independent, arrivedAt }, cut);
  }
}
