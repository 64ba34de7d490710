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
import { BoxSplitter, parseInit, parseMoof } from "../../origin/packager/boxes.js";
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

    // the broadcaster drops again: the run's last segment closes with as much audio as video
    // (before: 0.200 s of video against 0.064 s of audio, and players jumped a hole)
    const beforeDrop = parsePlaylist((await fetchText(mediaUrl)).text) as MediaPlaylist;
    await sources[1]!.stop();
    sources.push(startTestSource({ rtmpUrl: stream.ingestUrl, width: 320, height: 180, durationSec: 60 }));
    const third = await eventually(
      async () => {
        const p = parsePlaylist((await fetchText(mediaUrl)).text) as MediaPlaylist;
        const breaks = p.segments.filter((s) => s.discontinuity && s.mediaSequenceNumber > beforeDrop.segments.at(-1)!.mediaSequenceNumber - 1);
        return breaks.length > 0 ? p : undefined;
      },
      30_000,
      "the third run",
    );
    const at = third.segments.findIndex((s) => s.discontinuity && s.mediaSequenceNumber > secondRun.mediaSequenceNumber);
    const lastOfRun2 = third.segments[at - 1]!;
    const init = parseInit(Buffer.from(await (await fetch(base + lastOfRun2.map!.uri)).arrayBuffer()));
    const bytes = Buffer.from(await (await fetch(base + lastOfRun2.uri)).arrayBuffer());
    const seconds: Record<string, number> = {};
    for (const box of new BoxSplitter().push(bytes)) {
      if (box.type !== "moof") continue;
      for (const frag of parseMoof(box.data, init.tracks)) {
        const track = init.tracks.find((t) => t.trackId === frag.trackId)!;
        seconds[track.kind] = (seconds[track.kind] ?? 0) + frag.duration / track.timescale;
      }
    }
    console.log(`last segment of a run: video ${seconds.video?.toFixed(3)} s, audio ${seconds.audio?.toFixed(3)} s`);
    // equal to within the frame sizes (33 ms of video, 21 ms of AAC) and the encoder's last frames
    expect(Math.abs(seconds.video! - seconds.audio!)).toBeLessThan(0.1);
  });
});
