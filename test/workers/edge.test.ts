import { describe, expect, it } from "vitest";
import {
  createLiveStream,
  edge,
  errorCode,
  mother,
  randomId,
  relay,
  setUpstream,
  sleep,
  textOf,
  upstreamCount,
  upstreamCountPrefix,
} from "./helpers.js";

const SEGMENT_BYTES = 64 * 1024;

function bytesEqual(a: ArrayBuffer, b: ArrayBuffer): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a);
  const y = new Uint8Array(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

const EDGE_TIERS = ["edge-memory", "edge-hit"];

/** Requests `path` until the edge answers it itself (its memory or its Cache API; cache.put runs in waitUntil). */
async function untilEdgeHit(path: string): Promise<Response> {
  for (let i = 0; i < 20; i++) {
    const res = await edge(path);
    if (EDGE_TIERS.includes(res.headers.get("X-Cache-Tier") ?? "")) return res;
    await res.arrayBuffer();
    await sleep(20);
  }
  throw new Error(`no edge hit for ${path}`);
}

describe("coalescing: the origin sees one viewer", () => {
  it("100 concurrent requests for one segment cost exactly 1 origin fetch", async () => {
    const id = await createLiveStream();
    const responses = await Promise.all(Array.from({ length: 100 }, () => edge(`/live/${id}/v0/e1-101.m4s`)));
    expect(responses.map((r) => r.status)).toEqual(Array(100).fill(200));
    const bodies = await Promise.all(responses.map((r) => r.arrayBuffer()));
    expect(bodies[0]!.byteLength).toBe(SEGMENT_BYTES);
    for (const body of bodies) expect(bytesEqual(body, bodies[0]!)).toBe(true);
    expect(await upstreamCount(`/hls/${id}/v0/e1-101.m4s`)).toBe(1);
  });

  it("100 concurrent requests for one media playlist cost exactly 1 origin fetch", async () => {
    const id = await createLiveStream();
    const responses = await Promise.all(Array.from({ length: 100 }, () => edge(`/live/${id}/v0/index.m3u8`)));
    const texts = await Promise.all(responses.map(textOf));
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(new Set(texts).size).toBe(1);
    expect(texts[0]).toContain("#EXT-X-TARGETDURATION:2");
    expect(await upstreamCount(`/hls/${id}/v0/index.m3u8`)).toBe(1);
  });

  it("100 colos in two regions: each region's relay asks the mother once, the origin sees 1 fetch", async () => {
    const id = await createLiveStream();
    await setUpstream(id, { delayMs: 1000 }); // keep the one origin fetch in flight while all arrive
    // a simulated colo per request (dev header) = its own edge caches, so the
    // edge cannot coalesce them; the relay of their region does
    const responses = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        edge(`/live/${id}/v0/e1-102.m4s`, { headers: { "X-Dev-Colo": `colo${i}`, "X-Dev-Region": i % 2 ? "na" : "eu" } }),
      ),
    );
    const bodies = await Promise.all(responses.map((r) => r.arrayBuffer()));
    for (const body of bodies) expect(bytesEqual(body, bodies[0]!)).toBe(true);
    for (const res of responses)
      expect(["origin", "mother-hit", "mother-coalesced", "relay-coalesced"]).toContain(res.headers.get("X-Cache-Tier"));
    expect(await upstreamCount(`/hls/${id}/v0/e1-102.m4s`)).toBe(1);
    for (const region of ["eu", "na"]) {
      const stats = await relay(id, region).stats();
      expect(stats.requests, region).toBe(50);
      expect(stats.motherRequests, region).toBe(1);
      expect(stats.coalesced + stats.hits, region).toBe(49);
    }
    const stats = await mother(id).stats();
    expect(stats.requests).toBe(2); // one per region
    expect(stats.originFetches.segment).toBe(1);
  });

  it("the mother RPC answers every concurrent waiter with its own body", async () => {
    const id = await createLiveStream();
    const stub = mother(id);
    const responses = await Promise.all(Array.from({ length: 50 }, () => stub.serve(id, "v0/init-e1-0.mp4", "")));
    const bodies = await Promise.all(responses.map((r) => r.arrayBuffer()));
    for (const body of bodies) expect(bytesEqual(body, bodies[0]!)).toBe(true);
    expect(await upstreamCount(`/hls/${id}/v0/init-e1-0.mp4`)).toBe(1);
  });
});

