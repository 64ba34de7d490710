/**
 * LL-HLS end to end: a broadcaster publishes over RTMP (FFmpeg, real time),
 * the origin packages 1/3 s parts, blocking requests go through the edge
 * and the mother. Checks the spec's behaviours, not speeds.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MediaPlaylist } from "hls-parser/types.js";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { resolveFfmpeg, resolveFfprobe } from "../../origin/ffmpeg.js";
import { parseInit, parseMoof, BoxSplitter } from "../../origin/packager/boxes.js";
import { ProgressClock } from "../../origin/tools/progress-clock.js";
import { createStream, eventually, fetchText, originMetrics, parsePlaylist, type CreatedStream } from "./helpers.js";

const FPS = 30;

interface Publisher {
  child: ChildProcess;
  /** Wall clock (ms) at which frame 0 left the publisher, estimated from FFmpeg's progress reports. */
  t0(): number | undefined;
  stop(): Promise<void>;
}

/** ffmpeg -re publishing a test pattern; `-progress` tells when each frame was sent. */
function publish(rtmpUrl: string, seconds: number): Publisher {
  const args = [
    "-hide_banner",
    "-loglevel",
    "error",
    "-nostdin",
    "-re",
    "-f",
    "lavfi",
    "-i",
    `testsrc2=size=320x180:rate=${FPS}`,
    "-re",
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=440:sample_rate=48000",
    "-t",
    String(seconds),
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-tune",
    "zerolatency",
    "-pix_fmt",
    "yuv420p",
    "-b:v",
    "300k",
    "-g",
    String(FPS),
    "-keyint_min",
    String(FPS),
    "-c:a",
    "aac",
    "-b:a",
    "64k",
    "-progress",
    "pipe:1",
    "-f",
    "flv",
    rtmpUrl,
  ];
  const child = spawn(resolveFfmpeg(), args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
  const clock = new ProgressClock(FPS);
  child.stdout!.on("data", (data: Buffer) => clock.feed(data.toString("utf8")));
  child.stderr!.on("data", () => {});
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    child,
    t0: () => clock.t0,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGINT");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The directive for the part after the newest one listed (as hls.js asks it). */
function nextPartOf(text: string): { msn: number; part: number } {
  const playlist = parsePlaylist(text) as MediaPlaylist;
  const last = playlist.segments.filter((s) => s.uri).at(-1)!;
  const open = text.slice(text.lastIndexOf(`\n${last.uri}\n`) + last.uri.length + 2).match(/#EXT-X-PART:/g)?.length ?? 0;
  return { msn: last.mediaSequenceNumber + 1, part: open };
}

describe("LL-HLS through the edge", () => {
  const edge = inject("edgeUrl");
  let stream: CreatedStream;
  let source: Publisher;
  let rendition: string;
  const mediaUrl = () => `${edge}/live/${stream.streamId}/${rendition}/index.m3u8`;

  beforeAll(async () => {
    stream = await createStream("ll-hls");
    source = publish(stream.ingestUrl, 40);
    const master = await eventually(
      async () => {
        const r = await fetchText(`${edge}/live/${stream.streamId}/master.m3u8`);
        return r.status === 200 ? r.text : undefined;
      },
      40_000,
      "the master playlist",
    );
    rendition = /^([a-z0-9_]+)\/index\.m3u8$/m.exec(master)![1]!;
  });
  afterAll(async () => {
    await source?.stop();
  });

  it("media playlists carry parts, server control, a preload hint and rendition reports", async () => {
    const { text, headers } = await fetchText(mediaUrl());
    expect(headers.get("cache-control")).toBe("public, max-age=1");
    expect(text).toMatch(/^#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=[\d.]+,HOLD-BACK=6$/m);
    const partTarget = Number(/^#EXT-X-PART-INF:PART-TARGET=([\d.]+)$/m.exec(text)![1]);
    expect(partTarget).toBeGreaterThanOrEqual(1 / 3 - 0.001);
    expect(partTarget).toBeLessThan(0.4);
    expect(text).toMatch(/#EXT-X-PART:DURATION=[\d.]+,URI="[a-z0-9]+-p\d+\.m4s",INDEPENDENT=YES/);
    expect(text).toMatch(/#EXT-X-PRELOAD-HINT:TYPE=PART,URI="[a-z0-9]+-p\d+\.m4s"/);
    expect(text).toMatch(/#EXT-X-RENDITION-REPORT:URI="\.\.\/[a-z0-9_]+\/index\.m3u8",LAST-MSN=\d+,LAST-PART=\d+/);
    expect(text).toMatch(/#EXT-X-RENDITION-REPORT:URI="\.\.\/audio\/index\.m3u8",LAST-MSN=\d+,LAST-PART=\d+/);

    // the one audio rendition is a full LL-HLS playlist too, shared by every variant of the master
    const master = (await fetchText(`${edge}/live/${stream.streamId}/master.m3u8`)).text;
    expect(master).toMatch(
      /^#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="main",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio\/index\.m3u8"$/m,
    );
    const variants = master.match(/^#EXT-X-STREAM-INF:.*$/gm)!;
    expect(variants.length).toBeGreaterThan(0);
    for (const v of variants) expect(v).toMatch(/CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2".*AUDIO="audio"/);
    const audio = await fetchText(`${edge}/live/${stream.streamId}/audio/index.m3u8`);
    expect(audio.status).toBe(200);
    expect(audio.text).toMatch(/^#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=[\d.]+,HOLD-BACK=6$/m);
    expect(audio.text).toMatch(/#EXT-X-PART:DURATION=[\d.]+,URI="[a-z0-9]+-p\d+\.m4s",INDEPENDENT=YES/);
    expect(audio.text).toMatch(/#EXT-X-PRELOAD-HINT:TYPE=PART,URI="[a-z0-9]+-p\d+\.m4s"/);
    expect(audio.text).toMatch(new RegExp(`#EXT-X-RENDITION-REPORT:URI="\\.\\./${rendition}/index\\.m3u8",LAST-MSN=\\d+,LAST-PART=\\d+`));
    expect(audio.text).toMatch(/#EXT-X-PROGRAM-DATE-TIME:/);
  });

  it("a blocking request for the next part returns when that part appears, and names it", async () => {
    const { text } = await fetchText(mediaUrl());
    const playlist = parsePlaylist(text) as MediaPlaylist;
    const lastMsn = playlist.mediaSequenceBase! + playlist.segments.length - 1;
    // the open segment's parts after the last complete segment
    const open = text.slice(text.lastIndexOf(playlist.segments.at(-1)!.uri) + 1).match(/#EXT-X-PART:/g)?.length ?? 0;
    const nextPart = { msn: lastMsn + 1, part: open };
    const hint = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^"]+)"/.exec(text)![1]!;
    const asked = Date.now();
    const answer = await fetchText(`${mediaUrl()}?_HLS_msn=${nextPart.msn}&_HLS_part=${nextPart.part}`);
    const waited = Date.now() - asked;
    expect(answer.status).toBe(200);
    // the hinted part is in the answer (as the next part, or the first part of a new segment)
    expect(answer.text).toContain(`URI="${hint}"`);
    expect(answer.headers.get("cache-control")).toBe("public, max-age=86400");
    // it was held for the part, not answered from a stale copy: the hinted part was not complete in
    // the playlist we read before asking, and is a complete part in the answer
    const asPart = new RegExp(`#EXT-X-PART:[^\\n]*URI="${hint}"`);
    expect(text).not.toMatch(asPart);
    expect(answer.text).toMatch(asPart);
    console.log(`ll-hls: blocking request for msn ${nextPart.msn} part ${nextPart.part} held ${waited} ms`);

    // the answer is cached at the edge under the canonical key
    const again = await fetchText(`${mediaUrl()}?_HLS_part=${nextPart.part}&_HLS_msn=${nextPart.msn}&utm=x`);
    expect(again.text).toBe(answer.text);

    // and the hinted part itself, requested before it exists, is held until it is complete
    const hint2 = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^"]+)"/.exec(answer.text)![1]!;
    const part = await fetch(`${edge}/live/${stream.streamId}/${rendition}/${hint2}`);
    expect(part.status).toBe(200);
    expect(part.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect((await part.arrayBuffer()).byteLength).toBeGreaterThan(100);
  });

  it("the audio rendition's parts are answered with the video's: blocking requests for the same part of both", async () => {
    const audioUrl = `${edge}/live/${stream.streamId}/audio/index.m3u8`;
    const gaps: number[] = [];
    let { text } = await fetchText(mediaUrl());
    for (let i = 0; i < 5; i++) {
      const directive = nextPartOf(text);
      const query = `?_HLS_msn=${directive.msn}&_HLS_part=${directive.part}`;
      const answered = async (url: string) => {
        const r = await fetchText(url + query);
        expect(r.status, url).toBe(200);
        return { at: Date.now(), text: r.text };
      };
      const [video, audio] = await Promise.all([answered(mediaUrl()), answered(audioUrl)]);
      gaps.push(audio.at - video.at);
      text = video.text;
    }
    // (a figure, not a bound: the audio part is cut once the AAC frames reach the video part's end)
    console.log(`audio answer − video answer for the same part (ms): ${gaps.join(", ")}`);
  });

  it("refuses blocking requests too far ahead and malformed directives, 400 before the origin", async () => {
    const before = await originMetrics();
    const far = await fetchText(`${mediaUrl()}?_HLS_msn=999999`);
    expect(far.status).toBe(400);
    expect(far.text).toContain("msn_too_far");
    expect((await fetchText(`${mediaUrl()}?_HLS_part=1`)).status).toBe(400);
    const after = await originMetrics();
    const origin400 = (m: Map<string, number>) => m.get('origin_hls_requests_total{type="media",status="400"}') ?? 0;
    expect(origin400(after)).toBe(origin400(before));
  });

  it("parts fetched through the edge concatenate into their segment and decode (ffprobe): video only, audio only, aligned", async () => {
    const { text } = await fetchText(mediaUrl());
    const playlist = parsePlaylist(text) as MediaPlaylist;
    const decoded = await partsOfLastSegment(rendition, text);
    expect(decoded.streams.map((s) => s.codec_type)).toEqual(["video"]);
    expect(Number(decoded.streams[0]!.nb_read_frames)).toBeGreaterThanOrEqual(55); // ~2 s at 30 fps
    // the audio rendition's segment with the same msn: the same part numbers, audio only
    const audioText = (
      await fetchText(`${edge}/live/${stream.streamId}/audio/index.m3u8?_HLS_msn=${playlist.segments.at(-1)!.mediaSequenceNumber}`)
    ).text;
    const audio = await partsOfLastSegment("audio", audioText, playlist.segments.at(-1)!.uri);
    expect(audio.parts).toEqual(decoded.parts);
    expect(audio.streams.map((s) => s.codec_type)).toEqual(["audio"]);
    expect(Number(audio.streams[0]!.nb_read_frames)).toBeGreaterThanOrEqual(90); // ~2 s of 21.3 ms AAC frames
  });

  /** The parts of segment `segUri` (default: the playlist's last complete one) through the edge: they concatenate into it; ffprobe on init + parts. */
  async function partsOfLastSegment(dir: string, text: string, segUri?: string) {
    const playlist = parsePlaylist(text) as MediaPlaylist;
    const lines = text.split("\n");
    segUri ??= playlist.segments.at(-1)!.uri;
    const segment = playlist.segments.find((s) => s.uri === segUri)!;
    const at = lines.indexOf(segUri);
    const parts: string[] = [];
    for (let i = at - 1; i >= 0 && !/^[a-z0-9]+-\d+\.m4s$/.test(lines[i]!); i--) {
      const m = /^#EXT-X-PART:.*URI="([^"]+)"/.exec(lines[i]!);
      if (m) parts.unshift(m[1]!);
    }
    expect(parts.length).toBeGreaterThanOrEqual(5);
    const base = `${edge}/live/${stream.streamId}/${dir}/`;
    const bodies = await Promise.all(parts.map(async (p) => Buffer.from(await (await fetch(base + p)).arrayBuffer())));
    const whole = Buffer.from(await (await fetch(base + segUri)).arrayBuffer());
    expect(Buffer.concat(bodies).equals(whole)).toBe(true);
    expect(whole.toString("latin1", 4, 8)).toBe("styp"); // a CMAF segment, and so its first part

    const init = Buffer.from(await (await fetch(base + segment.map!.uri)).arrayBuffer());
    expect(init.toString("latin1", 4, 12)).toBe("ftypcmfc");
    const file = join(mkdtempSync(join(tmpdir(), "ll-parts-")), `${dir}.mp4`);
    writeFileSync(file, Buffer.concat([init, ...bodies]));
    const probe = spawnSync(
      resolveFfprobe(),
      ["-v", "error", "-count_frames", "-show_entries", "stream=codec_type,nb_read_frames", "-of", "json", file],
      { encoding: "utf8" },
    );
    expect(probe.status).toBe(0);
    const streams = (JSON.parse(probe.stdout) as { streams: Array<{ codec_type: string; nb_read_frames: string }> }).streams;
    return { parts, streams };
  }

  it("program date-time is the publisher's send time, not the transcoder's output time (bias < 0.35 s)", async () => {
    const t0 = source.t0();
    expect(t0).toBeDefined();
    const { text } = await fetchText(mediaUrl());
    const playlist = parsePlaylist(text) as MediaPlaylist;
    const base = `${edge}/live/${stream.streamId}/${rendition}/`;
    const init = parseInit(Buffer.from(await (await fetch(base + playlist.segments[0]!.map!.uri)).arrayBuffer()));
    const video = init.tracks.find((t) => t.kind === "video")!;
    const biases: number[] = [];
    for (const segment of playlist.segments.slice(-3)) {
      const bytes = Buffer.from(await (await fetch(base + segment.uri)).arrayBuffer());
      const moof = new BoxSplitter().push(bytes).find((b) => b.type === "moof");
      const frag = parseMoof(moof!.data, init.tracks).find((f) => f.trackId === video.trackId)!;
      // output decode time 0 is the publisher's frame 0: this segment's first frame left the publisher at t0 + dts
      const sentAt = t0! + (frag.baseMediaDecodeTime / video.timescale) * 1000;
      biases.push(segment.programDateTime!.getTime() - sentAt);
    }
    console.log(`PDT − publisher send time, last 3 segments: ${biases.map((b) => `${Math.round(b)} ms`).join(", ")}`);
    for (const bias of biases) expect(Math.abs(bias)).toBeLessThan(350);
  });

  it("the origin refuses dot segments instead of resolving them into another route", async () => {
    const origin = new URL(inject("originUrl"));
    for (const path of [`/hls/${stream.streamId}/../../metrics`, `/hls/${stream.streamId}/%2e%2e/%2e%2e/metrics`, "/hls/x/./master.m3u8"]) {
      const status = await new Promise<number>((resolve, reject) => {
        const req = request({ host: origin.hostname, port: origin.port, path, method: "GET" }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on("error", reject);
        req.end();
      });
      expect(status, path).toBe(400);
    }
  });

  it("a standard HLS client (FFmpeg's HLS demuxer) plays the same playlists: the master's video with its audio group", async () => {
    const result = spawnSync(
      resolveFfmpeg(),
      [
        "-hide_banner",
        "-loglevel",
        "info",
        "-i",
        `${edge}/live/${stream.streamId}/master.m3u8`,
        "-map",
        "0:v:0",
        "-map",
        "0:a:0",
        "-t",
        "3",
        "-f",
        "null",
        "-",
      ],
      { encoding: "utf8", timeout: 60_000 },
    );
    expect(result.status, result.stderr).toBe(0);
    // both streams were read from the master (the video from a variant, the audio from the audio rendition) and decoded
    expect(result.stderr).toMatch(/Stream #0:\d+[^\n]*: Video: h264/);
    expect(result.stderr).toMatch(/Stream #0:\d+[^\n]*: Audio: aac/);
    expect(result.stderr).toMatch(/-> #0:0 \(h264/);
    expect(result.stderr).toMatch(/-> #0:1 \(aac/);
    const frames = /frame=\s*(\d+)/.exec(result.stderr.slice(result.stderr.lastIndexOf("frame=")))?.[1];
    expect(Number(frames)).toBeGreaterThan(60);
  });
});
