/** Presence frames coalesced per window (workers/rooms/stream/presence.ts), on a fake room and clock. */
import { describe, expect, it } from "vitest";
import { Presence, PRESENCE_INTERVAL_MS, PRESENCE_TIMER } from "../../workers/rooms/stream/presence.js";
import { fakeRoom } from "../support/fake-stream-room.js";

describe("Presence", () => {
  const user = (id: string) => ({ id, role: "anonymous" as const, anon: true });

  it("a lone join goes out at once with who joined; a burst is one frame with counts at the window's end", async () => {
    const { services, clock, frames, timers } = fakeRoom();
    let sockets = 1;
    const presence = new Presence(
      services,
      () => sockets,
      () => false,
    );
    await presence.join(user("a"));
    expect(frames).toEqual([{ type: "system", event: "member_added", viewerCount: 1, user: user("a") }]);
    for (let i = 0; i < 50; i++) {
      sockets++;
      await presence.join(user(`b${i}`));
    }
    for (let i = 0; i < 20; i++) {
      sockets--;
      await presence.leave(user(`b${i}`));
    }
    expect(frames).toHaveLength(1);
    expect(timers.get(PRESENCE_TIMER)).toBe(1_000_000 + PRESENCE_INTERVAL_MS);
    clock.advance(PRESENCE_INTERVAL_MS);
    presence.onTimer();
    expect(frames.at(-1)).toEqual({ type: "system", event: "member_added", viewerCount: 31, joined: 50, left: 20 });
  });

  it("nothing goes out when the count is back where it was, or once the stream has ended", async () => {
    const { services, clock, frames } = fakeRoom();
    let sockets = 1;
    let ended = false;
    const presence = new Presence(
      services,
      () => sockets,
      () => ended,
    );
    await presence.join(user("a"));
    sockets = 2;
    await presence.join(user("b"));
    sockets = 1;
    await presence.leave(user("b"));
    clock.advance(PRESENCE_INTERVAL_MS);
    presence.onTimer();
    expect(frames).toHaveLength(1);
    clock.advance(1_000);
    ended = true;
    sockets = 0;
    await presence.leave(user("a"));
    expect(frames).toHaveLength(1);
  });
});
