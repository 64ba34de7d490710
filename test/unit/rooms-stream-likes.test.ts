/** Likes aggregated into one frame per window (workers/rooms/stream/likes.ts), on a fake room and clock. */
import { describe, expect, it } from "vitest";
import { Likes, LIKES_INTERVAL_MS, LIKES_TIMER } from "../../workers/rooms/stream/likes.js";
import { fakeRoom } from "../support/fake-stream-room.js";

describe("Likes", () => {
  it("the first like goes out at once; the rest of the window is one aggregated frame at its end", async () => {
    const { services, clock, frames, timers } = fakeRoom();
    const likes = new Likes(services);
    await likes.add(1);
    expect(frames).toEqual([{ type: "system", event: "like", count: 1, total: 1 }]);
    clock.advance(50);
    await likes.add(1);
    await likes.add(3);
    expect(frames).toHaveLength(1);
    expect(timers.get(LIKES_TIMER)).toBe(1_000_000 + LIKES_INTERVAL_MS);
    clock.advance(200);
    likes.onTimer();
    expect(frames.at(-1)).toEqual({ type: "system", event: "like", count: 4, total: 5 });
    expect(likes.total).toBe(5);
  });

  it("flush publishes what is pending (before stream_ended) and nothing when empty", async () => {
    const { services, clock, frames } = fakeRoom();
    const likes = new Likes(services);
    await likes.add(1);
    clock.advance(10);
    await likes.add(2);
    likes.flush();
    likes.flush();
    expect(frames).toEqual([
      { type: "system", event: "like", count: 1, total: 1 },
      { type: "system", event: "like", count: 2, total: 3 },
    ]);
  });
});
