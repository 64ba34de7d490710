/**
 * StreamPackager against real FFmpeg output: the origin's own ladder command
 * (one video-only fMP4 per rendition, one audio-only fMP4) on a synthetic
 * FLV source.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import HLS from "hls-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initName, partName, segmentName } from "../../common/hls-paths.js";
import { resolveFfprobe } from "../../origin/ffmpeg.js";
import { BoxSplitter, parseInit, parseMoof } from "../../origin/packager/boxes.js";
import { SEGMENT_BRANDS } from "../../origin/packager/cmaf.js";
import { encodeTracks, interleaved, pieces } from "./packager-media.js";
import {
  StreamPackager,
  type InitEvent,
  type PackagerOptions,
  type RenditionSpec,
  type SegmentEvent,
} from "../../origin/packager/stream-packager.js";

const run = promisify(execFile);

const SPEC: RenditionSpec = {
  name: "r240p",
  width: 320,
  height: 240,
  videoBitrate: 200_000,
  audioBitrate: 64_000,
  frameRate: 30,
};

const T0 = Date.UTC(2025, 5, 1, 12, 0, 0, 0);

function makePackager(extra: Partial<PackagerOptions> = {}) {
  const clock = { ms: T0 };
  const packager = new StreamPackager({
    streamId: "teststream01",
    renditions: [SPEC],
    epoch: "ep1",
    partTarget: 0.5,
    now: () => (clock.ms += 7),
    ...extra,
  });
  const segments: SegmentEvent[] = [];
  const inits: InitEvent[] = [];
  const errors: Error[] = [];
  packager.on("segment", (e) => segments.push(e));
  packager.on("init", (e) => inits.push(e));
  packager.on("error", (e) => errors.push(e));
  return { packager, segments, inits, errors, clock };
}

type Tracks = Record<string, Buffer>;

/** One run: every input's bytes, interleaved in random pieces as pipes deliver them. */
function feed(packager: StreamPackager, tracks: Tracks, seed: number, renditions: string[] = [SPEC.name]) {
  const input = packager.beginRun();
  const inputs: Tracks = { audio: tracks.audio! };
  for (const name of renditions) inputs[name] = tracks[SPEC.name]!;
  for (const [name, piece] of interleaved(inputs, seed)) input.write(name, piece);
  return input;
}

/** Brands of the ftyp / styp box at the start of `bytes`. */
function brands(bytes: Buffer, type: "ftyp" | "styp") {
  expect(bytes.toString("latin1", 4, 8)).toBe(type);
  const size = bytes.readUInt32BE(0);
  const compatible: string[] = [];
  for (let at = 16; at < size; at += 4) compatible.push(bytes.toString("latin1", at, at + 4));
  return { major: bytes.toString("latin1", 8, 12), compatible, size };
}

const ofRendition = (segments: SegmentEvent[], name: string) => segments.filter((s) => s.rendition === name);

function text(packager: StreamPackager, path: string): string {
  const obj = packager.getObject(path);
  if (!obj) throw new Error(`${path} not available`);
  expect(typeof obj.body).toBe("string");
  return obj.body as string;
}

function bytes(packager: StreamPackager, path: string): Buffer {
  const obj = packager.getObject(path);
  if (!obj) throw new Error(`${path} not available`);
  expect(Buffer.isBuffer(obj.body)).toBe(true);
  return obj.body as Buffer;
}

/** The media playlist, its complete segments only (the parser also models the open segment's parts and hint as one). */
function media(packager: StreamPackager, rendition = SPEC.name): HLS.types.MediaPlaylist {
  const playlist = HLS.parse(text(packager, `${rendition}/index.m3u8`)) as HLS.types.MediaPlaylist;
  playlist.segments = playlist.segments.filter((s) => s.uri);
  return playlist;
}

