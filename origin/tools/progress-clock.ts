/**
 * A publisher's clock from FFmpeg's `-progress pipe:1` reports. With -re, frame n
 * leaves the publisher at t0 + n / fps. A report `frame=n` says frames 0..n-1 had
 * all been sent when it arrived, so frame 0 left at most (n - 1) / fps before; a
 * report can only come late, never early, so the smallest estimate over the run
 * converges on t0 (within a frame or so).
 */
export class ProgressClock {
  /** Best estimate of the wall clock (ms) at which frame 0 left, once a report came. */
  t0: number | undefined;
  /** Frames sent at the last report. */
  frames = 0;
  private buffer = "";

  constructor(
    private readonly fps: number,
    /** every report with a frame count, with its arrival time */
    private readonly onReport?: (wall: number, frames: number) => void,
  ) {}

  /** Feeds a chunk of FFmpeg's progress output that arrived at `wall`. */
  feed(chunk: string, wall = Date.now()): void {
    this.buffer += chunk;
    let at: number;
    while ((at = this.buffer.indexOf("\n")) >= 0) {
      const line = this.buffer.slice(0, at).trim();
      this.buffer = this.buffer.slice(at + 1);
      const match = /^frame=(\d+)$/.exec(line);
      if (!match) continue;
      this.frames = Number(match[1]);
      if (this.frames < 1) continue;
      const estimate = wall - ((this.frames - 1) / this.fps) * 1000;
      this.t0 = this.t0 === undefined ? estimate : Math.min(this.t0, estimate);
      this.onReport?.(wall, this.frames);
    }
  }
}
