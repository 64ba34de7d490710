/**
 * Interop: a broadcaster that publishes without audio, then reconnects with
 * audio, used to change the stream's track layout under a master playlist
 * cached for a day (hls.js: fatal bufferAppendError). Now every run has video
 * and audio (a silent track stands in), so the layout never changes: every
 * video rendition carries video only, the one audio rendition audio only.
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

  it("video-only, then a reconnect with audio: the master keeps its audio group, every init its one track, and both runs decode", async () => {
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
    expect(master).toMatch(/^#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",.*URI="audio\/index\.m3u8"$/m);
    const mediaUrl = `${edge}/live/${stream.streamId}/${/^(\S+\/index\.m3u8)$/m.exec(master)![1]}`;
    const audioUrl = `${edge}/live/${stream.streamId}/audio/index.m3u8`;
    await eventually(
      async () => ((parsePlaylist((await fetchText(mediaUrl)).text) as MediaPlaylist).segments.length >= 2 ? true : undefined),
      20_000,
      "two segments",
    );

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
    const audioBase = audioUrl.replace(/index\.m3u8$/, "");
    const firstRun = playlist.segments.find((s) => !s.discontinuity)!;
    const secondRun = playlist.segments.find((s) => s.discontinuity)!;
    expect(firstRun.map!.uri).not.toBe(secondRun.map!.uri);
    const dir = mkdtempSync(join(tmpdir(), "tracks-"));
    // the audio rendition has the same segments, by msn (silent in the first run, the tone in the second)
    const audioPlaylist = parsePlaylist((await fetchText(audioUrl)).text) as MediaPlaylist;
    for (const segment of [firstRun, secondRun]) {
      const audioSegment = audioPlaylist.segments.find((s) => s.mediaSequenceNumber === segment.mediaSequenceNumber)!;
      expect(audioSegment.discontinuity).toBe(segment.discontinuity);
      for (const [kind, at, item, frames] of [
        ["video", base, segment, 20],
        ["audio", audioBase, audioSegment, 50],
      ] as const) {
        const init = Buffer.from(await (await fetch(at + item.map!.uri)).arrayBuffer());
        expect(parseInit(init).tracks.map((t) => t.kind)).toEqual([kind]);
        const media = Buffer.from(await (await fetch(at + item.uri)).arrayBuffer());
        const file = join(dir, `${kind}-${item.mediaSequenceNumber}.mp4`);
        writeFileSync(file, Buffer.concat([init, media]));
        const probe = spawnSync(
          resolveFfprobe(),
          ["-v", "error", "-count_frames", "-show_entries", "stream=codec_type,nb_read_frames", "-of", "json", file],
          { encoding: "utf8" },
        );
        expect(probe.status).toBe(0);
        const streams = (JSON.parse(probe.stdout) as { streams: Array<{ codec_type: string; nb_read_frames: string }> }).streams;
        expect(streams.map((s) => s.codec_type)).toEqual([kind]);
        expect(Number(streams[0]!.nb_read_frames)).toBeGreaterThan(frames);
      }
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
        const breaks = p.segments.filter(
          (s) => s.discontinuity && s.mediaSequenceNumber > beforeDrop.segments.at(-1)!.mediaSequenceNumber - 1,
        );
        return breaks.length > 0 ? p : undefined;
      },
      30_000,
      "the third run",
    );
    const at = third.segments.findIndex((s) => s.discontinuity && s.mediaSequenceNumber > secondRun.mediaSequenceNumber);
    const lastOfRun2 = third.segments[at - 1]!;
    const audioThird = parsePlaylist((await fetchText(audioUrl)).text) as MediaPlaylist;
    const lastAudioOfRun2 = audioThird.segments.find((s) => s.mediaSequenceNumber === lastOfRun2.mediaSequenceNumber)!;
    const seconds: Record<string, number> = {};
    for (const [at, item] of [
      [base, lastOfRun2],
      [audioBase, lastAudioOfRun2],
    ] as const) {
      const init = parseInit(Buffer.from(await (await fetch(at + item.map!.uri)).arrayBuffer()));
      const bytes = Buffer.from(await (await fetch(at + item.uri)).arrayBuffer());
      for (const box of new BoxSplitter().push(bytes)) {
        if (box.type !== "moof") continue;
        for (const frag of parseMoof(box.data, init.tracks)) {
          const track = init.tracks.find((t) => t.trackId === frag.trackId)!;
          seconds[track.kind] = (seconds[track.kind] ?? 0) + frag.duration / track.timescale;
        }
      }
    }
    console.log(`last segment of a run: video ${seconds.video?.toFixed(3)} s, audio ${seconds.audio?.toFixed(3)} s`);
    // equal to within the frame sizes (33 ms of video, 21 ms of AAC) and the encoder's last frames
    expect(Math.abs(seconds.video! - seconds.audio!)).toBeLessThan(0.1);
  });
});
