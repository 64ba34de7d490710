/**
 * The media tiers between the viewer and the mother: the edge's hot tier
 * (memory), the regional relay, and the pieces they are built from.
 */
import { describe, expect, it } from "vitest";
import { Coalescer } from "../../workers/tiers/coalescer.js";
import { maxAgeSeconds } from "../../workers/tiers/freshness.js";
import { HotCache } from "../../workers/tiers/hot-cache.js";
import { DEFAULT_REGIONS, placementOf } from "../../workers/tiers/regions.js";
import { UpstreamCounter, upstreamType } from "../../workers/relay/upstream-counts.js";
import { createLiveStream, edge, mother, relay, setUpstream, sleep, textOf, upstreamCount } from "./helpers.js";

const answer = (bytes: number, cacheControl: string, status = 200) => ({
  status,
  headers: [["Cache-Control", cacheControl]] as [string, string][],
  body: new ArrayBuffer(bytes),
});

describe("hot tier (pure)", () => {
  it("serves an answer for exactly its max-age, and nothing that may not be cached", () => {
    const hot = new HotCache(1 << 20);
    expect(hot.set("a", answer(10, "public, max-age=1"), 1_000)).toBe(true);
    expect(hot.get("a", 1_999)?.ageSeconds).toBe(0);
    expect(hot.get("a", 2_000)).toBeUndefined(); // expired: never served stale
    expect(hot.set("b", answer(10, "no-store"), 0)).toBe(false);
    expect(hot.set("c", answer(10, "public, max-age=0"), 0)).toBe(false);
    expect(hot.set("d", answer(10, "public, max-age=60", 404), 0)).toBe(false);
    expect(maxAgeSeconds("public, max-age=31536000, immutable")).toBe(31_536_000);
    expect(maxAgeSeconds("private, max-age=5")).toBe(0);
  });

  it("is bounded in bytes (least recently used out) and keeps no answer larger than an eighth of it", () => {
    const hot = new HotCache(80 * 1024);
    expect(hot.set("huge", answer(11 * 1024, "public, max-age=60"), 0)).toBe(false);
    for (let i = 0; i < 10; i++) hot.set(`k${i}`, answer(9 * 1024, "public, max-age=60"), 0);
    expect(hot.bytes).toBeLessThanOrEqual(80 * 1024);
    expect(hot.get("k0", 1)).toBeUndefined(); // the oldest went first
    expect(hot.get("k9", 1)).toBeDefined();
  });
});

describe("regions (pure)", () => {
  it("maps continents to regions; the dev header only when enabled, and only well-formed", () => {
    const req = (headers: Record<string, string>, cf?: object) => ({ headers: new Headers(headers), cf });
    expect(placementOf(req({}, { colo: "FRA", continent: "EU" }), DEFAULT_REGIONS, false)).toEqual({
      colo: "fra",
      region: "eu",
      simulated: false,
    });
    expect(placementOf(req({}, { colo: "SJC", continent: "NA" }), DEFAULT_REGIONS, false).region).toBe("na");
    expect(placementOf(req({}, { colo: "SIN", continent: "AS" }), DEFAULT_REGIONS, false).region).toBe("ap");
    expect(placementOf(req({ "X-Dev-Colo": "lhr", "X-Dev-Region": "eu" }), DEFAULT_REGIONS, false).simulated).toBe(false);
    expect(placementOf(req({ "X-Dev-Colo": "lhr", "X-Dev-Region": "na" }), DEFAULT_REGIONS, true)).toEqual({
      colo: "lhr",
      region: "na",
      simulated: true,
    });
    expect(placementOf(req({ "X-Dev-Colo": "../x" }), DEFAULT_REGIONS, true).simulated).toBe(false);
  });
});

describe("upstream counts (pure)", () => {
  it("counts calls, distinct objects and the most calls of one object, blocking answers apart", () => {
    expect(upstreamType("v0/index.m3u8", "?_HLS_msn=5&_HLS_part=1")).toBe("blocking");
    expect(upstreamType("v0/index.m3u8", "")).toBe("media");
    expect(upstreamType("v0/e1-p7.m4s", "")).toBe("part");
    expect(upstreamType("../x", "")).toBe("other");
    const counter = new UpstreamCounter();
    counter.record("v0/index.m3u8", "?_HLS_msn=5&_HLS_part=1");
    counter.record("v0/index.m3u8", "?_HLS_msn=5&_HLS_part=2");
    counter.record("v0/index.m3u8", "");
    counter.record("v0/index.m3u8", "");
    counter.record("v0/e1-p7.m4s", "");
    expect(counter.snapshot()).toEqual({
      calls: { blocking: 2, media: 2, part: 1 },
      objects: { blocking: 2, media: 1, part: 1 },
      maxPerObject: { blocking: 1, media: 2, part: 1 },
    });
  });
});

