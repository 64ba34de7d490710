import { describe, expect, it } from "vitest";
import { chainStarts, playheadAt } from "../../bench/lib/playhead.js";
import { median, percentile, spread, summarize } from "../../bench/lib/stats.js";
import { seededRandom } from "../../bench/phases/sync.js";

describe("bench percentiles", () => {
  it("interpolates between closest ranks (R-7)", () => {
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(percentile([10, 20, 30, 40, 50], 0.95)).toBeCloseTo(48);
    expect(percentile([4, 1, 3, 2], 0)).toBe(1);
    expect(percentile([4, 1, 3, 2], 1)).toBe(4);
    expect(percentile([7], 0.99)).toBe(7);
  });

  it("returns null for no values and ignores non-finite ones", () => {
    expect(percentile([], 0.5)).toBeNull();
    expect(median([NaN, Infinity, 3, 1])).toBe(2);
  });

  it("refuses a quantile outside [0, 1]", () => {
    expect(() => percentile([1], 1.5)).toThrow(/quantile/);
    expect(() => percentile([1], -0.1)).toThrow(/quantile/);
  });

  it("summarizes and measures spread", () => {
    const s = summarize([3, 1, 2, 5, 4]);
    expect(s).toMatchObject({ n: 5, min: 1, max: 5, mean: 3, p50: 3 });
    expect(spread([3, 9, 4])).toBe(6);
    expect(spread([3])).toBeNull();
  });
});

describe("simulated viewer playhead", () => {
  const durations = { 10: 2, 11: 2, 12: 2, 13: 2, 14: 2 };
  const starts = chainStarts(durations);

  it("chains segment start times from EXTINF durations, filling gaps with the typical duration", () => {
    expect([...starts]).toEqual([
      [10, 0],
      [11, 2],
      [12, 4],
      [13, 6],
      [14, 8],
    ]);
    expect([...chainStarts({ 1: 2, 2: 1.5, 5: 2 })]).toEqual([
      [1, 0],
      [2, 2],
      [5, 7.5],
    ]);
  });

  it("plays at 1x from the first segment's arrival", () => {
    const played = [
      { msn: 10, duration: 2, loadedAt: 1_000 },
      { msn: 11, duration: 2, loadedAt: 1_100 },
      { msn: 12, duration: 2, loadedAt: 1_200 },
    ];
    expect(playheadAt(played, starts, 500)).toBeNull();
    expect(playheadAt(played, starts, 1_000)).toBe(0);
    expect(playheadAt(played, starts, 3_500)).toBeCloseTo(2.5);
    // After the buffer runs out it stays at the end of the last segment.
    expect(playheadAt(played, starts, 60_000)).toBe(6);
  });

  it("stalls while the next segment has not arrived, then resumes", () => {
    const played = [
      { msn: 10, duration: 2, loadedAt: 0 },
      { msn: 11, duration: 2, loadedAt: 3_000 },
    ];
    expect(playheadAt(played, starts, 2_500)).toBe(2); // waiting for 11
    expect(playheadAt(played, starts, 4_000)).toBeCloseTo(3);
  });

  it("jumps over skipped segments", () => {
    const played = [
      { msn: 10, duration: 2, loadedAt: 0 },
      { msn: 13, duration: 2, loadedAt: 100 },
    ];
    expect(playheadAt(played, starts, 2_500)).toBeCloseTo(6.5);
  });

  it("gives both systems the same join schedule", () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const xs = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs);
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
  });
});
