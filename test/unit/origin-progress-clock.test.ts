import { describe, expect, it } from "vitest";
import { ProgressClock } from "../../origin/tools/progress-clock.js";

describe("ProgressClock (FFmpeg -progress as the publisher's clock)", () => {
  it("takes the earliest estimate of frame 0 over reports split across chunks, ignoring other keys and frame=0", () => {
    const reports: Array<[number, number]> = [];
    const clock = new ProgressClock(30, (wall, frames) => reports.push([wall, frames]));
    clock.feed("frame=0\nfps=0.0\n", 1_000);
    expect(clock.t0).toBeUndefined();
    clock.feed("frame=31\nfps=30", 2_100); // 30 frames after frame 0: frame 0 left at most 1,000 ms before
    clock.feed(".0\nframe=6", 2_500);
    clock.feed("1\n", 3_200); // a late report: its estimate (1,200) loses to the earlier one
    expect(clock.t0).toBe(1_100);
    expect(clock.frames).toBe(61);
    expect(reports).toEqual([
      [2_100, 31],
      [3_200, 61],
    ]);
  });
});
