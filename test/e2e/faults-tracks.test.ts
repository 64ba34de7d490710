/**
 * Interop: a broadcaster that publishes without audio, then reconnects with
 * audio, used to change the stream's track layout under a master playlist
 * cached for a day (hls.js: fatal bufferAppendError). Now every run has video
 * and audio (a silent track stands in), so the layout never changes.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MediaPlaylist } from "hls-parser/types.js";
import { afterAll, describe, expect, inject, it } from "vitest";
import { resolveFfprobe } from "../../origin/ffmpeg.js";
import { parseInit } from "../../origin/packager/boxes.js";
import { startTestSource, type TestSource } from "../../origin/tools/test-source.js";
import { createStream, eventually, fetchText, parsePlaylist } from "./helpers.js";

describe("stable track layout across reconnects", () => {
  const edge = inject("edgeUrl");
  const sources: TestSource[] = [];
  afterAll(async () => {
    for (const source of sources) await source.stop();
  });

  it("video-only, then a reconnect with audio: the master and every init keep video + audio, and both runs decode", async () => {
    const stream = await createStream("tracks");
    sources.push(startTestSource({ rtmpUrl: stream.ingestUrl, width: 320, height: 180, noAudio: true, durationSec: 60 }));
    const master = await eventually(
      async () => {
        const r = await fetchText(`${edge}/live/${stream.streamId}/master.m3u8`);
        return r.status === 200 ? r.text : undefined;
      },
      40_000,
      "the master playlist",
    );
    expect(master).toMatch(/CODECS="avc1\.[0-9a-f]+,mp4a\.40\.2"/);
    const mediaUrl = `${edge}/live/${stream.streamId}/${/^(\S+\/index\.m3u8)$/m.exec(master)![1]}`;
    await eventually(async () => ((parsePlaylist((await fetchText(mediaUrl)).text) as MediaPlaylist).segments.length >= 2 ? true : undefined), 20_000, "two segments");

    await sources[0]!.stop(); // the broadcaster drops...
    sources.push(startTestSource({ rtmpUrl: stream.ingestUrl, width: 320, height: 180, durationSec: 60 })); // ...and returns with audio
    const playlist = await eventually(
      async () => {
        const p = parsePlaylist((await fetchText(mediaUrl)).text) as MediaPlaylist;
        const at = p.segments.findIndex((s) => s.discontinuity);
        return at >= 0 && p.segments.length > at + 1 ? p : undefined;
      },
      30_000,
      "segments after the reconnect",
    );
    const base = mediaUrl.replace(/index\.m3u8$/, "");
    const firstRun = playlist.segments.find((s) => !s.discontinuity)!;
    const secondRun = playlist.segments.find((s) => s.discontinuity)!;
    expect(firstRun.map!.uri).not.toBe(secondRun.map!.uri);
    const dir = mkdtempSync(join(tmpdir(), "tracks-"));
    for (const segment of [firstRun, secondRun]) {
      const init = Buffer.from(await (await fetch(base + segment.map!.uri)).arrayBuffer());
      expect(parseInit(init).tracks.map((t) => t.kind).sort()).toEqual(["audio", "video"]);
      const media = Buffer.from(await (await fetch(base + segment.uri)).arrayBuffer());
      const file = join(dir, `${segment.mediaSequenceNumber}.mp4`);
      writeFileSync(file, Buffer.concat([init, media]));
      const probe = spawnSync(resolveFfprobe(), ["-v", "error", "-count_frames", "-show_entries", "stream=codec_type,nb_read_frames", "-of", "json", file], { encoding: "utf8" });
      expect(probe.status).toBe(0);
      const streams = (JSON.parse(probe.stdout) as { streams: Array<{ codec_type: string; nb_read_frames: string }> }).streams;
      expect(Number(streams.find((s) => s.codec_type === "audio")!.nb_read_frames)).toBeGreaterThan(50);
      expect(Number(streams.find((s) => s.codec_type === "video")!.nb_read_frames)).toBeGreaterThan(20);
    }
    // the master was published once and did not need to change
    expect((await fetchText(`${edge}/live/${stream.streamId}/master.m3u8`)).text).toBe(master);
  });
});
