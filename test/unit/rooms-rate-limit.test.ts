/** Token buckets, the flood guard and the throttle of the rooms (workers/rooms/rate-limit.ts). */
import { describe, expect, it } from "vitest";
import { FloodGuard, Throttle, TokenBucket } from "../../workers/rooms/rate-limit.js";

describe("token bucket (chat 5/s, burst 10)", () => {
  it("allows the burst, then refills at the rate", () => {
    const bucket = new TokenBucket(5, 10, 0);
    const first = Array.from({ length: 12 }, () => bucket.take(0));
    expect(first.filter(Boolean)).toHaveLength(10);
    expect(bucket.take(100)).toBe(false); // 0.5 token
    expect(bucket.take(200)).toBe(true); // 1 token after 200 ms
    expect(bucket.take(200)).toBe(false);
    // never more than the burst, however long the pause
    expect(bucket.available(60_000)).toBe(10);
  });

  it("sustains exactly the rate over time", () => {
    const bucket = new TokenBucket(5, 10, 0);
    let accepted = 0;
    for (let t = 0; t <= 10_000; t += 10) if (bucket.take(t)) accepted++;
    // burst + 5/s × 10 s
    expect(accepted).toBeGreaterThanOrEqual(59);
    expect(accepted).toBeLessThanOrEqual(61);
  });
});

describe("flood guard (> 50 frames in 1 s)", () => {
  it("50 frames in a second are fine, the 51st is a flood", () => {
    const guard = new FloodGuard(50, 1_000);
    for (let i = 0; i < 50; i++) expect(guard.hit(i * 10)).toBe(false);
    expect(guard.hit(600)).toBe(true);
  });

  it("a steady 40/s never floods", () => {
    const guard = new FloodGuard(50, 1_000);
    for (let i = 0; i < 400; i++) expect(guard.hit(i * 25)).toBe(false);
  });

  it("the window slides", () => {
    const guard = new FloodGuard(50, 1_000);
    for (let i = 0; i < 50; i++) guard.hit(0);
    expect(guard.hit(1_000)).toBe(false); // the 50 at t=0 are exactly 1 s old
  });
});

describe("throttle (≤ 4/s)", () => {
  it("fires at once, then defers to the end of the window, one pending at a time", () => {
    const t = new Throttle(250);
    expect(t.request(0)).toEqual({ now: true });
    expect(t.request(10)).toEqual({ now: false, at: 250, alreadyPending: false });
    expect(t.request(20)).toEqual({ now: false, at: 250, alreadyPending: true });
    t.fired(250);
    expect(t.request(300)).toEqual({ now: false, at: 500, alreadyPending: false });
    t.cancel();
    expect(t.request(600)).toEqual({ now: true });
  });

  it("never more than one firing per interval", () => {
    const t = new Throttle(250);
    const firings: number[] = [];
    let pendingAt: number | null = null;
    for (let now = 0; now < 2_000; now += 7) {
      if (pendingAt !== null && now >= pendingAt) {
        t.fired(now);
        firings.push(now);
        pendingAt = null;
      }
      const d = t.request(now);
      if (d.now) firings.push(now);
      else pendingAt = d.at;
    }
    for (let i = 1; i < firings.length; i++) expect(firings[i]! - firings[i - 1]!).toBeGreaterThanOrEqual(250);
    expect(firings.length).toBeLessThanOrEqual(9);
  });
});
