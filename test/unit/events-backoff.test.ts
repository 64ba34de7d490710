/** Poll cadence and backoff of the event rooms (workers/events/backoff.ts). */
import { describe, expect, it } from "vitest";
import { nextPollAt, pollDelayMs } from "../../workers/events/backoff.js";

describe("poll cadence and backoff", () => {
  const cadence = { pollMs: 1_000, maxBackoffMs: 10_000 };
  it("1 s while healthy, exponential and capped while failing, slow while scheduled", () => {
    expect(pollDelayMs(cadence, 0, "in_progress")).toBe(1_000);
    expect([1, 2, 3, 4, 5, 20].map((n) => pollDelayMs(cadence, n, "in_progress"))).toEqual([2_000, 4_000, 8_000, 10_000, 10_000, 10_000]);
    expect(pollDelayMs(cadence, 0, "scheduled")).toBe(15_000);
    expect(pollDelayMs({ ...cadence, scheduledPollMs: 5_000 }, 0, "scheduled")).toBe(5_000);
    expect(pollDelayMs({ pollMs: 0, maxBackoffMs: 0 }, 3, null)).toBe(50);
  });
  it("counted from the poll's start, never in the past", () => {
    expect(nextPollAt(1_000, 1_000, 1_200)).toBe(2_000);
    expect(nextPollAt(1_000, 1_000, 2_500)).toBe(2_500);
  });
});
