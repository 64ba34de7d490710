/** Per-user and per-address rate limits of a stream room (workers/rooms/stream/limits.ts). */
import { describe, expect, it } from "vitest";
import { ADDRESS_BURST, RateLimits, type Sender } from "../../workers/rooms/stream/limits.js";
import { KeyedBuckets } from "../../workers/rooms/rate-limit.js";

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
