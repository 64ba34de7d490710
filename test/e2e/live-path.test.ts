/**
 * The live video path as users drive it: a broadcaster publishes over RTMP
 * with FFmpeg, 50 viewers pull through the edge Worker, the origin counts what
 * it served. Nothing here is mocked.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MasterPlaylist, MediaPlaylist } from "hls-parser/types.js";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { resolveFfprobe } from "../../origin/ffmpeg.js";
import { startTestSource, type TestSource } from "../../origin/tools/test-source.js";
import { runSimulatedViewer, type ViewerStats } from "../support/simulated-viewer.js";
import { createStream, eventually, fetchText, ffprobeStreams, originMetrics, parsePlaylist, sleep, type CreatedStream } from "./helpers.js";

const VIEWERS = 50;
const VIEW_MS = 15_000;
const SOURCE_SECONDS = 30;

function checkMediaPlaylist(text: string): MediaPlaylist {
  const playlist = parsePlaylist(text) as MediaPlaylist;
  expect(playlist.isMasterPlaylist).toBe(false);
  expect(playlist.version).toBeGreaterThanOrEqual(7);
  expect(playlist.targetDuration).toBe(2);
  expect(playlist.independentSegments).toBe(true);
  expect(text).toContain("#EXT-X-INDEPENDENT-SEGMENTS");
  expect(playlist.segments.length).toBeGreaterThan(0);
  expect(playlist.segments.length).toBeLessThanOrEqual(6);
  let previous: number | undefined;
  for (const segment of playlist.segments) {
    expect(Math.round(segment.duration)).toBeLessThanOrEqual(playlist.targetDuration);
    expect(segment.map?.uri).toMatch(/^init-[a-z0-9]+-\d+\.mp4$/);
    expect(segment.uri).toMatch(/^[a-z0-9]+-\d+\.m4s$/);
    expect(segment.programDateTime).toBeInstanceOf(Date);
    const pdt = segment.programDateTime!.getTime();
    if (previous !== undefined) expect(pdt).toBeGreaterThan(previous);
    previous = pdt;
  }
  return playlist;
}

describe("live path: RTMP → FFmpeg ladder → packager → origin → mother → edge", () => {
  const edge = inject("edgeUrl");
  let stream: CreatedStream;
  let source: TestSource;

  beforeAll(async () => {
    stream = await createStream("live path");
    source = startTestSource({ rtmpUrl: stream.ingestUrl, width: 640, height: 360, durationSec: SOURCE_SECONDS });
  });
  afterAll(async () => {
    await source?.stop();
  });

  it("serves a valid master playlist through the edge, cached long", async () => {
    const master = await eventually(
      async () => {
        const r = await fetchText(`${edge}/live/${stream.streamId}/master.m3u8`);
        return r.status === 200 ? r : undefined;
      },
      40_000,
      "the master playlist",
    );
    const playlist = parsePlaylist(master.text) as MasterPlaylist;
    expect(playlist.isMasterPlaylist).toBe(true);
    expect(playlist.variants).toHaveLength(2);
    for (const variant of playlist.variants) {
      expect(variant.bandwidth).toBeGreaterThan(0);
      expect(variant.averageBandwidth).toBeGreaterThan(0);
      expect(variant.codecs).toMatch(/^avc1\.[0-9a-f]{6},mp4a\.40\.\d$/);
      expect(variant.resolution?.height).toBeGreaterThan(0);
      expect(variant.frameRate).toBe(30);
    }
    expect(master.headers.get("cache-control")).toMatch(/max-age=\d{4,}/);
    expect(master.headers.get("content-type")).toContain("mpegurl");
  });

  it("refuses a publish with an unknown stream key before any FFmpeg starts (while a real stream is live)", async () => {
    const before = await originMetrics();
    const intruder = startTestSource({
      rtmpUrl: `${inject("rtmpBaseUrl")}/sk_${randomBytes(20).toString("hex")}`,
      width: 160,
      height: 90,
      durationSec: 10,
    });
    const code = await Promise.race([intruder.exited, sleep(15_000).then(() => "still running")]);
    await intruder.stop();
    expect(code).not.toBe("still running");
    expect(code).not.toBe(0);
    const after = await originMetrics();
    expect(after.get("origin_publish_refused_total")).toBe((before.get("origin_publish_refused_total") ?? 0) + 1);
    expect(after.get("origin_publish_accepted_total")).toBe(before.get("origin_publish_accepted_total"));
  });

  it("50 concurrent viewers play through the edge while the origin serves each segment once", async () => {
    const masterUrl = `${edge}/live/${stream.streamId}/master.m3u8`;
    const before = await originMetrics();
    // Half LL-HLS viewers (blocking reloads, parts), half standard HLS (whole segments) on the same playlists.
    const viewers: ViewerStats[] = await Promise.all(
      Array.from({ length: VIEWERS }, (_, i) =>
        runSimulatedViewer({
          masterUrl,
          durationMs: VIEW_MS,
          variantIndex: i % 2,
          keepPlaylists: i < 4 || (i >= VIEWERS / 2 && i < VIEWERS / 2 + 4),
          mode: i < VIEWERS / 2 ? "ll" : "standard",
        }),
      ),
    );
    const errors = viewers.flatMap((v) => v.errors);
    expect(errors).toEqual([]);
    for (const viewer of viewers) {
      if (viewer.mode === "standard") expect(viewer.segments).toBeGreaterThanOrEqual(4);
      else expect(viewer.parts).toBeGreaterThanOrEqual(8);
      // the audio rendition alongside, the same way
      if (viewer.mode === "standard") expect(viewer.audio?.segments).toBeGreaterThanOrEqual(4);
      else expect(viewer.audio?.parts).toBeGreaterThanOrEqual(8);
    }
    expect(viewers.filter((v) => v.mode === "ll")).toHaveLength(VIEWERS / 2);
    for (const text of viewers.flatMap((v) => v.playlists)) checkMediaPlaylist(text);

    const metrics = await originMetrics();
    const delta = (key: string) => (metrics.get(key) ?? 0) - (before.get(key) ?? 0);
    // Every segment and init the viewers pulled reached the origin exactly once.
    expect(metrics.get('origin_hls_max_fetches_per_object{type="segment"}')).toBe(1);
    expect(metrics.get('origin_hls_max_fetches_per_object{type="init"}')).toBe(1);
    const originSegments = delta('origin_hls_object_fetches_total{type="segment"}');
    const originParts = delta('origin_hls_object_fetches_total{type="part"}');
    // (the viewers load the audio rendition beside the video, as players do: both count)
    const viewerSegments = viewers.reduce((sum, v) => sum + v.segments + (v.audio?.segments ?? 0), 0);
    const viewerParts = viewers.reduce((sum, v) => sum + v.parts + (v.audio?.parts ?? 0), 0);
    expect(viewerSegments + viewerParts).toBeGreaterThan((originSegments + originParts) * 10);
    // Playlists: about one origin fetch per rendition per freshness window (plain) or per
    // distinct blocking answer, not per viewer.
    const playlistFetches =
      delta('origin_hls_object_fetches_total{type="media"}') + delta('origin_hls_object_fetches_total{type="blocking"}');
    const viewerPlaylistRequests = viewers.reduce(
      (sum, v) => sum + v.requests - v.segments - v.parts - (v.audio?.segments ?? 0) - (v.audio?.parts ?? 0),
      0,
    );
    expect(playlistFetches).toBeLessThan(viewerPlaylistRequests / 5);
    const tiers = viewers.reduce<Record<string, number>>((acc, v) => {
      for (const [k, n] of Object.entries(v.tiers)) acc[k] = (acc[k] ?? 0) + n;
      return acc;
    }, {});
    // the edge answers from its isolate memory ("edge-memory") or the Cache API ("edge-hit")
    expect((tiers["edge-hit"] ?? 0) + (tiers["edge-memory"] ?? 0)).toBeGreaterThan(0);
    console.info(
      `[offload] ${VIEWERS} viewers (${VIEWERS / 2} LL-HLS), ${VIEW_MS / 1000} s: viewer segment requests ${viewerSegments}, part requests ${viewerParts}, ` +
        `origin segment fetches ${originSegments}, part fetches ${originParts}; ` +
        `viewer playlist requests ${viewerPlaylistRequests}, origin playlist fetches ${playlistFetches}; tiers ${JSON.stringify(tiers)}`,
    );
  });

  it("a segment fetched through the edge decodes at the rendition's resolution (video only, its audio in the audio rendition), cached immutable", async () => {
    const master = parsePlaylist((await fetchText(`${edge}/live/${stream.streamId}/master.m3u8`)).text) as MasterPlaylist;
    const top = master.variants.find((v) => v.resolution?.height === 180)!;
    expect(top).toBeDefined();
    const mediaUrl = `${edge}/live/${stream.streamId}/${top.uri}`;
    const media = await fetchText(mediaUrl);
    expect(media.headers.get("cache-control")).toMatch(/max-age=[12]\b/);
    const playlist = checkMediaPlaylist(media.text);
    const segment = playlist.segments.at(-1)!;
    const initResponse = await fetch(new URL(segment.map!.uri, mediaUrl));
    const segmentResponse = await fetch(new URL(segment.uri, mediaUrl));
    expect(segmentResponse.headers.get("cache-control")).toContain("immutable");
    expect(segmentResponse.headers.get("content-type")).toMatch(/video\/(iso\.segment|mp4)/);
    const dir = mkdtempSync(join(tmpdir(), "edge-hls-probe-"));
    const file = join(dir, "probe.mp4");
    writeFileSync(file, Buffer.concat([Buffer.from(await initResponse.arrayBuffer()), Buffer.from(await segmentResponse.arrayBuffer())]));
    const streams = ffprobeStreams(file);
    const video = streams.find((s) => s.codec_type === "video");
    expect(video?.codec_name).toBe("h264");
    expect(video?.height).toBe(180);
    expect(video?.width).toBe(320);
    expect(streams.map((s) => s.codec_type)).toEqual(["video"]);
    // the shared audio rendition: its segment of the same msn is audio only
    const audioUrl = `${edge}/live/${stream.streamId}/audio/index.m3u8`;
    const audioPlaylist = checkMediaPlaylist((await fetchText(audioUrl)).text);
    const audioSegment =
      audioPlaylist.segments.find((s) => s.mediaSequenceNumber === segment.mediaSequenceNumber) ?? audioPlaylist.segments.at(-1)!;
    const audioFile = join(dir, "audio.mp4");
    writeFileSync(
      audioFile,
      Buffer.concat([
        Buffer.from(await (await fetch(new URL(audioSegment.map!.uri, audioUrl))).arrayBuffer()),
        Buffer.from(await (await fetch(new URL(audioSegment.uri, audioUrl))).arrayBuffer()),
      ]),
    );
    expect(ffprobeStreams(audioFile).map((s) => [s.codec_type, s.codec_name])).toEqual([["audio", "aac"]]);
  });

  it("ends with EXT-X-ENDLIST once the broadcaster is gone past the grace period", async () => {
    await source.stop();
    const master = parsePlaylist((await fetchText(`${edge}/live/${stream.streamId}/master.m3u8`)).text) as MasterPlaylist;
    const mediaUrl = `${edge}/live/${stream.streamId}/${master.variants[0]!.uri}`;
    const ended = await eventually(
      async () => {
        const r = await fetchText(mediaUrl);
        return r.status === 200 && r.text.includes("#EXT-X-ENDLIST") ? r.text : undefined;
      },
      inject("reconnectGraceMs") + 15_000,
      "EXT-X-ENDLIST",
    );
    expect((parsePlaylist(ended) as MediaPlaylist).endlist).toBe(true);
    await eventually(
      async () => {
        const info = (await (await fetch(`${edge}/api/streams/${stream.streamId}`)).json()) as { status: string };
        return info.status === "ended" ? true : undefined;
      },
      10_000,
      "the stream's status to be ended",
    );
    // An ended stream's key no longer publishes.
    const retry = startTestSource({ rtmpUrl: stream.ingestUrl, width: 160, height: 90, durationSec: 10 });
    const code = await Promise.race([retry.exited, sleep(15_000).then(() => "still running")]);
    await retry.stop();
    expect(code).not.toBe("still running");
    expect(code).not.toBe(0);
  });
});

describe("recording and thumbnails", () => {
  it("a 20 s stream becomes a playable VOD in R2 with thumbnails", async () => {
    const edge = inject("edgeUrl");
    const stream = await createStream("recorded");
    const startedAt = Date.now();
    const source = startTestSource({ rtmpUrl: stream.ingestUrl, width: 320, height: 180, durationSec: 20 });
    await source.exited;
    const publishedSeconds = (Date.now() - startedAt) / 1000;
    const vodUrl = `${edge}/vod/${stream.streamId}/index.m3u8`;
    const vod = await eventually(
      async () => {
        const r = await fetchText(vodUrl);
        return r.status === 200 ? r : undefined;
      },
      inject("reconnectGraceMs") + 20_000,
      "the VOD playlist",
    );
    // the recording's URL is its master: the top rendition's video and the audio rendition, the live layout
    const master = parsePlaylist(vod.text) as MasterPlaylist;
    expect(master.isMasterPlaylist).toBe(true);
    expect(master.variants).toHaveLength(1);
    expect(master.variants[0]!.audio.map((a) => a.uri)).toEqual(["audio/index.m3u8"]);
    expect(vod.headers.get("cache-control")).toMatch(/max-age=\d{4,}/);
    expect((await fetchText(`${edge}/vod/${stream.streamId}/master.m3u8`)).text).toBe(vod.text);
    const videoUrl = new URL(master.variants[0]!.uri, vodUrl).href;
    const videoText = (await fetchText(videoUrl)).text;
    const playlist = parsePlaylist(videoText) as MediaPlaylist;
    expect(videoText).toContain("#EXT-X-PLAYLIST-TYPE:VOD");
    expect(playlist.endlist).toBe(true);
    const audioPlaylist = parsePlaylist((await fetchText(new URL("audio/index.m3u8", vodUrl).href)).text) as MediaPlaylist;
    expect(audioPlaylist.endlist).toBe(true);
    expect(audioPlaylist.segments.map((s) => s.uri)).toEqual(playlist.segments.map((s) => s.uri));
    const total = playlist.segments.reduce((sum, s) => sum + s.duration, 0);
    expect(total).toBeGreaterThan(20 - 2);
    expect(total).toBeLessThanOrEqual(publishedSeconds + 2);
    // The same inits and segments play back: ffprobe reads the VOD over HTTP through the edge, video and audio from one URL.
    const probe = spawnSync(
      resolveFfprobe(),
      ["-v", "error", "-show_entries", "format=duration:stream=codec_type", "-of", "json", vodUrl],
      { encoding: "utf8" },
    );
    expect(probe.status, probe.stderr).toBe(0);
    const probed = JSON.parse(probe.stdout) as { format: { duration: string }; streams: Array<{ codec_type: string }> };
    expect(Math.abs(Number(probed.format.duration) - total)).toBeLessThanOrEqual(2);
    expect(probed.streams.map((s) => s.codec_type).sort()).toEqual(["audio", "video"]);
    const segment = await fetch(new URL(playlist.segments[0]!.uri, videoUrl));
    expect(segment.status).toBe(200);
    expect(segment.headers.get("cache-control")).toContain("immutable");

    const thumb = await fetch(`${edge}/thumbnails/${stream.streamId}/0.jpg`);
    expect(thumb.status).toBe(200);
    expect(thumb.headers.get("content-type")).toBe("image/jpeg");
    const jpeg = Buffer.from(await thumb.arrayBuffer());
    expect(jpeg.subarray(0, 2).toString("hex")).toBe("ffd8");
    expect((await fetch(`${edge}/thumbnails/${stream.streamId}/2.jpg`)).status).toBe(200);
  });
});

describe("broadcaster reconnect", () => {
  it("continues the same stream with EXT-X-DISCONTINUITY when the broadcaster returns within the grace period", async () => {
    const edge = inject("edgeUrl");
    const stream = await createStream("reconnect");
    const first = startTestSource({ rtmpUrl: stream.ingestUrl, width: 320, height: 180, durationSec: 7 });
    await first.exited;
    const second = startTestSource({ rtmpUrl: stream.ingestUrl, width: 320, height: 180, durationSec: 12 });
    try {
      const master = await eventually(
        async () => {
          const r = await fetchText(`${edge}/live/${stream.streamId}/master.m3u8`);
          return r.status === 200 ? (parsePlaylist(r.text) as MasterPlaylist) : undefined;
        },
        20_000,
        "master",
      );
      const mediaUrl = `${edge}/live/${stream.streamId}/${master.variants[0]!.uri}`;
      const text = await eventually(
        async () => {
          const r = await fetchText(mediaUrl);
          // a complete segment after the discontinuity (with LL-HLS the tag shows first on the open segment's parts)
          if (r.status !== 200) return undefined;
          const complete = (parsePlaylist(r.text) as MediaPlaylist).segments;
          return complete.some((s) => s.discontinuity) ? r.text : undefined;
        },
        30_000,
        "a discontinuity in the media playlist",
      );
      const playlist = checkMediaPlaylist(text);
      const index = playlist.segments.findIndex((s) => s.discontinuity);
      expect(index).toBeGreaterThan(0);
      const before = playlist.segments[index - 1]!;
      const after = playlist.segments[index]!;
      expect(after.mediaSequenceNumber).toBe(before.mediaSequenceNumber + 1);
      expect(after.map?.uri).not.toBe(before.map?.uri);
      const info = (await (await fetch(`${edge}/api/streams/${stream.streamId}`)).json()) as { status: string };
      expect(info.status).toBe("live");
    } finally {
      await second.stop();
    }
  });
});
