/**
 * Strict CMAF's names through the Worker: the audio rendition's playlist,
 * parts and segments are ordinary HLS objects to the edge (validated,
 * cached under the same policy, blocking requests canonicalized), and a
 * recording's master plus rendition directories upload and serve from R2.
 */
import { env } from "cloudflare:workers";
import { signRequest } from "../../common/signing.js";
import { describe, expect, it } from "vitest";
import { classifyObjectPath } from "../../common/hls-paths.js";
import { createLiveStream, edge, errorCode, upstreamCount } from "./helpers.js";

describe("the audio rendition through the edge", () => {
  it("classifies audio/ objects like any rendition's", () => {
    expect(classifyObjectPath("audio/index.m3u8")).toBe("media");
    expect(classifyObjectPath("audio/init-e1-0.mp4")).toBe("init");
    expect(classifyObjectPath("audio/e1-12.m4s")).toBe("segment");
    expect(classifyObjectPath("audio/e1-p40.m4s")).toBe("part");
  });

  it("serves its parts and segments immutable (one origin fetch) and its blocking playlist under the canonical key", async () => {
    const id = await createLiveStream();
    for (const object of ["audio/e1-p3.m4s", "audio/e1-1.m4s", "audio/init-e1-0.mp4"]) {
      const first = await edge(`/live/${id}/${object}?utm=x`);
      expect(first.status, object).toBe(200);
      expect(first.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      await first.arrayBuffer();
      const second = await edge(`/live/${id}/${object}`);
      expect(second.status).toBe(200);
      await second.arrayBuffer();
      expect(await upstreamCount(`/hls/${id}/${object}`)).toBe(1);
    }
    const playlist = await edge(`/live/${id}/audio/index.m3u8`);
    expect(playlist.status).toBe(200);
    expect(playlist.headers.get("cache-control")).toBe("public, max-age=1");
    await playlist.text();
    const blocked = await edge(`/live/${id}/audio/index.m3u8?_HLS_part=0&_HLS_msn=1&x=1`);
    expect(blocked.status).toBe(200);
    await blocked.text();
    expect(await upstreamCount(`/hls/${id}/audio/index.m3u8?_HLS_msn=1&_HLS_part=0`)).toBeLessThanOrEqual(1);
    const refused = await edge(`/live/${id}/audio/index.m3u8?_HLS_part=1`);
    expect(refused.status).toBe(400);
    await refused.text();
  });
});

describe("a recording in the live layout", () => {
  async function upload(streamId: string, name: string, body: string) {
    const path = `/api/internal/streams/${streamId}/vod/${name}`;
    const headers = await signRequest(env.ORIGIN_SHARED_SECRET, "PUT", path, body);
    return edge(path, { method: "PUT", headers: { ...headers, "Content-Type": "application/octet-stream" }, body });
  }

  it("uploads and serves the master, index.m3u8 and each rendition's directory; refuses other shapes", async () => {
    const id = await createLiveStream();
    const master =
      '#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="main",URI="audio/index.m3u8"\n#EXT-X-STREAM-INF:BANDWIDTH=1,AUDIO="audio"\n180p/index.m3u8\n';
    for (const [name, body] of [
      ["180p/init-e1-0.mp4", "v-init"],
      ["180p/e1-0.m4s", "v-seg"],
      ["audio/init-e1-0.mp4", "a-init"],
      ["audio/e1-0.m4s", "a-seg"],
      ["audio/index.m3u8", "#EXTM3U\n#EXT-X-ENDLIST\n"],
      ["master.m3u8", master],
      ["index.m3u8", master],
    ] as const) {
      const res = await upload(id, name, body);
      expect(res.status, name).toBe(201);
      await res.arrayBuffer();
    }
    const types: Record<string, string> = {
      "master.m3u8": "application/vnd.apple.mpegurl",
      "index.m3u8": "application/vnd.apple.mpegurl",
      "audio/index.m3u8": "application/vnd.apple.mpegurl",
      "audio/e1-0.m4s": "audio/mp4",
      "audio/init-e1-0.mp4": "audio/mp4",
      "180p/e1-0.m4s": "video/iso.segment",
      "180p/init-e1-0.mp4": "video/mp4",
    };
    for (const [name, type] of Object.entries(types)) {
      const res = await edge(`/vod/${id}/${name}`);
      expect(res.status, name).toBe(200);
      expect(res.headers.get("content-type"), name).toBe(type);
      await res.arrayBuffer();
    }
    expect(await (await edge(`/vod/${id}/index.m3u8`)).text()).toBe(master);
    for (const bad of ["180P/e1-0.m4s", "audio/master.m3u8", "a/b/e1-0.m4s", "audio/evil.txt"]) {
      const res = await edge(`/vod/${id}/${bad}`);
      expect([400, 404], bad).toContain(res.status);
      if (res.status === 400) expect(await errorCode(res)).toBe("bad_path");
      else await res.arrayBuffer();
    }
    const refused = await upload(id, "audio/evil.txt", "x");
    expect(refused.status).toBe(400);
    expect(await errorCode(refused)).toBe("bad_name");
  });
});
