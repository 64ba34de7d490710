import { describe, expect, it } from "vitest";
import { nextPollAt, pollDelayMs } from "../../workers/events/backoff.js";
import { applyEventChanges, deepEqual, diffEvents } from "../../workers/events/diff.js";
import { JsonFeedProvider, parseFeedEvent, parseFeedList } from "../../workers/events/json-feed-provider.js";
import { ProviderError } from "../../workers/events/provider.js";
import type { StandardEvent } from "../../workers/events/standard-event.js";

const base: StandardEvent = {
  eventId: "g1",
  provider: "json-feed",
  sport: "basketball",
  status: "in_progress",
  startTime: "2026-01-01T20:00:00.000Z",
  home: { name: "Herons", abbr: "HCH", score: 10 },
  away: { name: "Peaks", abbr: "SUM", score: 8 },
  period: 2,
  clock: "07:30",
  details: { possession: "HCH", fouls: { HCH: 3, SUM: 4 } },
};

describe("event diff", () => {
  it("nothing changed → null", () => {
    expect(diffEvents(base, structuredClone(base))).toBeNull();
  });

  it("only what changed, nested objects as partial objects", () => {
    const next = structuredClone(base);
    next.home.score = 12;
    next.clock = "07:12";
    expect(diffEvents(base, next)).toEqual({ home: { score: 12 }, clock: "07:12" });
  });

  it("details: changed and removed keys (removed → null)", () => {
    const next = structuredClone(base);
    next.details = { fouls: { HCH: 3, SUM: 5 }, timeouts: 2 };
    expect(diffEvents(base, next)).toEqual({ details: { possession: null, fouls: { SUM: 5 }, timeouts: 2 } });
  });

  it("status, period type change, arrays replaced whole", () => {
    const a = { ...structuredClone(base), details: { lineup: [1, 2, 3] } };
    const b = { ...structuredClone(base), status: "final" as const, period: "OT", details: { lineup: [1, 2, 4] } };
    expect(diffEvents(a, b)).toEqual({ status: "final", period: "OT", details: { lineup: [1, 2, 4] } });
  });

  it("from nothing: the whole event", () => {
    expect(diffEvents(null, base)).toEqual(base);
  });

  it("apply(prev, diff(prev, next)) == next, over a sequence of random edits", () => {
    let prev = structuredClone(base);
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 200; i++) {
      const next = structuredClone(prev);
      if (rnd() < 0.5) next.home.score += 1 + Math.floor(rnd() * 3);
      if (rnd() < 0.3) next.away.score += 2;
      if (rnd() < 0.9) next.clock = `0${Math.floor(rnd() * 9)}:${String(Math.floor(rnd() * 60)).padStart(2, "0")}`;
      if (rnd() < 0.2) next.details = { ...next.details, possession: rnd() < 0.5 ? "HCH" : "SUM" };
      if (rnd() < 0.05) next.period = (next.period as number) + 1;
      const changes = diffEvents(prev, next);
      if (changes === null) {
        expect(deepEqual(prev, next)).toBe(true);
      } else {
        expect(applyEventChanges(prev, changes)).toEqual(next);
        // never more than what changed
        expect(Object.keys(changes).every((k) => !deepEqual((prev as Record<string, unknown>)[k], (next as Record<string, unknown>)[k]))).toBe(true);
      }
      prev = next;
    }
  });
});

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

describe("generic JSON feed adapter", () => {
  const feed = {
    id: "g1",
    sport: "basketball",
    status: "in_progress",
    startTime: "2026-01-01T21:00:00+01:00",
    home: { name: "Herons", abbr: "HCH", score: 10 },
    away: { name: "Peaks", abbr: "SUM", score: 8 },
    period: 2,
    clock: "07:30",
    details: { possession: "HCH", fouls: { HCH: 3, SUM: 4 } },
  };

  it("normalizes to the standard event (UTC start time, defaults)", () => {
    expect(parseFeedEvent(feed, "json-feed")).toEqual(base);
    const { period: _p, clock: _c, details: _d, ...minimal } = feed;
    expect(parseFeedEvent(minimal, "json-feed")).toMatchObject({ period: null, clock: null, details: {} });
  });

  it("malformed answers are ProviderError('malformed')", () => {
    for (const bad of [
      null,
      "x",
      { ...feed, status: "halftime" },
      { ...feed, home: { name: "H", abbr: "H", score: -1 } },
      { ...feed, startTime: "yesterday" },
      { ...feed, id: "bad id" },
      { ...feed, details: { blob: "x".repeat(5000) } },
    ]) {
      expect(() => parseFeedEvent(bad, "p")).toThrowError(ProviderError);
      try {
        parseFeedEvent(bad, "p");
      } catch (error) {
        expect((error as ProviderError).kind).toBe("malformed");
      }
    }
  });

  it("lists: array or { events }, invalid entries skipped and counted", () => {
    expect(parseFeedList([feed, { nope: true }], "p")).toMatchObject({ skipped: 1, events: [{ eventId: "g1" }] });
    expect(parseFeedList({ events: [feed] }, "p").events).toHaveLength(1);
    expect(() => parseFeedList({ items: [] }, "p")).toThrowError(ProviderError);
  });

  it("HTTP: 404 → null, 5xx → http, garbage → malformed, wrong id → malformed, timeout", async () => {
    const answer = (status: number, body: string) => async () => new Response(body, { status });
    const make = (fetchImpl: typeof fetch) => new JsonFeedProvider("http://feed.test/", { fetch: fetchImpl, timeoutMs: 50 });
    expect(await make(answer(404, "{}")).getEvent("g1")).toBeNull();
    await expect(make(answer(500, "oops")).getEvent("g1")).rejects.toMatchObject({ kind: "http", status: 500 });
    await expect(make(answer(200, "<html>")).getEvent("g1")).rejects.toMatchObject({ kind: "malformed" });
    await expect(make(answer(200, JSON.stringify({ ...feed, id: "g2" }))).getEvent("g1")).rejects.toMatchObject({ kind: "malformed" });
    expect(await make(answer(200, JSON.stringify(feed))).getEvent("g1")).toEqual(base);
    const hang: typeof fetch = (_input, init) =>
      new Promise((_resolve, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal!.reason)));
    await expect(make(hang).getEvent("g1")).rejects.toMatchObject({ kind: "timeout" });
    const refused: typeof fetch = async () => {
      throw new TypeError("fetch failed");
    };
    await expect(make(refused).getEvent("g1")).rejects.toMatchObject({ kind: "network" });

    let asked = "";
    const list = make(async (input) => {
      asked = String(input);
      return new Response(JSON.stringify([feed]));
    });
    const result = await list.listEvents(new Date("2026-01-01T00:00:00Z"), new Date("2026-01-02T00:00:00Z"));
    expect(result.events).toHaveLength(1);
    expect(asked).toBe("http://feed.test/events?from=2026-01-01T00%3A00%3A00.000Z&to=2026-01-02T00%3A00%3A00.000Z");
  });
});
