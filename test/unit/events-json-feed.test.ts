/** The generic JSON feed adapter (workers/events/json-feed-provider.ts). */
import { describe, expect, it } from "vitest";
import { JsonFeedProvider, parseFeedEvent, parseFeedList } from "../../workers/events/json-feed-provider.js";
import { ProviderError } from "../../workers/events/provider.js";
import { baseEvent } from "../support/events.js";

const base = baseEvent;

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