/** EXT-X-PART URIs listed right before `segmentUri` (or, with no segment, the open segment's at the end). */
function partUris(playlist: string, segmentUri?: string): string[] {
  const uris: string[] = [];
  for (const line of playlist.split("\n")) {
    const part = /^#EXT-X-PART:.*URI="([^"]+)"/.exec(line);
    if (part) uris.push(part[1]!);
    else if (line.length > 0 && !line.startsWith("#")) {
      if (line === segmentUri) return uris;
      uris.length = 0;
    }
  }
  if (segmentUri !== undefined) throw new Error(`${segmentUri} not in the playlist`);
  return uris;
}

/** First moof of a segment: does each track start on a sync sample? */
function firstFragment(segment: Buffer, init: Buffer) {
  const info = parseInit(init);
  const [styp, moof] = new BoxSplitter().push(segment);
  expect(styp?.type).toBe("styp");
  expect(moof?.type).toBe("moof");
  return parseMoof(moof!.data, info.tracks);
}

let av7: Tracks;
let video3: Tracks;
let long25: Tracks;
let dir: string;

beforeAll(async () => {
  HLS.setOptions({ strictMode: true });
  dir = await mkdtemp(join(tmpdir(), "packager-test-"));
  [av7, video3, long25] = await Promise.all([
    encodeTracks({ seconds: 7, size: "320x240", audio: true }, [SPEC], 0.5),
    encodeTracks({ seconds: 3, size: "320x240", audio: false }, [SPEC], 0.5),
    encodeTracks({ seconds: 25, size: "160x120", audio: true }, [{ ...SPEC, width: 160, height: 120 }], 0.5),
  ]);
}, 60_000);

