/**
 * StreamRoom components driven without a Durable Object: an in-memory meta
 * store, a recorder for log frames, a fake timer and a hand-moved clock.
 */
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../workers/rooms/clock.js";
import type { StreamLogFrame } from "../../workers/rooms/frames.js";
import { Audience } from "../../workers/rooms/stream/audience.js";
import { Likes, LIKES_INTERVAL_MS, LIKES_TIMER } from "../../workers/rooms/stream/likes.js";
import { ADDRESS_BURST, RateLimits, type Sender } from "../../workers/rooms/stream/limits.js";
import { Presence, PRESENCE_INTERVAL_MS, PRESENCE_TIMER } from "../../workers/rooms/stream/presence.js";
import { KeyedBuckets } from "../../workers/rooms/rate-limit.js";
import type { StreamRoomServices } from "../../workers/rooms/stream/services.js";

function fakeRoom(clock = new ManualClock(1_000_000)) {
  const values = new Map<string, unknown>();
  const frames: StreamLogFrame[] = [];
  const timers = new Map<string, number>();
  const services: StreamRoomServices = {
    meta: {
      get: <T>(key: string) => values.get(key) as T | undefined,
      set: (key: string, value: unknown) => void values.set(key, value),
    },
    clock,
    record: (frame) => {
      frames.push(frame);
      return { seq: frames.length, ts: clock.now(), type: frame.type, text: JSON.stringify(frame) };
    },
    schedule: async (name, at) => void timers.set(name, at),
    cancel: async (name) => void timers.delete(name),
  };
  return { services, clock, frames, timers };
}

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

describe("RateLimits", () => {
  const who = (userId: string, anon: boolean, address: string | null = null): Sender => ({ userId, anon, address });
  const takes = (limit: { take(now: number): boolean }, n: number, now: number) =>
    Array.from({ length: n }, () => limit.take(now)).filter(Boolean).length;

  it("chat is limited per user: sockets and reconnects share one bucket", () => {
    const limits = new RateLimits();
    const t = 1_000;
    expect(takes(limits.of("s1", who("u1", false)).chat, 8, t)).toBe(8);
    expect(takes(limits.of("s2", who("u1", false)).chat, 8, t)).toBe(2);
    limits.forget("s1");
    limits.forget("s2");
    expect(takes(limits.of("s3", who("u1", false)).chat, 8, t + 100)).toBe(0);
    // 5/s: one token per 200 ms
    expect(takes(limits.of("s3", who("u1", false)).chat, 8, t + 400)).toBe(2);
    expect(takes(limits.of("s4", who("u2", false)).chat, 8, t)).toBe(8);
  });

  it("anonymous users also share their address's bucket; registered users do not", () => {
    const limits = new RateLimits();
    const t = 1_000;
    let accepted = 0;
    for (let i = 0; i < 5; i++) accepted += takes(limits.of(`s${i}`, who(`anon_${i}`, true, "a".repeat(64))).chat, 10, t);
    expect(accepted).toBe(ADDRESS_BURST);
    expect(takes(limits.of("r", who("reg", false, "a".repeat(64))).chat, 10, t)).toBe(10);
    expect(takes(limits.of("o", who("anon_other", true, "b".repeat(64))).chat, 10, t)).toBe(10);
    // unknown address: per user only
    expect(takes(limits.of("n", who("anon_n", true, null)).chat, 10, t)).toBe(10);
  });

  it("a refused action takes no token from any bucket", () => {
    const limits = new RateLimits();
    const t = 1_000;
    const address = "c".repeat(64);
    expect(takes(limits.of("a", who("anon_a", true, address)).chat, 10, t)).toBe(10);
    // anon_a is out of tokens; its refused attempts must not drain the address bucket
    expect(takes(limits.of("a", who("anon_a", true, address)).chat, 50, t)).toBe(0);
    expect(takes(limits.of("b", who("anon_b", true, address)).chat, 20, t)).toBe(ADDRESS_BURST - 10);
  });

  it("buckets that refilled are forgotten", () => {
    const buckets = new KeyedBuckets(5, 10, 1_000);
    for (let i = 0; i < 100; i++) buckets.get(`u${i}`, 0).take(0);
    expect(buckets.size).toBe(100);
    buckets.get("late", 1_000);
    expect(buckets.size).toBe(1);
  });
});

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
