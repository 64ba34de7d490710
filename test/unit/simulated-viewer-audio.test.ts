/**
 * The simulated viewer follows the master's audio group as a player does:
 * beside the video variant it loads the default EXT-X-MEDIA TYPE=AUDIO
 * rendition's playlist, init and parts (or segments) the same way, counted in
 * `stats.audio`, while the video's counts stay the video's.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runSimulatedViewer } from "../support/simulated-viewer.js";

const T0 = Date.UTC(2026, 0, 1);

/** An ended LL-HLS media playlist of 3 segments of 4 parts (0.5 s), every part listed. */
function playlist(): string {
  const lines = [
    "#EXTM3U",
    "#EXT-X-VERSION:7",
    "#EXT-X-TARGETDURATION:2",
    "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.5,HOLD-BACK=6",
    "#EXT-X-PART-INF:PART-TARGET=0.5",
    "#EXT-X-MEDIA-SEQUENCE:0",
    '#EXT-X-MAP:URI="init-e-0.mp4"',
  ];
  for (let msn = 0; msn < 3; msn++) {
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(T0 + msn * 2000).toISOString()}`);
    for (let i = 0; i < 4; i++) lines.push(`#EXT-X-PART:DURATION=0.5,URI="e-p${msn * 4 + i}.m4s",INDEPENDENT=YES`);
    lines.push("#EXTINF:2.000,", `e-${msn}.m4s`);
  }
  lines.push("#EXT-X-ENDLIST");
  return lines.join("\n") + "\n";
}

const MASTER = [
  "#EXTM3U",
  '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="main",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio/index.m3u8"',
  '#EXT-X-STREAM-INF:BANDWIDTH=500000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=640x360,AUDIO="audio"',
  "360p/index.m3u8",
  "",
].join("\n");

describe("simulated viewer with an audio rendition", () => {
  let server: http.Server;
  let base: string;
  const requested: string[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      requested.push(path);
      if (path === "/live/a/master.m3u8") return res.end(MASTER);
      if (/^\/live\/a\/(360p|audio)\/index\.m3u8$/.test(path)) return res.end(playlist());
      if (/^\/live\/a\/(360p|audio)\/(init-e-0\.mp4|e-p?\d+\.m4s)$/.test(path))
        return res.end(Buffer.alloc(path.includes("audio") ? 100 : 1000));
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  for (const mode of ["ll", "standard"] as const) {
    it(`loads the default audio rendition beside the video (${mode})`, async () => {
      requested.length = 0;
      const stats = await runSimulatedViewer({ masterUrl: `${base}/live/a/master.m3u8`, durationMs: 5_000, mode, variantIndex: 0 });
      expect(stats.errors).toEqual([]);
      expect(stats.ended).toBe(true);
      const audio = requested.filter((p) => p.startsWith("/live/a/audio/"));
      const video = requested.filter((p) => p.startsWith("/live/a/360p/"));
      expect(audio).toContain("/live/a/audio/index.m3u8");
      expect(audio).toContain("/live/a/audio/init-e-0.mp4");
      const media = (paths: string[]) => paths.filter((p) => p.endsWith(".m4s")).map((p) => p.split("/").at(-1));
      // the same media of both renditions, counted apart
      expect(media(audio)).toEqual(media(video));
      if (mode === "ll") {
        expect(stats.parts).toBeGreaterThan(0);
        expect(stats.audio).toMatchObject({ parts: stats.parts, segments: stats.segments });
      } else {
        expect(stats.segments).toBeGreaterThan(0);
        expect(stats.audio).toMatchObject({ segments: stats.segments, parts: 0 });
      }
      expect(stats.requests).toBe(requested.length);
    });
  }
});
