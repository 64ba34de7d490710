/** Audience statistics of a stream room (workers/rooms/stream/audience.ts), on a fake room and clock. */
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../workers/rooms/clock.js";
import { Audience } from "../../workers/rooms/stream/audience.js";
import { fakeRoom } from "../support/fake-stream-room.js";

describe("Audience", () => {
  it("peak, joins, leaves and the time-weighted average between start and end", () => {
    const { services, clock } = fakeRoom(new ManualClock(0));
    const audience = new Audience(services);
    const air = { startedAt: 1_000, endedAt: null as number | null };
    clock.advance(500);
    audience.joined(1, air); // before the start: not counted
    clock.advance(1_500); // t = 2000
    audience.joined(2, air);
    clock.advance(2_000); // t = 4000
    audience.left(1, air);
    clock.advance(1_000); // t = 5000
    const stats = audience.final(1, { startedAt: 1_000, endedAt: 5_000 });
    // 1 viewer for 1000..2000, 2 for 2000..4000, 1 for 4000..5000 → 6000 viewer-ms over 4000 ms
    expect(stats).toEqual({ startedAt: 1_000, endedAt: 5_000, durationMs: 4_000, peakViewers: 2, avgViewers: 1.5, joins: 2, leaves: 1 });
  });
});