describe("Cache-Control rewrite and X-Cache-Tier", () => {
  it("master: long; origin, then the edge's own tiers; relay-hit from another colo of the region, mother-hit from another region", async () => {
    const id = await createLiveStream();
    const first = await edge(`/live/${id}/master.m3u8`);
    expect(first.status).toBe(200);
    expect(first.headers.get("Cache-Control")).toBe("public, max-age=86400");
    expect(first.headers.get("Content-Type")).toBe("application/vnd.apple.mpegurl");
    expect(first.headers.get("X-Cache-Tier")).toBe("origin");
    expect(first.headers.get("Access-Control-Allow-Origin")).toBe("*");
    const text = await textOf(first);
    expect(text).toContain("v0/index.m3u8");

    const hit = await untilEdgeHit(`/live/${id}/master.m3u8`);
    expect(await textOf(hit)).toBe(text);
    expect(hit.headers.get("Cache-Control")).toBe("public, max-age=86400");
    expect(hit.headers.get("Access-Control-Allow-Origin")).toBe("*");

    const otherColo = await edge(`/live/${id}/master.m3u8`, undefined, "http://elsewhere.test");
    expect(otherColo.headers.get("X-Cache-Tier")).toBe("relay-hit");
    expect(otherColo.headers.get("Age")).toMatch(/^\d+$/);
    expect(await textOf(otherColo)).toBe(text);
    const otherRegion = await edge(`/live/${id}/master.m3u8`, { headers: { "X-Dev-Colo": "syd", "X-Dev-Region": "ap" } });
    expect(otherRegion.headers.get("X-Cache-Tier")).toBe("mother-hit");
    expect(otherRegion.headers.get("Age")).toMatch(/^\d+$/);
    expect(await textOf(otherRegion)).toBe(text);
    expect(await upstreamCount(`/hls/${id}/master.m3u8`)).toBe(1);
  });

  it("media playlist: about half a target duration (never below 1 s)", async () => {
    const id = await createLiveStream();
    const res = await edge(`/live/${id}/v0/index.m3u8`);
    expect(res.headers.get("Cache-Control")).toBe("public, max-age=1");
    expect(res.headers.get("Content-Type")).toBe("application/vnd.apple.mpegurl");

    const slow = await createLiveStream();
    await setUpstream(slow, { targetDuration: 6 });
    const res6 = await edge(`/live/${slow}/v0/index.m3u8`);
    expect(res6.headers.get("Cache-Control")).toBe("public, max-age=3");
  });

  it("media playlist is refetched once its max-age has passed", async () => {
    const id = await createLiveStream();
    const a = await textOf(await edge(`/live/${id}/v0/index.m3u8`));
    await sleep(1100);
    const b = await edge(`/live/${id}/v0/index.m3u8`, undefined, "http://other.test");
    expect(b.headers.get("X-Cache-Tier")).toBe("origin");
    expect(await textOf(b)).not.toBe(a);
    expect(await upstreamCount(`/hls/${id}/v0/index.m3u8`)).toBe(2);
  });

  it("blocking request (_HLS_msn) answered: long; other query params are dropped", async () => {
    const id = await createLiveStream();
    const res = await edge(`/live/${id}/v0/index.m3u8?utm=1&_HLS_part=0&_HLS_msn=103`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("public, max-age=86400");
    // forwarded canonically, without the foreign parameter
    expect(await upstreamCount(`/hls/${id}/v0/index.m3u8?_HLS_msn=103&_HLS_part=0`)).toBe(1);
    const again = await untilEdgeHit(`/live/${id}/v0/index.m3u8?_HLS_msn=103&_HLS_part=0&x=y`);
    expect(again.status).toBe(200);

    // msn 200 is far past the live edge (105): refused by the mother without an origin request
    const future = await edge(`/live/${id}/v0/index.m3u8?_HLS_msn=200`);
    expect(future.status).toBe(400);
    expect(future.headers.get("Cache-Control")).toBe("no-store");
    expect(await upstreamCount(`/hls/${id}/v0/index.m3u8?_HLS_msn=200`)).toBe(0);
  });

  it("init, segment and part: immutable", async () => {
    const id = await createLiveStream();
    for (const [path, type] of [
      ["v0/init-e1-0.mp4", "video/mp4"],
      ["v0/e1-104.m4s", "video/iso.segment"],
      ["v0/e1-p42.m4s", "video/iso.segment"],
    ] as const) {
      const res = await edge(`/live/${id}/${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
      expect(res.headers.get("Content-Type")).toBe(type);
      expect(res.headers.get("X-Cache-Tier")).toBe("origin");
      await res.arrayBuffer();
      const hit = await untilEdgeHit(`/live/${id}/${path}`);
      expect(hit.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
      await hit.arrayBuffer();
      expect(await upstreamCount(`/hls/${id}/${path}`)).toBe(1);
    }
  });

  it("a hot-tier hit names only its own tier, carries CORS once, and answers ranges and validators from memory", async () => {
    const id = await createLiveStream();
    const path = `/live/${id}/v0/e1-105.m4s`;
    const first = await edge(path);
    const body = await first.arrayBuffer();
    expect(first.headers.get("X-Cache-Tier")).toBe("origin");
    expect(first.headers.get("Access-Control-Allow-Origin")).toBe("*");
    const hit = await edge(path);
    expect(hit.headers.get("X-Cache-Tier")).toBe("edge-memory");
    // one value each: the upstream tier's header and Age are not carried along
    expect(hit.headers.get("Access-Control-Allow-Origin")).toBe("*");
    expect(hit.headers.get("Age")).toMatch(/^\d+$/);
    expect(hit.headers.get("Accept-Ranges")).toBe("bytes");
    expect(bytesEqual(await hit.arrayBuffer(), body)).toBe(true);

    const ranged = await edge(path, { headers: { Range: "bytes=10-19" } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get("X-Cache-Tier")).toBe("edge-memory");
    expect(ranged.headers.get("Content-Range")).toBe(`bytes 10-19/${body.byteLength}`);
    expect(ranged.headers.get("Access-Control-Allow-Origin")).toBe("*");
    expect(bytesEqual(await ranged.arrayBuffer(), body.slice(10, 20))).toBe(true);

    const etag = hit.headers.get("ETag");
    if (etag !== null) {
      const revalidated = await edge(path, { headers: { "If-None-Match": etag } });
      expect(revalidated.status).toBe(304);
      expect(revalidated.headers.get("Access-Control-Allow-Origin")).toBe("*");
    }
    expect(await upstreamCount(`/hls/${id}/v0/e1-105.m4s`)).toBe(1);
  });

  it("404 from origin: no-store, never edge-cached, negative-cached 1 s in the mother", async () => {
    const id = await createLiveStream();
    const path = `/live/${id}/v0/e1-1001.m4s`;
    const burst = await Promise.all(Array.from({ length: 20 }, () => edge(path)));
    for (const res of burst) {
      expect(res.status).toBe(404);
      expect(res.headers.get("Cache-Control")).toBe("no-store");
    }
    expect(await errorCode(burst[0]!)).toBe("not_found");
    const later = await edge(path);
    expect(later.status).toBe(404);
    expect(later.headers.get("X-Cache-Tier")).toBe("mother-hit");
    expect(await upstreamCount(`/hls/${id}/v0/e1-1001.m4s`)).toBe(1);

    await sleep(1100);
    const afterNegativeTtl = await edge(path);
    expect(afterNegativeTtl.headers.get("X-Cache-Tier")).toBe("origin");
    expect(await upstreamCount(`/hls/${id}/v0/e1-1001.m4s`)).toBe(2);
  });

  it("HEAD answers headers only; OPTIONS preflight allows browser players", async () => {
    const id = await createLiveStream();
    const head = await edge(`/live/${id}/v0/e1-100.m4s`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
    expect((await head.arrayBuffer()).byteLength).toBe(0);

    const preflight = await edge(`/live/${id}/master.m3u8`, {
      method: "OPTIONS",
      headers: { Origin: "https://player.example", "Access-Control-Request-Method": "GET" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("Access-Control-Allow-Origin")).toBe("*");
    expect(preflight.headers.get("Access-Control-Allow-Methods")).toContain("GET");
    expect(preflight.headers.get("Access-Control-Expose-Headers")).toContain("X-Cache-Tier");
    expect(preflight.headers.get("Access-Control-Expose-Headers")).toContain("Age");
  });
});

describe("refused before any Durable Object or origin request", () => {
  it("400 bad_path for malformed object paths and ids", async () => {
    const id = await createLiveStream();
    const bad = [
      `/live/${id}/..%2Fmaster.m3u8`,
      `/live/${id}/v0%2Findex.m3u8`,
      `/live/${id}/v0/%2e%2e/%2e%2e/api/streams`,
      `/live/${id}/v0/../../x`,
      `/live/${id}/master.m3u8x`,
      `/live/${id}/v0/seg.ts`,
      `/live/${id}/v0/index.m3u8/`,
      `/live/${id}//master.m3u8`,
      `/live/${id}/v0/${"a".repeat(140)}-1.m4s`,
      `/live/${id}/`,
      `/live/UPPERCASE1/master.m3u8`,
      `/live/short/master.m3u8`,
      `/live/${"a".repeat(33)}/master.m3u8`,
    ];
    for (const path of bad) {
      const res = await edge(path);
      expect(res.status, path).toBe(400);
      expect(await errorCode(res), path).toBe("bad_path");
      expect(res.headers.get("Cache-Control")).toBe("no-store");
    }
    const query = await edge(`/live/${id}/v0/index.m3u8?_HLS_msn=abc`);
    expect(query.status).toBe(400);
    expect(await errorCode(query)).toBe("bad_query");
    expect(await upstreamCountPrefix(`/hls/${id}/`)).toBe(0);
    expect((await mother(id).stats()).requests).toBe(0);
  });

  it("404 unknown_stream for a well-formed id that is not in D1", async () => {
    const id = randomId();
    for (let i = 0; i < 3; i++) {
      const res = await edge(`/live/${id}/master.m3u8`);
      expect(res.status).toBe(404);
      expect(await errorCode(res)).toBe("unknown_stream");
      expect(res.headers.get("Access-Control-Allow-Origin")).toBe("*");
    }
    expect(await upstreamCountPrefix(`/hls/${id}/`)).toBe(0);
    expect((await mother(id).stats()).requests).toBe(0);
  });
});

describe("stale-if-error (test window: STALE_IF_ERROR_MS=2500, ORIGIN_TIMEOUT_MS=700)", () => {
  it("serves the last playlist as mother-stale inside the window, 502 after it, recovers", async () => {
    const id = await createLiveStream();
    const stub = mother(id);
    const good = await stub.serve(id, "v0/index.m3u8", "");
    expect(good.headers.get("X-Cache-Tier")).toBe("origin");
    const goodText = await textOf(good);

    await setUpstream(id, { mode: "error" });
    await sleep(1100); // past the playlist's 1 s freshness
    const stale = await stub.serve(id, "v0/index.m3u8", "");
    expect(stale.status).toBe(200);
    expect(stale.headers.get("X-Cache-Tier")).toBe("mother-stale");
    expect(stale.headers.get("Cache-Control")).toBe("public, max-age=1");
    expect(await textOf(stale)).toBe(goodText);

    // through the edge, too (a fresh colo so nothing is edge-cached)
    const viaEdge = await edge(`/live/${id}/v0/index.m3u8`, undefined, "http://stale.test");
    expect(viaEdge.headers.get("X-Cache-Tier")).toBe("mother-stale");
    await textOf(viaEdge);

    await sleep(1500); // now more than 2.5 s since the last good copy
    const expired = await stub.serve(id, "v0/index.m3u8", "");
    expect(expired.status).toBe(502);
    expect(expired.headers.get("Cache-Control")).toBe("no-store");
    expect(await errorCode(expired)).toBe("origin_error");

    const edgeExpired = await edge(`/live/${id}/v0/index.m3u8`, undefined, "http://stale2.test");
    expect(edgeExpired.status).toBe(502);
    expect(edgeExpired.headers.get("Cache-Control")).toBe("no-store");
    await textOf(edgeExpired);

    await setUpstream(id, { mode: "ok" });
    const recovered = await stub.serve(id, "v0/index.m3u8", "");
    expect(recovered.status).toBe(200);
    expect(recovered.headers.get("X-Cache-Tier")).toBe("origin");
    expect(await textOf(recovered)).not.toBe(goodText);
    expect((await stub.stats()).originFailures).toBeGreaterThanOrEqual(3);
  });

  it("a hanging origin: stale inside the window, 504 origin_timeout after it", async () => {
    const id = await createLiveStream();
    const stub = mother(id);
    await textOf(await stub.serve(id, "v0/index.m3u8", ""));

    await setUpstream(id, { mode: "hang" });
    await sleep(1050);
    const stale = await stub.serve(id, "v0/index.m3u8", ""); // waits the 700 ms timeout
    expect(stale.headers.get("X-Cache-Tier")).toBe("mother-stale");
    await textOf(stale);

    await sleep(800);
    const timedOut = await stub.serve(id, "v0/index.m3u8", "");
    expect(timedOut.status).toBe(504);
    expect(await errorCode(timedOut)).toBe("origin_timeout");
    expect(timedOut.headers.get("Cache-Control")).toBe("no-store");

    await setUpstream(id, { mode: "ok" });
    const recovered = await stub.serve(id, "v0/index.m3u8", "");
    expect(recovered.status).toBe(200);
    await textOf(recovered);
  });

  it("a dropped connection without a stale copy is a 502; segments are never served stale", async () => {
    const id = await createLiveStream();
    await setUpstream(id, { mode: "reset" });
    const playlist = await edge(`/live/${id}/v0/index.m3u8`);
    expect(playlist.status).toBe(502);
    expect(await errorCode(playlist)).toBe("origin_error");
    const segment = await edge(`/live/${id}/v0/e1-100.m4s`);
    expect(segment.status).toBe(502);
    expect(segment.headers.get("Cache-Control")).toBe("no-store");
    await textOf(segment);

    await setUpstream(id, { mode: "ok" });
    const ok = await edge(`/live/${id}/v0/e1-100.m4s`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get("X-Cache-Tier")).toBe("origin");
    await ok.arrayBuffer();
  });

  it("a 5xx for a segment is not cached at any tier", async () => {
    const id = await createLiveStream();
    await setUpstream(id, { mode: "error" });
    const a = await edge(`/live/${id}/v0/e1-103.m4s`);
    expect(a.status).toBe(502);
    await textOf(a);
    await setUpstream(id, { mode: "ok" });
    const b = await edge(`/live/${id}/v0/e1-103.m4s`);
    expect(b.status).toBe(200);
    await b.arrayBuffer();
    expect(await upstreamCount(`/hls/${id}/v0/e1-103.m4s`)).toBe(2);
  });
});
