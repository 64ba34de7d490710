/**
 * LL-HLS through the edge and the mother against a real HTTP origin that
 * holds blocking requests (test/workers/node/upstream.ts: msn past 105 and
 * parts numbered ≥ 500 are held `holdMs`).
 */
import { describe, expect, it } from "vitest";
import { HINTED_PART } from "./upstream-contract.js";
import { dropHotTier } from "../../workers/edge.js";
import { createLiveStream, edge, errorCode, mother, setUpstream, sleep, textOf, upstreamAborted, upstreamCount } from "./helpers.js";

const concurrently = <T>(n: number, fn: (i: number) => Promise<T>) => Promise.all(Array.from({ length: n }, (_, i) => fn(i)));

describe("LL-HLS blocking requests cost the origin one request", () => {
  it("100 concurrent blocking requests for the next part → 1 origin request, every waiter answered", async () => {
    const id = await createLiveStream();
    await setUpstream(id, { holdMs: 400 });
    const path = `/live/${id}/v0/index.m3u8?_HLS_msn=106&_HLS_part=0`;
    const responses = await concurrently(100, (i) =>
      // same directives in another order, plus noise: one canonical key
      edge(i % 2 ? path : `/live/${id}/v0/index.m3u8?x=${i}&_HLS_part=0&_HLS_msn=106`),
    );
    const bodies = await Promise.all(responses.map(textOf));
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(bodies.every((b) => b.includes("e1-106.m4s"))).toBe(true);
    expect(await upstreamCount(`/hls/${id}/v0/index.m3u8?_HLS_msn=106&_HLS_part=0`)).toBe(1);
    expect(responses[0]!.headers.get("Cache-Control")).toBe("public, max-age=86400");

    // cached at the edge under the canonical key: later viewers never reach the mother
    const again = await edge(`/live/${id}/v0/index.m3u8?_HLS_part=0&_HLS_msn=106`);
    expect(again.headers.get("X-Cache-Tier")).toBe("edge-memory");
    await again.arrayBuffer();
    // another isolate of the colo (empty memory) finds it in the colo's Cache API
    let tier: string | null = null;
    for (let i = 0; i < 20 && tier !== "edge-hit"; i++) {
      dropHotTier();
      const other = await edge(`/live/${id}/v0/index.m3u8?_HLS_part=0&_HLS_msn=106`);
      tier = other.headers.get("X-Cache-Tier");
      await other.arrayBuffer();
      if (tier !== "edge-hit") await sleep(20);
    }
    expect(tier).toBe("edge-hit");
    expect(await upstreamCount(`/hls/${id}/v0/index.m3u8?_HLS_msn=106&_HLS_part=0`)).toBe(1);
  });

  it("100 concurrent requests for the hinted part → 1 origin request, answer immutable", async () => {
    const id = await createLiveStream();
    await setUpstream(id, { holdMs: 400 });
    const path = `v0/e1-p${HINTED_PART}.m4s`;
    const responses = await concurrently(100, (i) => edge(`/live/${id}/${path}${i % 3 ? "" : `?_HLS_msn=${i}`}`));
    const sizes = await Promise.all(responses.map(async (r) => (await r.arrayBuffer()).byteLength));
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(new Set(sizes)).toEqual(new Set([8 * 1024]));
    expect(responses[0]!.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
    expect(await upstreamCount(`/hls/${id}/${path}`)).toBe(1);
  });

  it("a satisfied request is answered from the newest playlist the mother holds, whatever the value", async () => {
    const id = await createLiveStream();
    await textOf(await edge(`/live/${id}/v0/index.m3u8`)); // the mother now knows msn 100-105
    const before = await mother(id).stats();
    const answers = await concurrently(50, (i) => edge(`/live/${id}/v0/index.m3u8?_HLS_msn=${i}`));
    expect(answers.every((r) => r.status === 200)).toBe(true);
    let fromOrigin = 0;
    for (let i = 0; i < 50; i++) fromOrigin += await upstreamCount(`/hls/${id}/v0/index.m3u8?_HLS_msn=${i}`);
    expect(fromOrigin).toBe(0);
    const after = await mother(id).stats();
    expect(after.originFetches.media).toBe(before.originFetches.media);
    expect(after.blockingAnsweredKnown - before.blockingAnsweredKnown).toBe(50);
  });

  it("refuses _HLS_part without _HLS_msn and parts beyond any segment before any Durable Object call", async () => {
    const id = await createLiveStream();
    for (const query of ["_HLS_part=1", "_HLS_msn=5&_HLS_part=100", "_HLS_msn=05", "_HLS_msn=-1"]) {
      const res = await edge(`/live/${id}/v0/index.m3u8?${query}`);
      expect(res.status, query).toBe(400);
      expect(await errorCode(res)).toBe("bad_query");
    }
    expect((await mother(id).stats()).requests).toBe(0);
  });

  it("directives on anything but a media playlist are dropped: 300 values, 1 origin fetch", async () => {
    const id = await createLiveStream();
    const responses = await concurrently(300, (i) => edge(`/live/${id}/v0/e1-103.m4s?_HLS_msn=${i}&_HLS_part=${i % 7}`));
    await Promise.all(responses.map((r) => r.arrayBuffer()));
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(await upstreamCount(`/hls/${id}/v0/e1-103.m4s`)).toBe(1);
  });
});

describe("held requests at the mother", () => {
  it("an origin holding for longer than the plain timeout is not a failure (timeout sized from the target duration)", async () => {
    const id = await createLiveStream();
    // ORIGIN_TIMEOUT_MS is 700 in the test config; the origin holds 1500 ms (< 3 target durations)
    await setUpstream(id, { holdMs: 1500 });
    const res = await edge(`/live/${id}/v0/index.m3u8?_HLS_msn=106`);
    expect(res.status).toBe(200);
    expect(await textOf(res)).toContain("e1-106.m4s");
    expect((await mother(id).stats()).originFailures).toBe(0);
  });

  it("an origin's 503 after holding is passed on, not cached, and does not count as an origin failure", async () => {
    const id = await createLiveStream();
    await setUpstream(id, { holdMs: 100, holdStatus: 503 });
    const res = await edge(`/live/${id}/v0/index.m3u8?_HLS_msn=107`);
    expect(res.status).toBe(503);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    await res.arrayBuffer();
    const again = await edge(`/live/${id}/v0/index.m3u8?_HLS_msn=107`);
    expect(again.status).toBe(503);
    await again.arrayBuffer();
    expect(await upstreamCount(`/hls/${id}/v0/index.m3u8?_HLS_msn=107`)).toBe(2);
    expect((await mother(id).stats()).originFailures).toBe(0);
  });

  it("a held request every viewer abandoned is cancelled at the mother and at the origin", async () => {
    const id = await createLiveStream();
    await setUpstream(id, { holdMs: 4000 });
    const path = `/hls/${id}/v0/index.m3u8?_HLS_msn=107`;
    const viewers = Array.from({ length: 3 }, () => new AbortController());
    const pending = viewers.map((v) => edge(`/live/${id}/v0/index.m3u8?_HLS_msn=107`, { signal: v.signal }).catch((e: unknown) => e));
    await sleep(300);
    expect(await upstreamCount(path)).toBe(1);
    viewers[0]!.abort();
    viewers[1]!.abort();
    await sleep(300);
    expect(await upstreamAborted(path)).toBe(0); // one viewer still waits
    viewers[2]!.abort();
    let aborted = 0;
    for (let i = 0; i < 30 && aborted === 0; i++) {
      await sleep(100);
      aborted = await upstreamAborted(path);
    }
    expect(aborted).toBe(1);
    await Promise.all(pending);
    expect((await mother(id).stats()).abandoned).toBe(1);
  });

  it("the mother's fetch() entry: the last waiter leaving cancels the origin request; an RPC waiter keeps it", async () => {
    const id = await createLiveStream();
    await setUpstream(id, { holdMs: 3000 });
    const stub = mother(id);
    const path = `/hls/${id}/v0/index.m3u8?_HLS_msn=108`;
    const a = new AbortController();
    const viaFetch = stub
      .fetch(new Request(`https://mother/${id}/v0/index.m3u8?_HLS_msn=108`, { signal: a.signal }))
      .catch((e: unknown) => e);
    await sleep(200);
    const viaRpc = stub.serve(id, "v0/index.m3u8", "?_HLS_msn=108");
    await sleep(100);
    a.abort();
    await viaFetch;
    const res = await viaRpc;
    expect(res.status).toBe(200);
    expect(await textOf(res)).toContain("e1-108.m4s");
    expect(await upstreamCount(path)).toBe(1);
    expect(await upstreamAborted(path)).toBe(0);
  });
});

describe("HTTP semantics a CDN engineer expects on /live", () => {
  it("byte ranges (206, 416) and Accept-Ranges on segments; validators (ETag, 304); Age on edge hits; 405 for writes", async () => {
    const id = await createLiveStream();
    const path = `/live/${id}/v0/e1-102.m4s`;
    const whole = await edge(path);
    const body = new Uint8Array(await whole.arrayBuffer());
    expect(whole.headers.get("Accept-Ranges")).toBe("bytes");
    const etag = whole.headers.get("ETag");
    expect(etag).toBe('"v0/e1-102.m4s"');

    const partial = await edge(path, { headers: { Range: "bytes=100-199" } });
    expect(partial.status).toBe(206);
    expect(partial.headers.get("Content-Range")).toBe(`bytes 100-199/${body.length}`);
    expect(new Uint8Array(await partial.arrayBuffer())).toEqual(body.slice(100, 200));
    const suffix = await edge(path, { headers: { Range: "bytes=-10" } });
    expect(new Uint8Array(await suffix.arrayBuffer())).toEqual(body.slice(body.length - 10));
    const beyond = await edge(path, { headers: { Range: `bytes=${body.length}-` } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get("Content-Range")).toBe(`bytes */${body.length}`);
    await beyond.arrayBuffer();

    const notModified = await edge(path, { headers: { "If-None-Match": etag! } });
    expect(notModified.status).toBe(304);

    let hit: Response | undefined;
    for (let i = 0; i < 20; i++) {
      dropHotTier(); // the Cache API's answer, as another isolate would get it
      const r = await edge(path);
      await r.arrayBuffer();
      if (r.headers.get("X-Cache-Tier") === "edge-hit") {
        hit = r;
        break;
      }
      await sleep(20);
    }
    expect(hit?.headers.get("Age")).toMatch(/^\d+$/);
    expect(hit?.headers.get("X-Edge-Stored-At")).toBeNull();
    await sleep(1100);
    const older = await edge(path);
    expect(older.headers.get("X-Cache-Tier")).toBe("edge-memory");
    expect(Number(older.headers.get("Age"))).toBeGreaterThanOrEqual(1);
    await older.arrayBuffer();

    for (const method of ["POST", "PUT", "DELETE"]) {
      const res = await edge(path, { method });
      expect(res.status, method).toBe(405);
      expect(res.headers.get("Allow")).toBe("GET, HEAD, OPTIONS");
      expect(await errorCode(res)).toBe("method_not_allowed");
    }
    expect(await upstreamCount(`/hls/${id}/v0/e1-102.m4s`)).toBe(1);
  });
});
