/**
 * The stream's one audio rendition, cut to the video's clock.
 *
 * FFmpeg writes the audio track on a pipe of its own in one-frame fragments
 * (every AAC frame is a sync sample). The packager re-fragments it: for each
 * part of the leading video rendition, covering [start, end), one audio part
 * holds the AAC frames whose decode time is in [start, end), i.e. every
 * boundary is cut at the first AAC frame at or after the video's boundary,
 * and an audio segment starts exactly where the video starts one. So the
 * audio playlist has the same media sequence numbers, the same number of
 * parts per segment and part durations within one AAC frame (21 ms) of the
 * video's; players switching video renditions keep the audio as it is.
 *
 * An audio part is published as soon as the frames received reach its end
 * (frames are contiguous, so none starting before the end can still come),
 * or at the end of the run; frames past the video's end are dropped, so a
 * run's audio and video end within one frame of each other.
 */
import { BoxError, type Box } from "./box-splitter.js";
import { writeFragment } from "./cmaf.js";
import { readFragmentSamples, type FragmentSample } from "./fragment.js";
import { PdtClock } from "./pdt-clock.js";
import { SegmentBuilder, type InitSegment, type Segment, type SegmenterEvent } from "./segment-builder.js";
import { singleTrackInit } from "./segmenter.js";

export interface AudioSegmenterOptions {
  now?: () => number;
  /** The run's clock, shared with the video renditions. */
  clock?: PdtClock;
  /** Seconds added to every decode time (timeline.ts). */
  decodeTimeOffset?: number;
}

interface Boundary {
  startTicks: number;
  endTicks: number;
  startsSegment: boolean;
}

/** Audio queued beyond this without a video part to cut it means the video stopped: the oldest is dropped. */
const MAX_QUEUED_SECONDS = 20;

export class AudioSegmenter {
  private readonly now: () => number;
  private readonly clock: PdtClock;
  private readonly decodeTimeOffset: number;
  private initSegment: InitSegment | undefined;
  private builder: SegmentBuilder | undefined;
  private pendingMoof: Buffer | undefined;
  private samples: FragmentSample[] = [];
  private boundaries: Boundary[] = [];
  /** Video boundaries come in seconds; until the init tells the timescale they wait here. */
  private early: { start: number; end: number; startsSegment: boolean }[] = [];
  /** A segment start whose part had no audio frame: the next part starts the segment instead. */
  private carrySegmentStart = false;
  private sequence = 1;

  constructor(opts: AudioSegmenterOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.clock = opts.clock ?? new PdtClock();
    this.decodeTimeOffset = opts.decodeTimeOffset ?? 0;
  }

  get init(): InitSegment | undefined {
    return this.initSegment;
  }

  push(box: Box): SegmenterEvent[] {
    switch (box.type) {
      case "moov": {
        if (this.initSegment) throw new BoxError("second moov in one run");
        const init = singleTrackInit(box.data);
        if (init.timingTrack.kind !== "audio") throw new BoxError(`the audio input carries a ${init.timingTrack.kind} track`);
        this.initSegment = init;
        this.builder = new SegmentBuilder(init.timingTrack.timescale, this.clock);
        const pending = this.early.splice(0);
        for (const b of pending) this.boundaries.push(this.toTicks(b.start, b.end, b.startsSegment));
        return [{ type: "init", init }, ...this.drain(false)];
      }
      case "moof":
        if (!this.initSegment) throw new BoxError("moof before moov");
        if (this.pendingMoof) throw new BoxError("moof not followed by mdat");
        this.pendingMoof = box.data;
        return [];
      case "mdat": {
        if (!this.pendingMoof || !this.initSegment) throw new BoxError("mdat without moof (not fragmented MP4?)");
        const { samples } = readFragmentSamples(this.pendingMoof, box.data, this.initSegment.info.tracks);
        this.pendingMoof = undefined;
        const offset = Math.round(this.decodeTimeOffset * this.initSegment.timingTrack.timescale);
        // copies: a sample must not pin FFmpeg's whole fragment buffer while it waits
        for (const s of samples) this.samples.push({ dts: s.dts + offset, duration: s.duration, data: Buffer.from(s.data) });
        this.bound();
        return this.drain(false);
      }
      default:
        return [];
    }
  }

  /** The leading video rendition completed a part covering [startDts, endDts) seconds. */
  followVideoPart(startDts: number, endDts: number, startsSegment: boolean): SegmenterEvent[] {
    if (!this.initSegment) {
      this.early.push({ start: startDts, end: endDts, startsSegment });
      return [];
    }
    this.boundaries.push(this.toTicks(startDts, endDts, startsSegment));
    return this.drain(false);
  }

  /** End of the run: the parts the video still waits for get what audio there is; the open segment closes. */
  flush(): { events: SegmenterEvent[]; segment: Segment | undefined } {
    this.pendingMoof = undefined;
    const events = this.initSegment ? this.drain(true) : [];
    this.samples = [];
    this.boundaries = [];
    return { events, segment: this.builder?.close() };
  }

  private toTicks(start: number, end: number, startsSegment: boolean): Boundary {
    const timescale = this.initSegment!.timingTrack.timescale;
    return { startTicks: Math.round(start * timescale), endTicks: Math.round(end * timescale), startsSegment };
  }

  private drain(final: boolean): SegmenterEvent[] {
    const events: SegmenterEvent[] = [];
    const init = this.initSegment!;
    const { timescale, trackId } = init.timingTrack;
    for (;;) {
      const boundary = this.boundaries[0];
      if (!boundary) break;
      const last = this.samples.at(-1);
      if (!final && (!last || last.dts + last.duration < boundary.endTicks)) break;
      this.boundaries.shift();
      // frames before the part (audio that started before the video) belong to no part
      while (this.samples[0] && this.samples[0].dts < boundary.startTicks) this.samples.shift();
      let n = 0;
      while (n < this.samples.length && this.samples[n]!.dts < boundary.endTicks) n++;
      const taken = this.samples.splice(0, n);
      const first = taken[0];
      const startsSegment = boundary.startsSegment || this.carrySegmentStart;
      if (!first) {
        this.carrySegmentStart = startsSegment;
        continue;
      }
      this.carrySegmentStart = false;
      const durationTicks = taken.reduce((sum, s) => sum + s.duration, 0);
      const arrivedAt = this.now();
      this.clock.observe(arrivedAt, first.dts / timescale, durationTicks / timescale);
      const fragment = writeFragment(this.sequence++, trackId, first.dts, taken);
      events.push(...this.builder!.add(fragment, { startTicks: first.dts, durationTicks, independent: true, arrivedAt }, startsSegment));
    }
    return events;
  }

  private bound(): void {
    const timescale = this.initSegment!.timingTrack.timescale;
    const last = this.samples.at(-1);
    if (!last) return;
    while (this.samples[0] && last.dts - this.samples[0].dts > MAX_QUEUED_SECONDS * timescale) this.samples.shift();
  }
}
