/**
 * Maps a run's media decode times to wall-clock program-date-time.
 *
 * One clock is shared by every rendition of a run: they come from the same
 * FFmpeg process, so their decode times share a timeline, and sharing the
 * anchor gives aligned segments identical PDTs (players switching or syncing
 * by PDT see no jump).
 *
 * The anchor is when the media arrived at ingest (`ingestStart`: wall clock
 * of output decode time 0, from the FLV timestamps, see
 * origin/ingest/flv-clock.ts), so PDT does not include transcoder start-up
 * or the transcoder's buffering. Without it (a packager fed directly, as in
 * tests) the first chunk to arrive is the anchor, back-dated by its duration.
 */
export interface PdtClockOptions {
  /**
   * Earliest allowed anchor: the previous run's end, so PDT never runs
   * backwards across a reconnect even if that run's media got ahead of the
   * wall clock (e.g. an encoder catching up on a burst).
   */
  floorMs?: number;
  /** Wall clock (ms) of the run's first input timestamp as observed at ingest, once known. */
  ingestStart?: () => number | undefined;
  /** Decode time (s) at which the run's output starts: its offset on the stream's timeline. */
  runStartDts?: number;
}

export class PdtClock {
  private anchor: { wall: number; dts: number } | undefined;
  private readonly floorMs: number;
  private readonly ingestStart: (() => number | undefined) | undefined;
  private readonly runStartDts: number;

  constructor(options: PdtClockOptions = {}) {
    this.floorMs = options.floorMs ?? -Infinity;
    this.ingestStart = options.ingestStart;
    this.runStartDts = options.runStartDts ?? 0;
  }

  get anchored(): boolean {
    return this.anchor !== undefined;
  }

  /** Offers a chunk as the anchor; only the first one counts. Times in seconds, wall in ms. */
  observe(arrivedAt: number, startDts: number, duration: number): void {
    if (this.anchor) return;
    // Media cannot have been captured after its chunk was complete: this
    // bounds a publisher whose timestamps run ahead of real time.
    const latest = arrivedAt - duration * 1000;
    const ingest = this.ingestStart?.();
    const wall = ingest === undefined ? latest : Math.min(ingest + (startDts - this.runStartDts) * 1000, latest);
    this.anchor = { wall: Math.max(wall, this.floorMs), dts: startDts };
  }

  /** PDT (ms since the Unix epoch, rounded) of decode time `dts` seconds. */
  at(dts: number): number {
    if (!this.anchor) throw new Error("PdtClock used before its first chunk");
    return Math.round(this.anchor.wall + (dts - this.anchor.dts) * 1000);
  }
}