describe("coalescer (pure)", () => {
  it("one call per key; the last waiter to leave cancels it; a waiter without a signal keeps it", async () => {
    const c = new Coalescer<string>();
    let calls = 0;
    let cancelled = 0;
    const start = (signal: AbortSignal) =>
      new Promise<string>((resolve, reject) => {
        calls++;
        const t = setTimeout(() => resolve("done"), 300);
        signal.addEventListener("abort", () => {
          cancelled++;
          clearTimeout(t);
          reject(new Error("aborted"));
        });
      });
    const a = new AbortController();
    const b = new AbortController();
    const pa = c.join("k", start, a.signal);
    const pb = c.join("k", start, b.signal);
    a.abort();
    expect(cancelled).toBe(0);
    b.abort();
    expect(await pa).toEqual({ kind: "gone" });
    expect(await pb).toEqual({ kind: "gone" });
    expect(calls).toBe(1);
    expect(cancelled).toBe(1);

    const x = new AbortController();
    const px = c.join("p", start, x.signal);
    const pinned = c.join("p", start);
    x.abort();
    expect(await px).toEqual({ kind: "gone" });
    expect(await pinned).toEqual({ kind: "value", value: "done", leader: false });
    expect(calls).toBe(2);
  });
});

describe("through the tiers", () => {
  it("a blocking request is held once per region: 2 regions × 40 colos → 2 mother requests, 1 origin request", async () => {
    const id = await createLiveStream();
    await setUpstream(id, { holdMs: 400 });
    const responses = await Promise.all(
      Array.from({ length: 80 }, (_, i) =>
        edge(`/live/${id}/v0/index.m3u8?_HLS_msn=106&_HLS_part=0`, {
          headers: { "X-Dev-Colo": `c${i}`, "X-Dev-Region": i % 2 ? "ap" : "na" },
        }),
      ),
    );
    const texts = await Promise.all(responses.map(textOf));
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(texts.every((t) => t.includes("e1-106.m4s"))).toBe(true);
    expect(await upstreamCount(`/hls/${id}/v0/index.m3u8?_HLS_msn=106&_HLS_part=0`)).toBe(1);
    expect((await mother(id).stats()).requests).toBe(2);
    for (const region of ["na", "ap"]) {
      const stats = await relay(id, region).stats();
      expect(stats.motherRequests).toBe(1);
      expect(stats.mother).toEqual({ calls: { blocking: 1 }, objects: { blocking: 1 }, maxPerObject: { blocking: 1 } });
    }
  });

  it("tier headers name where each answer came from: origin, edge-memory, relay-hit, mother-hit", async () => {
    const id = await createLiveStream();
    const path = `/live/${id}/v0/e1-103.m4s`;
    const tierOf = async (init?: RequestInit) => {
      const r = await edge(path, init);
      await r.arrayBuffer();
      return r.headers.get("X-Cache-Tier");
    };
    expect(await tierOf({ headers: { "X-Dev-Colo": "fra", "X-Dev-Region": "eu" } })).toBe("origin");
    expect(await tierOf({ headers: { "X-Dev-Colo": "fra", "X-Dev-Region": "eu" } })).toBe("edge-memory");
    expect(await tierOf({ headers: { "X-Dev-Colo": "ams", "X-Dev-Region": "eu" } })).toBe("relay-hit");
    expect(await tierOf({ headers: { "X-Dev-Colo": "iad", "X-Dev-Region": "na" } })).toBe("mother-hit");
    expect(await upstreamCount(`/hls/${id}/v0/e1-103.m4s`)).toBe(1);
  });

  it("the hot tier honours the playlist's freshness: after max-age the next viewer gets a new playlist", async () => {
    const id = await createLiveStream();
    const first = await textOf(await edge(`/live/${id}/v0/index.m3u8`));
    const again = await edge(`/live/${id}/v0/index.m3u8`);
    expect(again.headers.get("X-Cache-Tier")).toBe("edge-memory");
    expect(await textOf(again)).toBe(first);
    await sleep(1100);
    const later = await edge(`/live/${id}/v0/index.m3u8`);
    expect(later.headers.get("X-Cache-Tier")).not.toBe("edge-memory");
    expect(await textOf(later)).not.toBe(first);
    expect(await upstreamCount(`/hls/${id}/v0/index.m3u8`)).toBe(2);
  });
});
