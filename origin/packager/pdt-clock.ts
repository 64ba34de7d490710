/**
 * Maps a run's media decode times to wall-clock program-date-time.
 *
 * One clock is shared by every rendition of a run: they come from the same
 * FFmpeg process, so their decode times share a timeline, and sharing the
 * anchor gives aligned segments identical PDTs (players switching or syncing
 * by PDT see no jump). The anchor is the first chunk to arrive, back-dated by
 * its duration because its first sample was captured that long before the
 * chunk was complete.
 */
export class PdtClock {
  private anchor: { wall: number; dts: number } | undefined;

  /**
   * @param floorMs earliest allowed anchor: the previous run's end, so PDT
   * never runs backwards across a reconnect even if that run's media got
   * ahead of the wall clock (e.g. an encoder catching up on a burst).
   */
  constructor(private readonly floorMs = -Infinity) {}

  get anchored(): boolean {
    return this.anchor !== undefined;
  }

  /** Offers a chunk as the anchor; only the first one counts. Times in seconds, wall in ms. */
  observe(arrivedAt: number, startDts: number, duration: number): void {
    if (this.anchor) return;
    this.anchor = { wall: Math.max(arrivedAt - duration * 1000, this.floorMs), dts: startDts };
  }

  /** PDT (ms since the Unix epoch, rounded) of decode time `dts` seconds. */
  at(dts: number): number {
    if (!this.anchor) throw new Error("PdtClock used before its first chunk");
    return Math.round(this.anchor.wall + (dts - this.anchor.dts) * 1000);
  }
}
