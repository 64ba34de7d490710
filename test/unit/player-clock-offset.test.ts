/**
 * NTP-style server clock estimate (web/player/clock-offset.ts): the min-RTT
 * filter, sample expiry, the periodic sampler driven by a virtual clock, and
 * the time endpoint client against a real local HTTP server.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClockOffsetEstimator, ServerClock, timeEndpoint } from "../../web/player/clock-offset.js";
import { seededRandom } from "../../common/seeded-random.js";

describe("ClockOffsetEstimator", () => {
  it("offset = server − midpoint of the exchange; rtt = receive − send", () => {
    const e = new ClockOffsetEstimator();
    expect(e.estimate()).toBeNull();
    e.add({ sentAt: 1_000, serverTime: 5_050, receivedAt: 1_100 });
    expect(e.estimate()).toEqual({ offset: 4_000, rtt: 100, at: 1_100 });
  });

  it("keeps the sample with the smallest round trip (queueing only adds delay)", () => {
    const e = new ClockOffsetEstimator();
    const trueOffset = 10_000;
    // one-way delays (up, down): long and asymmetric exchanges skew the midpoint
    const exchanges: Array<[number, number]> = [
      [180, 20],
      [5, 300],
      [12, 9],
      [40, 40],
      [90, 2],
    ];
    let t = 50_000;
    for (const [up, down] of exchanges) {
      const sentAt = t;
      const serverTime = t + up + trueOffset;
      const receivedAt = t + up + down;
      e.add({ sentAt, serverTime, receivedAt });
      t += 1_000;
    }
    const best = e.estimate()!;
    expect(best.rtt).toBe(21);
    expect(best.offset).toBe(trueOffset + (12 - 9) / 2); // error (up − down)/2 ≤ rtt/2
    expect(Math.abs(best.offset - trueOffset)).toBeLessThanOrEqual(best.rtt / 2);
  });

  it("ignores impossible samples", () => {
    const e = new ClockOffsetEstimator();
    expect(e.add({ sentAt: 2_000, serverTime: 1, receivedAt: 1_999 })).toBe(false);
    expect(e.add({ sentAt: 0, serverTime: Number.NaN, receivedAt: 1 })).toBe(false);
    expect(e.size).toBe(0);
  });

  it("expires old samples (a drifting local clock is followed) and keeps at most maxSamples", () => {
    const e = new ClockOffsetEstimator({ maxAgeMs: 60_000, maxSamples: 3 });
    e.add({ sentAt: 0, serverTime: 1_000, receivedAt: 2 }); // best rtt, but old later
    e.add({ sentAt: 100_000, serverTime: 101_500, receivedAt: 100_010 });
    expect(e.estimate(50_000)!.rtt).toBe(2);
    expect(e.estimate(100_010)).toEqual({ offset: 1_495, rtt: 10, at: 100_010 });
    e.add({ sentAt: 100_100, serverTime: 0, receivedAt: 100_150 });
    e.add({ sentAt: 100_200, serverTime: 0, receivedAt: 100_260 });
    expect(e.size).toBe(3);
  });
});

describe("ServerClock", () => {
  /** A virtual local clock and a server `trueOffset` ms ahead, over a link with random one-way delays. */
  function link(trueOffset: number, seed: number) {
    const random = seededRandom(seed);
    let local = 1_000_000;
    let failNext = 0;
    const timers: Array<{ fn: () => void; ms: number }> = [];
    return {
      localNow: () => local,
      advance: (ms: number) => (local += ms),
      failNext: (n: number) => (failNext = n),
      timers,
      fetchServerTime: async () => {
        local += 2 + random() * 60; // request travels
        if (failNext > 0) {
          failNext--;
          throw new Error("network");
        }
        const server = local + trueOffset;
        local += 2 + random() * 60; // answer travels
        return server;
      },
      setTimer: (fn: () => void, ms: number) => timers.push({ fn, ms }),
    };
  }

  it("estimates the offset within rtt/2 from the initial burst, then re-samples on its period", async () => {
    const net = link(-7_345, 1);
    const clock = new ServerClock({ ...net, initialSamples: 5, resampleMs: 30_000, resampleCount: 3 });
    expect(clock.offset).toBeNull();
    expect(clock.now()).toBe(net.localNow()); // local time until a sample
    await clock.ready;
    await vitestSettle();
    expect(clock.estimator.size).toBe(5);
    const offset = clock.offset!;
    expect(Math.abs(offset - -7_345)).toBeLessThanOrEqual(clock.rtt! / 2);
    expect(clock.now()).toBeCloseTo(net.localNow() + offset, 6);
    expect(net.timers).toHaveLength(1);
    expect(net.timers[0]!.ms).toBe(30_000);
    net.advance(30_000);
    net.timers[0]!.fn();
    await vitestSettle();
    expect(clock.estimator.size).toBe(8);
    expect(net.timers).toHaveLength(2);
    clock.stop();
  });

  it("counts failures and retries soon while it has no sample", async () => {
    const net = link(500, 2);
    net.failNext(3);
    const clock = new ServerClock({ ...net, initialSamples: 3, resampleCount: 2 });
    await vitestSettle();
    expect(clock.errors).toBe(3);
    expect(clock.offset).toBeNull();
    expect(net.timers[0]!.ms).toBe(2_000);
    net.timers[0]!.fn();
    await clock.ready;
    await vitestSettle();
    expect(Math.abs(clock.offset! - 500)).toBeLessThanOrEqual(clock.rtt! / 2);
    clock.stop();
  });
});

describe("timeEndpoint", () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((request, response) => {
      response.setHeader("content-type", "application/json");
      if (request.url === "/api/time") response.end(JSON.stringify({ now: Date.now() }));
      else if (request.url === "/bad") response.end(JSON.stringify({ now: "soon" }));
      else {
        response.statusCode = 503;
        response.end("{}");
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("reads { now } and feeds a ServerClock whose offset to this host is ~0", async () => {
    const before = Date.now();
    const now = await timeEndpoint(`${url}/api/time`)();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
    const clock = new ServerClock({ fetchServerTime: timeEndpoint(`${url}/api/time`), localNow: Date.now, initialSamples: 4 });
    await clock.ready;
    expect(Math.abs(clock.offset!)).toBeLessThanOrEqual(clock.rtt! / 2 + 1); // +1: ms granularity
    clock.stop();
  });

  it("rejects an error status or a non-number", async () => {
    await expect(timeEndpoint(`${url}/nope`)()).rejects.toThrow(/503/);
    await expect(timeEndpoint(`${url}/bad`)()).rejects.toThrow(/number/);
  });
});

/** Lets the sampler's awaited promise chain run to completion. */
async function vitestSettle(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}
