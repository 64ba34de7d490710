/** /vod and /thumbnails: what a CDN engineer expects of immutable objects (ranges, validators, CORS, methods). */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { edge, errorCode, randomId } from "./helpers.js";

describe("recordings and thumbnails over HTTP", () => {
  it("ranges (206/416), ETag + 304, CORS preflight, 405 for writes, from R2 and from the edge cache alike", async () => {
    const id = randomId(16);
    const bytes = new Uint8Array(4096).map((_, i) => i % 251);
    await env.MEDIA.put(`vod/${id}/e1-3.m4s`, bytes);
    const path = `/vod/${id}/e1-3.m4s`;

    for (const round of ["r2", "edge"]) {
      const whole = await edge(path);
      expect(whole.status, round).toBe(200);
      expect(whole.headers.get("Accept-Ranges")).toBe("bytes");
      expect(whole.headers.get("Access-Control-Allow-Origin")).toBe("*");
      const etag = whole.headers.get("ETag");
      expect(etag).toMatch(/^"/);
      expect(new Uint8Array(await whole.arrayBuffer())).toEqual(bytes);

      const partial = await edge(path, { headers: { Range: "bytes=1000-1999" } });
      expect(partial.status).toBe(206);
      expect(partial.headers.get("Content-Range")).toBe("bytes 1000-1999/4096");
      expect(new Uint8Array(await partial.arrayBuffer())).toEqual(bytes.slice(1000, 2000));
      const beyond = await edge(path, { headers: { Range: "bytes=5000-" } });
      expect(beyond.status).toBe(416);
      await beyond.arrayBuffer();

      const notModified = await edge(path, { headers: { "If-None-Match": etag! } });
      expect(notModified.status).toBe(304);
      await new Promise((r) => setTimeout(r, 50)); // let the background store land before the "edge" round
    }

    const preflight = await edge(path, {
      method: "OPTIONS",
      headers: { "Access-Control-Request-Method": "GET", Origin: "https://player.example" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("Access-Control-Allow-Methods")).toBe("GET, HEAD, OPTIONS");
    const post = await edge(path, { method: "POST", body: "x" });
    expect(post.status).toBe(405);
    expect(await errorCode(post)).toBe("method_not_allowed");

    await env.MEDIA.put(`thumbnails/${id}/1.jpg`, new Uint8Array([0xff, 0xd8, 0xff, 0xd9]));
    const thumb = await edge(`/thumbnails/${id}/1.jpg`, { headers: { Range: "bytes=0-1" } });
    expect(thumb.status).toBe(206);
    expect(new Uint8Array(await thumb.arrayBuffer())).toEqual(new Uint8Array([0xff, 0xd8]));
    expect((await edge(`/thumbnails/${id}/1.jpg`, { method: "DELETE" })).status).toBe(405);
  });
});
