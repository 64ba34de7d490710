/**
 * A player's playhead without a decoder, on program time (ms, the stream's
 * EXT-X-PROGRAM-DATE-TIME domain). Pure: the caller passes the wall clock.
 *
 * - Media arrives as program-time ranges (a part or a segment each); ranges
 *   that touch (within `gapToleranceMs`, PDT jitter) merge into one buffer.
 * - The playhead starts at a chosen program time once media covers it, then
 *   moves at `rate` while the buffer ahead lasts; at the end of the buffer it
 *   stalls (counted) and resumes as soon as media covering it arrives.
 * - A seek moves it anywhere; it plays from there once media covers it.
 * - A playhead stuck in a hole (no range holds it, one starts a little
 *   later) jumps the hole like a player's gap controller.
 *
 * The simulated viewer drives it (advance on every tick and before every
 * arrival) and, with sync on, feeds it to web/player/sync-controller.ts.
 */

export interface ModelPlayheadOptions {
  /** Ranges this close merge (ms); default 100 (PDT of consecutive parts can jitter by a few ms). */
  gapToleranceMs?: number;
  /** A hole in the buffer up to this long is jumped (ms); default 1000. */
  maxGapJumpMs?: number;
}

export class ModelPlayhead {
  /** Merged, sorted [start, end) program-time ranges (ms). */
  private ranges: Array<[number, number]> = [];
  private pos: number | null = null;
  private lastWall: number | null = null;
  private isPlaying = false;
  /** Waiting for media after running out of it (not after a start or a seek). */
  private inStall = false;
  private readonly gap: number;
  private readonly maxJump: number;
  rate = 1;
  /** Times the playhead ran out of media after it had started. */
  stalls = 0;
  /** Wall time (ms) spent stalled after the start, including a stall still going on at the last advance. */
  stalledMs = 0;
  /** Wall clock (ms) of the first frame played, null before. */
  startedAt: number | null = null;
  seeks = 0;

  constructor(options: ModelPlayheadOptions = {}) {
    this.gap = options.gapToleranceMs ?? 100;
    this.maxJump = options.maxGapJumpMs ?? 1000;
  }

  /** Program time at the playhead (ms), null before `start`. */
  get position(): number | null {
    return this.pos;
  }

  get playing(): boolean {
    return this.isPlaying;
  }

  get buffered(): ReadonlyArray<readonly [number, number]> {
    return this.ranges;
  }

  /** Puts the playhead at `programTime`; it plays from there once media covers it. */
  start(programTime: number, wall: number): void {
    this.pos = programTime;
    this.lastWall = wall;
    this.isPlaying = false;
    this.tryResume(wall);
  }

  /** Moves the playhead to `programTime` (a player's seek). */
  seek(programTime: number, wall: number): void {
    this.advance(wall);
    this.seeks++;
    this.pos = programTime;
    this.isPlaying = false;
    this.inStall = false;
    this.tryResume(wall);
  }

  /** Media [start, end) (program ms) has arrived at `wall`. */
  addMedia(start: number, end: number, wall: number): void {
    if (!(end > start)) return;
    this.advance(wall);
    this.insert(start, end);
    if (!this.isPlaying) this.tryResume(wall);
  }

  /** Brings the playhead to wall time `wall`. */
  advance(wall: number): void {
    if (this.pos === null || this.lastWall === null) {
      this.lastWall = wall;
      return;
    }
    const dt = Math.max(0, wall - this.lastWall);
    this.lastWall = wall;
    if (!this.isPlaying) {
      if (this.inStall) this.stalledMs += dt;
      this.tryResume(wall);
      return;
    }
    const end = this.contiguousEnd(this.pos);
    const next = this.pos + dt * this.rate;
    if (end === null || next >= end) {
      // Ran out of media part-way through dt: stalled since then.
      const playedMs = end === null ? 0 : Math.max(0, (end - this.pos) / this.rate);
      this.pos = end ?? this.pos;
      this.isPlaying = false;
      this.stalls++;
      this.inStall = true;
      this.stalledMs += Math.max(0, dt - playedMs);
      this.tryResume(wall);
      return;
    }
    this.pos = next;
  }

  /** Seconds of media contiguous ahead of the playhead. */
  bufferedAhead(): number {
    if (this.pos === null) return 0;
    const end = this.contiguousEnd(this.pos);
    return end === null ? 0 : Math.max(0, (end - this.pos) / 1000);
  }

  /** Whether program time `t` is in the buffer. */
  covers(t: number): boolean {
    return this.contiguousEnd(t) !== null;
  }

  /** Program time at wall time `wall` if nothing changes (1x extrapolation at the current rate while playing). */
  positionAt(wall: number): number | null {
    if (this.pos === null || this.lastWall === null) return null;
    if (!this.isPlaying) return this.pos;
    const end = this.contiguousEnd(this.pos) ?? this.pos;
    return Math.min(end, this.pos + Math.max(0, wall - this.lastWall) * this.rate);
  }

  /** End of the buffered range holding `t`, or null when no range holds it. */
  private contiguousEnd(t: number): number | null {
    for (const [s, e] of this.ranges) {
      if (s <= t + 0.5 && t < e) return e;
    }
    return null;
  }

  private tryResume(wall: number): boolean {
    if (this.pos === null) return false;
    if (this.contiguousEnd(this.pos) === null) {
      // In a hole just before a range (discontinuity, PDT jitter): jump it.
      const next = this.ranges.find(([s]) => s > this.pos!);
      if (!next || next[0] - this.pos > this.maxJump) return false;
      this.pos = next[0];
    }
    this.isPlaying = true;
    if (this.startedAt === null) this.startedAt = wall;
    this.inStall = false;
    return true;
  }

  private insert(start: number, end: number): void {
    const ranges = this.ranges;
    ranges.push([start, end]);
    ranges.sort((a, b) => a[0] - b[0]);
    const merged: Array<[number, number]> = [];
    for (const r of ranges) {
      const last = merged.at(-1);
      if (last && r[0] <= last[1] + this.gap) last[1] = Math.max(last[1], r[1]);
      else merged.push([r[0], r[1]]);
    }
    this.ranges = merged;
  }
}