async function probe(name: string, bytes: Buffer): Promise<Array<Record<string, unknown>>> {
  const file = join(dir, name);
  await writeFile(file, bytes);
  const { stdout, stderr } = await run(resolveFfprobe(), [
    "-v",
    "error",
    "-count_frames",
    "-show_entries",
    "stream=codec_type,codec_name,width,height,nb_read_frames",
    "-of",
    "json",
    file,
  ]);
  expect(stderr).toBe("");
  return (JSON.parse(stdout) as { streams: Array<Record<string, unknown>> }).streams;
}

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("StreamPackager with FFmpeg fMP4", () => {
  it("packages one run into 2 s CMAF segments (one track per file), playlists and a master with an audio group", async () => {
    const { packager, segments: all, inits, errors } = makePackager();
    expect(packager.getObject("master.m3u8")).toBeUndefined();
    expect(packager.getObject("r240p/index.m3u8")).toBeUndefined();

    const input = feed(packager, av7, 42);
    // Live: the last keyframe's segment is still open, in the audio rendition too.
    expect(ofRendition(all, "r240p").map((s) => s.msn)).toEqual([0, 1, 2]);
    expect(ofRendition(all, "audio").map((s) => s.msn)).toEqual([0, 1, 2]);
    // (not parsed strictly here: the ladder's fps filter ends a run on a one-frame part, which
    // only the end of the run makes the last part of its segment)
    expect(text(packager, "r240p/index.m3u8").match(/#EXTINF/g)).toHaveLength(3);
    expect(text(packager, "r240p/index.m3u8")).not.toContain("#EXT-X-ENDLIST");

    input.end();
    packager.end();
    expect(packager.ended).toBe(true);
    expect(errors).toEqual([]);
    const segments = ofRendition(all, "r240p");
    const audioSegments = ofRendition(all, "audio");

    // Inits: one track each, CMAF brands (cmfc, iso6, the media profile).
    expect(inits.map((i) => i.path).sort()).toEqual([`audio/${initName("ep1", 0)}`, `r240p/${initName("ep1", 0)}`]);
    const videoInitEvent = inits.find((i) => i.rendition === "r240p")!;
    const initBytes = bytes(packager, videoInitEvent.path);
    const audioInit = bytes(packager, `audio/${initName("ep1", 0)}`);
    expect(initBytes.equals(videoInitEvent.bytes)).toBe(true);
    expect(packager.getObject(videoInitEvent.path)?.contentType).toBe("video/mp4");
    expect(packager.getObject(`audio/${initName("ep1", 0)}`)?.contentType).toBe("audio/mp4");
    const { tracks } = parseInit(initBytes);
    expect(tracks.map((t) => t.kind)).toEqual(["video"]);
    const video = tracks[0]!;
    expect(video.codec).toMatch(/^avc1\.[0-9a-f]{6}$/);
    expect([video.width, video.height]).toEqual([320, 240]);
    expect(parseInit(audioInit).tracks.map((t) => [t.kind, t.codec, t.channels, t.sampleRate])).toEqual([
      ["audio", "mp4a.40.2", 2, 48_000],
    ]);
    expect(brands(initBytes, "ftyp")).toMatchObject({ major: "cmfc", compatible: ["cmfc", "iso6", "cfsd"] });
    expect(brands(audioInit, "ftyp")).toMatchObject({ major: "cmfc", compatible: ["cmfc", "iso6", "caac"] });

    // Segments: 1 s GOPs, target 2 → exact 2.000 s (a video-only output has no AAC priming to stretch its first frame over).
    const durations = segments.map((s) => s.duration);
    expect(durations).toHaveLength(4);
    expect(durations[0]).toBeCloseTo(2, 3);
    expect(durations[1]).toBeCloseTo(2, 3);
    expect(durations[2]).toBeCloseTo(2, 3);
    expect(durations[3]).toBeGreaterThan(0.9);
    expect(durations[3]).toBeLessThan(1.1);
    for (const s of [...segments, ...audioSegments]) {
      expect(s.path).toBe(`${s.rendition}/${segmentName("ep1", s.msn)}`);
      expect(bytes(packager, s.path).equals(s.bytes)).toBe(true);
      expect(packager.getObject(s.path)?.contentType).toBe(s.rendition === "audio" ? "audio/mp4" : "video/iso.segment");
      expect(brands(s.bytes, "styp")).toMatchObject({ major: SEGMENT_BRANDS.major, compatible: [...SEGMENT_BRANDS.compatible] });
      const fragment = firstFragment(s.bytes, s.rendition === "audio" ? audioInit : initBytes);
      expect(fragment).toHaveLength(1);
      expect(fragment[0]!.firstSampleIsSync).toBe(true);
    }
    // Audio segments start at the first AAC frame at or after the video's boundary, and end within a frame of it.
    const frame = 1024 / 48_000;
    expect(audioSegments.map((s) => s.msn)).toEqual(segments.map((s) => s.msn));
    audioSegments.forEach((a, i) => {
      expect(a.programDateTime - segments[i]!.programDateTime).toBeGreaterThanOrEqual(0);
      expect(a.programDateTime - segments[i]!.programDateTime).toBeLessThanOrEqual(Math.ceil(frame * 1000));
      expect(Math.abs(a.duration - segments[i]!.duration)).toBeLessThan(frame + 1e-6);
    });
    // Every moof+mdat FFmpeg wrote for the video ends up in exactly one segment, after one styp per segment.
    const fragmentBytes = new BoxSplitter()
      .push(av7.r240p!)
      .filter((b) => b.type === "moof" || b.type === "mdat")
      .reduce((n, b) => n + b.data.length, 0);
    const total = segments.reduce((n, s) => n + s.bytes.length, 0);
    expect(total).toBe(fragmentBytes + segments.length * brands(segments[0]!.bytes, "styp").size);

    // Media playlist
    const playlist = media(packager);
    expect(playlist.version).toBe(7);
    expect(playlist.targetDuration).toBe(2);
    expect(playlist.mediaSequenceBase).toBe(0);
    expect(playlist.independentSegments).toBe(true);
    expect(playlist.endlist).toBe(true);
    expect(playlist.segments.map((s) => s.uri)).toEqual(segments.map((s) => segmentName("ep1", s.msn)));
    expect(playlist.segments.map((s) => s.map?.uri)).toEqual(Array(4).fill(initName("ep1", 0)));
    const pdts = playlist.segments.map((s) => s.programDateTime!.getTime());
    for (let i = 1; i < pdts.length; i++) {
      expect(Math.abs(pdts[i]! - pdts[i - 1]! - playlist.segments[i - 1]!.duration * 1000)).toBeLessThanOrEqual(1);
    }
    // Anchored on the first chunk: arrival (first clock tick that completed it) minus its duration.
    expect(pdts[0]).toBeGreaterThan(T0 - 600);
    expect(pdts[0]).toBeLessThan(T0 + 2000);
    expect(segments.map((s) => s.programDateTime)).toEqual(pdts);
    expect(text(packager, "r240p/index.m3u8")).toMatch(/#EXT-X-PROGRAM-DATE-TIME:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\n/);
    const audioPlaylist = media(packager, "audio");
    expect(audioPlaylist.segments.map((s) => s.uri)).toEqual(playlist.segments.map((s) => s.uri));
    expect(audioPlaylist.endlist).toBe(true);

    // Master: every variant plays with the one audio rendition; CODECS and BANDWIDTH include it.
    const masterText = text(packager, "master.m3u8");
    expect(masterText).toContain(
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="main",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio/index.m3u8"\n',
    );
    const master = HLS.parse(masterText) as HLS.types.MasterPlaylist;
    expect(master.variants).toHaveLength(1);
    expect(master.variants[0]).toMatchObject({
      uri: "r240p/index.m3u8",
      codecs: `${video.codec},mp4a.40.2`,
      resolution: { width: 320, height: 240 },
      frameRate: 30,
      bandwidth: Math.round((200_000 * 1.1 + 64_000) * 1.05),
      averageBandwidth: 264_000,
    });
    expect(master.variants[0]!.audio.map((r) => [r.groupId, r.uri, r.isDefault, r.autoselect])).toEqual([
      ["audio", "audio/index.m3u8", true, true],
    ]);
    expect(masterText).toMatch(/^#EXT-X-STREAM-INF:.*,AUDIO="audio",CLOSED-CAPTIONS=NONE$/m);
    expect(packager.getObject("master.m3u8")?.contentType).toBe("application/vnd.apple.mpegurl");

    // Parts: the FFmpeg fragments inside each segment, numbered across segments; audio parts alike, aligned.
    for (const rendition of ["r240p", "audio"]) {
      const listed = partUris(text(packager, `${rendition}/index.m3u8`), "ep1-1.m4s");
      expect(listed).toEqual([4, 5, 6, 7].map((n) => partName("ep1", n)));
      const parts = listed.map((uri) => {
        const part = packager.getObject(`${rendition}/${uri}`);
        expect(part?.type).toBe("part");
        return part!.body as Buffer;
      });
      const segment = ofRendition(all, rendition)[1]!.bytes;
      expect(Buffer.concat(parts).equals(segment)).toBe(true);
    }

    expect(packager.stats()).toMatchObject({ segments: 8, renditions: 2, retainedSegments: 8 });

    // Init + a later segment decode on their own: the video file is video only, the audio file audio only.
    const videoStreams = await probe("video.mp4", Buffer.concat([initBytes, segments[1]!.bytes]));
    expect(videoStreams).toEqual([
      expect.objectContaining({ codec_type: "video", codec_name: "h264", width: 320, height: 240, nb_read_frames: "60" }),
    ]);
    const audioStreams = await probe("audio.mp4", Buffer.concat([audioInit, ...audioSegments.map((s) => s.bytes)]));
    expect(audioStreams).toEqual([expect.objectContaining({ codec_type: "audio", codec_name: "aac" })]);
    const audioFrames = Number(audioStreams[0]!.nb_read_frames);
    expect(audioFrames * frame).toBeGreaterThan(durations.reduce((a, b) => a + b, 0) - frame);
  });

  it("rejects paths it does not serve", () => {
    const { packager } = makePackager();
    feed(packager, av7, 1).end();
    for (const path of [
      "r240p/index.m3u8x",
      "nope/index.m3u8",
      "r240p/ep2-0.m4s", // other epoch
      "r240p/ep1-00.m4s", // non-canonical number for an existing segment
      "r240p/ep1-4.m4s", // not produced
      "r240p/init-ep1-1.mp4",
      "r240p/ep1-0.9.m4s",
      "r240p/ep1-p999.m4s", // part not produced
      "r240p/ep2-p0.m4s", // part of another epoch
      "audio/ep1-4.m4s", // not produced
      "audio/init-ep1-1.mp4",
      "../master.m3u8",
      "r240p/../master.m3u8",
      "",
    ]) {
      expect(packager.getObject(path), path).toBeUndefined();
    }
    expect(packager.getObject("r240p/ep1-3.m4s")).toBeDefined();
    expect(packager.getObject("audio/ep1-3.m4s")).toBeDefined();
    expect(packager.getObject("audio/index.m3u8")).toBeDefined();
  });

  it("marks a reconnect as a discontinuity with a new init and continuing media sequence", () => {
    const { packager, segments: all, inits, errors, clock } = makePackager();
    feed(packager, av7, 7); // not ended: beginRun must flush it
    clock.ms += 60_000; // the broadcaster took a minute to reconnect
    const reconnectedAt = clock.ms;
    feed(packager, av7, 8).end();
    expect(errors).toEqual([]);

    const segments = ofRendition(all, "r240p");
    expect(inits.filter((i) => i.rendition === "r240p").map((i) => i.path)).toEqual(["r240p/init-ep1-0.mp4", "r240p/init-ep1-1.mp4"]);
    expect(inits.filter((i) => i.rendition === "audio").map((i) => i.path)).toEqual(["audio/init-ep1-0.mp4", "audio/init-ep1-1.mp4"]);
    expect(inits.filter((i) => i.rendition === "r240p").map((i) => i.discontinuity)).toEqual([0, 1]);
    expect(segments.map((s) => s.msn)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(segments.map((s) => s.discontinuity)).toEqual([false, false, false, false, true, false, false, false]);
    // the audio rendition marks the same segments, under the same numbers
    const audio = ofRendition(all, "audio");
    expect(audio.map((s) => [s.msn, s.discontinuity])).toEqual(segments.map((s) => [s.msn, s.discontinuity]));
    // Run 2 re-anchors on its own first chunk (arrival minus its ~0.52 s duration), not on run 1's media clock.
    expect(segments[4]!.programDateTime).toBeGreaterThan(reconnectedAt - 600);
    expect(segments[4]!.programDateTime).toBeLessThan(reconnectedAt);

    const raw = text(packager, "r240p/index.m3u8");
    expect(raw).toContain('#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="init-ep1-1.mp4"\n');
    const playlist = media(packager);
    expect(playlist.mediaSequenceBase).toBe(2);
    expect(playlist.segments.map((s) => [s.mediaSequenceNumber, s.discontinuitySequence, s.map?.uri])).toEqual([
      [2, 0, "init-ep1-0.mp4"],
      [3, 0, "init-ep1-0.mp4"],
      [4, 1, "init-ep1-1.mp4"],
      [5, 1, "init-ep1-1.mp4"],
      [6, 1, "init-ep1-1.mp4"],
      [7, 1, "init-ep1-1.mp4"],
    ]);
    expect(packager.getObject("r240p/init-ep1-0.mp4")).toBeDefined();
    expect(packager.getObject("r240p/init-ep1-1.mp4")).toBeDefined();
    expect(text(packager, "audio/index.m3u8")).toContain('#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="init-ep1-1.mp4"\n');

    packager.end();
    expect(media(packager).endlist).toBe(true);
    expect(() => packager.beginRun()).toThrow(/ended/);
  });

  it("never lets PDT run backwards across a reconnect, and shares one PDT timeline across renditions", () => {
    const { packager, segments } = makePackager({ renditions: [SPEC, { ...SPEC, name: "b" }] });
    // Media fed far faster than real time: run 1's PDTs end ~7 s after the fake wall clock.
    feed(packager, av7, 21, ["r240p", "b"]);
    feed(packager, av7, 23, ["b", "r240p"]).end();
    const pdts = (name: string) => segments.filter((s) => s.rendition === name).map((s) => s.programDateTime);
    expect(pdts("b")).toEqual(pdts("r240p"));
    const a = segments.filter((s) => s.rendition === "r240p");
    expect(a[4]!.discontinuity).toBe(true);
    // run 2 starts where run 1's media ended: its video, or its audio, which may end up to one AAC frame later
    const run1End = Math.round(a[3]!.programDateTime + a[3]!.duration * 1000);
    expect(a[4]!.programDateTime).toBeGreaterThanOrEqual(run1End);
    expect(a[4]!.programDateTime).toBeLessThanOrEqual(run1End + 22);
    // the audio's segments start within one AAC frame after the video's, on the same clock
    pdts("audio").forEach((pdt, i) => expect(pdt - pdts("r240p")[i]!).toBeGreaterThanOrEqual(0));
    pdts("audio").forEach((pdt, i) => expect(pdt - pdts("r240p")[i]!).toBeLessThanOrEqual(22));
  });

  it("counts evicted discontinuities and drops inits nothing references", () => {
    const { packager, clock } = makePackager({ windowSize: 2 });
    feed(packager, av7, 3).end();
    feed(packager, av7, 4).end();
    // msn 0-3 run 0, 4-7 run 1; window 6-7. Removed segments stay downloadable for a while (next test); a minute later
    // only the window is left.
    expect(packager.getObject("r240p/ep1-4.m4s")).toBeDefined();
    clock.ms += 60_000;
    const playlist = media(packager);
    expect(playlist.mediaSequenceBase).toBe(6);
    expect(playlist.discontinuitySequenceBase).toBe(1);
    expect(playlist.segments.every((s) => !s.discontinuity)).toBe(true);
    expect(text(packager, "r240p/index.m3u8")).toContain("#EXT-X-DISCONTINUITY-SEQUENCE:1\n");
    expect(packager.getObject("r240p/init-ep1-0.mp4")).toBeUndefined();
    expect(packager.getObject("r240p/init-ep1-1.mp4")).toBeDefined();
    expect(packager.getObject("r240p/ep1-5.m4s")).toBeUndefined();
    expect(packager.getObject("r240p/ep1-6.m4s")).toBeDefined();
  });

  it("keeps a removed segment downloadable for its duration plus the longest playlist (RFC 8216bis §6.2.2)", () => {
    const { packager, clock } = makePackager({ retentionGraceMs: 1_000 });
    let removedAt: number | undefined;
    packager.on("segment", (e) => {
      if (e.msn === 6) removedAt = clock.ms; // msn 0 leaves the 6-segment window now
    });
    feed(packager, long25, 5).end();
    expect(removedAt).toBeDefined();
    // 6 segments of 2 s were listed with it: 12 s + its own 2 s + 1 s grace = 15 s.
    clock.ms = removedAt! + 14_000;
    expect(packager.getObject("r240p/ep1-0.m4s")).toBeDefined();
    expect(packager.getObject("r240p/ep1-p0.m4s")).toBeDefined(); // its parts too
    clock.ms = removedAt! + 15_500;
    expect(packager.getObject("r240p/ep1-0.m4s")).toBeUndefined();
    expect(packager.getObject("r240p/ep1-p0.m4s")).toBeUndefined();
    expect(packager.getObject(`r240p/${media(packager).segments.at(-1)!.uri}`)).toBeDefined();
  });

  it("slides a 6-segment window and evicts old segments", () => {
    const { packager, segments: all, clock } = makePackager();
    const segments = {
      get length() {
        return ofRendition(all, "r240p").length;
      },
    };
    const sequences: number[] = [];
    packager.on("segment", (e) => {
      if (e.rendition === "r240p") sequences.push(media(packager).mediaSequenceBase ?? 0);
    });
    const input = feed(packager, long25, 99);
    expect(segments).toHaveLength(12);
    expect(sequences).toEqual([0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6]);
    input.end();
    packager.end();

    const playlist = media(packager);
    expect(segments).toHaveLength(13);
    expect(playlist.segments).toHaveLength(6);
    expect(playlist.mediaSequenceBase).toBe(7);
    expect(playlist.segments[0]!.uri).toBe("ep1-7.m4s");
    // Out of the playlist but still servable to clients that just loaded an older playlist.
    for (let msn = 0; msn < 13; msn++) expect(packager.getObject(`r240p/ep1-${msn}.m4s`)).toBeDefined();
    expect(packager.stats()).toMatchObject({ segments: 26, renditions: 2, retainedSegments: 26 });
    clock.ms += 60_000;
    for (let msn = 0; msn < 7; msn++) expect(packager.getObject(`r240p/ep1-${msn}.m4s`)).toBeUndefined();
    for (let msn = 0; msn < 7; msn++) expect(packager.getObject(`audio/ep1-${msn}.m4s`)).toBeUndefined();
    const stats = packager.stats();
    expect(stats).toMatchObject({ segments: 26, renditions: 2, retainedSegments: 12 });
    const retained = all.filter((s) => s.msn >= 7).reduce((n, s) => n + s.bytes.length, 0);
    expect(stats.retainedBytes).toBeGreaterThanOrEqual(retained);
    expect(stats.retainedBytes).toBeLessThan(retained + 8192);
  });

  it("serves parts of the segment still being built", () => {
    const { packager, segments: all } = makePackager();
    // Everything FFmpeg wrote, but the run not ended: the fourth segment is open.
    const input = packager.beginRun();
    input.write("r240p", av7.r240p!);
    input.write("audio", av7.audio!);
    expect(ofRendition(all, "r240p")).toHaveLength(3);
    expect(ofRendition(all, "audio")).toHaveLength(3);
    const openParts = partUris(text(packager, "r240p/index.m3u8"));
    expect(openParts[0]).toBe(partName("ep1", 12)); // 3 segments of 4 parts came before
    const open = packager.getObject(`r240p/${openParts[0]}`);
    expect(open?.type).toBe("part");
    expect(packager.getObject("r240p/ep1-3.m4s")).toBeUndefined();
    input.end();
    // The open segment's parts became the closed segment's leading bytes: names never change meaning.
    const closed = bytes(packager, "r240p/ep1-3.m4s");
    expect(closed.subarray(0, (open!.body as Buffer).length).equals(open!.body as Buffer)).toBe(true);
    const openAudio = packager.getObject(`audio/${openParts[0]}`)?.body as Buffer;
    expect(bytes(packager, "audio/ep1-3.m4s").subarray(0, openAudio.length).equals(openAudio)).toBe(true);
  });

  it("publishes the master only once every rendition, the audio one included, has a segment; a silent source still has audio", () => {
    const second: RenditionSpec = { ...SPEC, name: "v", videoBitrate: 100_000, audioBitrate: 32_000 };
    const { packager, errors } = makePackager({ renditions: [SPEC, second] });
    const input = packager.beginRun();
    for (const piece of pieces(video3.r240p!, 5)) input.write("r240p", piece);
    expect(packager.getObject("r240p/index.m3u8")).toBeDefined();
    expect(packager.getObject("master.m3u8")).toBeUndefined();
    expect(packager.getObject("v/index.m3u8")).toBeUndefined();
    for (const piece of pieces(video3.r240p!, 6)) input.write("v", piece);
    expect(packager.getObject("master.m3u8")).toBeUndefined(); // no audio segment yet
    for (const piece of pieces(video3.audio!, 7)) input.write("audio", piece);
    input.end();
    expect(errors).toEqual([]);

    const v = media(packager, "v");
    expect(v.segments.map((s) => Number(s.duration.toFixed(1)))).toEqual([2, 1]);
    const audio = media(packager, "audio");
    expect(audio.segments.map((s) => s.mediaSequenceNumber)).toEqual(v.segments.map((s) => s.mediaSequenceNumber));
    const master = HLS.parse(text(packager, "master.m3u8")) as HLS.types.MasterPlaylist;
    expect(master.variants.map((x) => x.uri)).toEqual(["r240p/index.m3u8", "v/index.m3u8"]);
    // The silent track is a real AAC track: every variant lists it and counts the stream's audio bitrate (the largest).
    expect(master.variants[1]!.codecs).toMatch(/^avc1\.[0-9a-f]{6},mp4a\.40\.2$/);
    expect(master.variants[1]!.averageBandwidth).toBe(100_000 + 64_000);
    expect(master.variants[1]!.bandwidth).toBe(Math.round((100_000 * 1.1 + 64_000) * 1.05));
    expect(master.variants.every((x) => x.audio.length === 1 && x.audio[0]!.uri === "audio/index.m3u8")).toBe(true);
  });

  it("isolates a corrupt rendition: error event, others keep going, open segment is closed", () => {
    const { packager, segments, errors } = makePackager({
      renditions: [SPEC, { ...SPEC, name: "b" }],
    });
    const input = packager.beginRun();
    const cut = 120_000; // somewhere mid-stream, after several segments
    input.write("b", av7.r240p!.subarray(0, cut));
    const bSegmentsBefore = segments.filter((s) => s.rendition === "b").length;
    expect(bSegmentsBefore).toBeGreaterThan(0);
    const openPart = partUris(text(packager, "b/index.m3u8"))[0];
    expect(openPart).toBeDefined();
    expect(packager.getObject(`b/${openPart}`)).toBeDefined();
    // Zeros complete the box FFmpeg was writing, then read as a size-0 header.
    input.write("b", Buffer.alloc(1 << 20));
    expect(errors).toHaveLength(1);
    input.write("b", av7.r240p!); // a failed rendition ignores the rest of its run
    for (const [name, piece] of interleaved({ r240p: av7.r240p!, audio: av7.audio! }, 11)) input.write(name, piece);
    input.end();
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/rendition b run 0: .*size 0/);
    expect(segments.filter((s) => s.rendition === "r240p")).toHaveLength(4);
    // The open segment whose parts were already servable was closed under the msn those parts used.
    expect(segments.filter((s) => s.rendition === "b")).toHaveLength(bSegmentsBefore + 1);
    expect(packager.getObject(`b/ep1-${bSegmentsBefore}.m4s`)).toBeDefined();
  });

  it("ignores writes from a replaced run and rejects unknown renditions", () => {
    const { packager, segments } = makePackager();
    const first = packager.beginRun();
    packager.beginRun();
    first.write("r240p", av7.r240p!);
    first.end();
    expect(segments).toHaveLength(0);
    expect(() => packager.beginRun().write("zzz", Buffer.alloc(1))).toThrow(/unknown rendition/);
  });

  it("validates options", () => {
    const base = { streamId: "teststream01", renditions: [SPEC] };
    expect(() => new StreamPackager({ ...base, epoch: "Bad-Epoch" })).toThrow();
    expect(() => new StreamPackager({ ...base, renditions: [] })).toThrow();
    expect(() => new StreamPackager({ ...base, renditions: [SPEC, SPEC] })).toThrow(/duplicate/);
    expect(() => new StreamPackager({ ...base, renditions: [{ ...SPEC, name: "720P" }] })).toThrow();
    expect(() => new StreamPackager({ ...base, renditions: [{ ...SPEC, name: "audio" }] })).toThrow(/audio rendition/);
    expect(() => new StreamPackager({ ...base, windowSize: 0 })).toThrow();
    expect(new StreamPackager(base).epoch).toMatch(/^[a-z0-9]{1,16}$/);
  });
});
