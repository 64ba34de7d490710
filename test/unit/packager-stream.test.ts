/**
 * StreamPackager against real FFmpeg output, encoded with the origin's flags.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import HLS from "hls-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initName, partName, segmentName } from "../../common/hls-paths.js";
import { resolveFfmpeg, resolveFfprobe } from "../../origin/ffmpeg.js";
import { BoxSplitter, parseInit, parseMoof } from "../../origin/packager/boxes.js";
import {
  StreamPackager,
  type InitEvent,
  type PackagerOptions,
  type RenditionSpec,
  type SegmentEvent,
} from "../../origin/packager/stream-packager.js";

const run = promisify(execFile);

/**
 * The origin's encode, on a synthetic source. -pix_fmt yuv420p: testsrc is
 * RGB, and without it x264 picks High 4:4:4, which no browser decodes.
 */
function encode(opts: { seconds: number; size: string; audio: boolean }): Promise<Buffer> {
  const args = [
    "-hide_banner",
    "-loglevel",
    "error",
    "-f",
    "lavfi",
    "-i",
    `testsrc=size=${opts.size}:rate=30`,
    ...(opts.audio ? ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"] : []),
    "-t",
    String(opts.seconds),
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-tune",
    "zerolatency",
    "-pix_fmt",
    "yuv420p",
    "-b:v",
    "200k",
    "-force_key_frames",
    "expr:gte(t,n_forced*1)",
    "-sc_threshold",
    "0",
    "-r",
    "30",
    ...(opts.audio ? ["-c:a", "aac", "-b:a", "64k"] : ["-an"]),
    "-f",
    "mp4",
    "-movflags",
    "+frag_keyframe+empty_moov+default_base_moof",
    "-frag_duration",
    "500000",
    "pipe:1",
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(resolveFfmpeg(), args, { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => (err += b));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`ffmpeg exited ${code}: ${err}`)),
    );
  });
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Pieces of 1 byte to ~24 KiB, like pipe reads of varying fullness. */
function* pieces(data: Buffer, seed: number): Generator<Buffer> {
  const random = rng(seed);
  for (let pos = 0; pos < data.length; ) {
    const n = random() < 0.1 ? 1 + Math.floor(random() * 16) : 1 + Math.floor(random() * 24_000);
    yield data.subarray(pos, pos + n);
    pos += n;
  }
}

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

function feed(packager: StreamPackager, data: Buffer, seed: number, rendition = SPEC.name) {
  const input = packager.beginRun();
  for (const piece of pieces(data, seed)) input.write(rendition, piece);
  return input;
}

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
  const [moof] = new BoxSplitter().push(segment);
  expect(moof.type).toBe("moof");
  return parseMoof(moof.data, info.tracks);
}

let av7: Buffer;
let video3: Buffer;
let long25: Buffer;
let dir: string;

beforeAll(async () => {
  HLS.setOptions({ strictMode: true });
  dir = await mkdtemp(join(tmpdir(), "packager-test-"));
  [av7, video3, long25] = await Promise.all([
    encode({ seconds: 7, size: "320x240", audio: true }),
    encode({ seconds: 3, size: "320x240", audio: false }),
    encode({ seconds: 25, size: "160x120", audio: true }),
  ]);
}, 30_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("StreamPackager with FFmpeg fMP4", () => {
  it("packages one run into 2 s CMAF segments, playlists and a master", async () => {
    const { packager, segments, inits, errors } = makePackager();
    expect(packager.getObject("master.m3u8")).toBeUndefined();
    expect(packager.getObject("r240p/index.m3u8")).toBeUndefined();

    const input = feed(packager, av7, 42);
    // Live: the last keyframe's segment is still open.
    expect(segments.map((s) => s.msn)).toEqual([0, 1, 2]);
    let playlist = media(packager);
    expect(playlist.endlist).toBe(false);
    expect(playlist.segments).toHaveLength(3);

    input.end();
    packager.end();
    expect(packager.ended).toBe(true);
    expect(errors).toEqual([]);

    // Init
    expect(inits).toHaveLength(1);
    expect(inits[0]).toMatchObject({ rendition: "r240p", discontinuity: 0, path: `r240p/${initName("ep1", 0)}` });
    const initBytes = bytes(packager, inits[0].path);
    expect(initBytes.equals(inits[0].bytes)).toBe(true);
    expect(packager.getObject(inits[0].path)?.contentType).toBe("video/mp4");
    const { tracks } = parseInit(initBytes);
    const video = tracks.find((t) => t.kind === "video")!;
    expect(video.codec).toMatch(/^avc1\.[0-9a-f]{6}$/);
    expect([video.width, video.height]).toEqual([320, 240]);
    expect(tracks.find((t) => t.kind === "audio")?.codec).toBe("mp4a.40.2");

    // Segments: 1 s GOPs, target 2 → exact 2.000 s; the first is 2.021 s because FFmpeg stretches
    // the first video frame over the AAC priming delay (1024/48000 s) it cannot express without an edit list.
    const durations = segments.map((s) => s.duration);
    expect(durations).toHaveLength(4);
    expect(durations[0]).toBeCloseTo(2 + 1024 / 48000, 3);
    expect(durations[1]).toBeCloseTo(2, 3);
    expect(durations[2]).toBeCloseTo(2, 3);
    expect(durations[3]).toBeGreaterThan(0.9);
    expect(durations[3]).toBeLessThan(1.1);
    for (const s of segments) {
      expect(s.path).toBe(`r240p/${segmentName("ep1", s.msn)}`);
      expect(bytes(packager, s.path).equals(s.bytes)).toBe(true);
      expect(packager.getObject(s.path)?.contentType).toBe("video/iso.segment");
      for (const frag of firstFragment(s.bytes, initBytes)) expect(frag.firstSampleIsSync).toBe(true);
    }
    // Every byte FFmpeg wrote after the init (bar its trailing mfra) ends up in exactly one segment.
    const total = segments.reduce((n, s) => n + s.bytes.length, 0);
    expect(total).toBe(av7.length - initBytes.length - av7.readUInt32BE(av7.length - 4));

    // Media playlist
    playlist = media(packager);
    expect(playlist.version).toBe(7);
    expect(playlist.targetDuration).toBe(2);
    expect(playlist.mediaSequenceBase).toBe(0);
    expect(playlist.independentSegments).toBe(true);
    expect(playlist.endlist).toBe(true);
    expect(playlist.segments.map((s) => s.uri)).toEqual(segments.map((s) => segmentName("ep1", s.msn)));
    expect(playlist.segments.map((s) => s.map?.uri)).toEqual(Array(4).fill(initName("ep1", 0)));
    const pdts = playlist.segments.map((s) => s.programDateTime!.getTime());
    for (let i = 1; i < pdts.length; i++) {
      expect(Math.abs(pdts[i] - pdts[i - 1] - playlist.segments[i - 1].duration * 1000)).toBeLessThanOrEqual(1);
    }
    // Anchored on the first chunk: arrival (first clock tick that completed it) minus its duration.
    expect(pdts[0]).toBeGreaterThan(T0 - 600);
    expect(pdts[0]).toBeLessThan(T0 + 2000);
    expect(segments.map((s) => s.programDateTime)).toEqual(pdts);
    expect(text(packager, "r240p/index.m3u8")).toMatch(/#EXT-X-PROGRAM-DATE-TIME:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\n/);

    // Master
    const master = HLS.parse(text(packager, "master.m3u8")) as HLS.types.MasterPlaylist;
    expect(master.variants).toHaveLength(1);
    expect(master.variants[0]).toMatchObject({
      uri: "r240p/index.m3u8",
      codecs: `${video.codec},mp4a.40.2`,
      resolution: { width: 320, height: 240 },
      frameRate: 30,
      bandwidth: Math.round((200_000 * 1.1 + 64_000) * 1.05),
      averageBandwidth: 264_000,
    });
    expect(packager.getObject("master.m3u8")?.contentType).toBe("application/vnd.apple.mpegurl");

    // Parts: the FFmpeg fragments inside each segment, numbered across segments.
    const seg1 = segments[1].bytes;
    const listed = partUris(text(packager, "r240p/index.m3u8"), "ep1-1.m4s");
    expect(listed).toEqual([4, 5, 6, 7].map((n) => partName("ep1", n)));
    const parts = listed.map((uri) => {
      const part = packager.getObject(`r240p/${uri}`);
      expect(part?.type).toBe("part");
      return part!.body as Buffer;
    });
    expect(Buffer.concat(parts).equals(seg1)).toBe(true);

    expect(packager.stats()).toMatchObject({ segments: 4, renditions: 1, retainedSegments: 4 });

    // The init + a later segment decode on their own as 320x240 H.264 (+ AAC).
    const file = join(dir, "probe.mp4");
    await writeFile(file, Buffer.concat([initBytes, segments[1].bytes]));
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
    const streams = (JSON.parse(stdout) as { streams: Array<Record<string, unknown>> }).streams;
    expect(streams.find((s) => s.codec_type === "video")).toMatchObject({
      codec_name: "h264",
      width: 320,
      height: 240,
      nb_read_frames: "60",
    });
    expect(streams.find((s) => s.codec_type === "audio")).toMatchObject({ codec_name: "aac" });
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
      "../master.m3u8",
      "r240p/../master.m3u8",
      "",
    ]) {
      expect(packager.getObject(path), path).toBeUndefined();
    }
    expect(packager.getObject("r240p/ep1-3.m4s")).toBeDefined();
  });

  it("marks a reconnect as a discontinuity with a new init and continuing media sequence", () => {
    const { packager, segments, inits, errors, clock } = makePackager();
    feed(packager, av7, 7); // not ended: beginRun must flush it
    clock.ms += 60_000; // the broadcaster took a minute to reconnect
    const reconnectedAt = clock.ms;
    feed(packager, av7, 8).end();
    expect(errors).toEqual([]);

    expect(inits.map((i) => i.path)).toEqual(["r240p/init-ep1-0.mp4", "r240p/init-ep1-1.mp4"]);
    expect(inits.map((i) => i.discontinuity)).toEqual([0, 1]);
    expect(segments.map((s) => s.msn)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(segments.map((s) => s.discontinuity)).toEqual([false, false, false, false, true, false, false, false]);
    // Run 2 re-anchors on its own first chunk (arrival minus its ~0.52 s duration), not on run 1's media clock.
    expect(segments[4].programDateTime).toBeGreaterThan(reconnectedAt - 600);
    expect(segments[4].programDateTime).toBeLessThan(reconnectedAt);

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

    packager.end();
    expect(media(packager).endlist).toBe(true);
    expect(() => packager.beginRun()).toThrow(/ended/);
  });

  it("never lets PDT run backwards across a reconnect, and shares one PDT timeline across renditions", () => {
    const { packager, segments } = makePackager({ renditions: [SPEC, { ...SPEC, name: "b" }] });
    // Media fed far faster than real time: run 1's PDTs end ~7 s after the fake wall clock.
    let input = packager.beginRun();
    for (const piece of pieces(av7, 21)) input.write("r240p", piece);
    for (const piece of pieces(av7, 22)) input.write("b", piece);
    input = packager.beginRun();
    for (const piece of pieces(av7, 23)) input.write("b", piece);
    for (const piece of pieces(av7, 24)) input.write("r240p", piece);
    input.end();
    const pdts = (name: string) => segments.filter((s) => s.rendition === name).map((s) => s.programDateTime);
    expect(pdts("b")).toEqual(pdts("r240p"));
    const a = segments.filter((s) => s.rendition === "r240p");
    expect(a[4].discontinuity).toBe(true);
    expect(a[4].programDateTime).toBe(Math.round(a[3].programDateTime + a[3].duration * 1000));
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
    const { packager, segments, clock } = makePackager();
    const sequences: number[] = [];
    packager.on("segment", () => sequences.push(media(packager).mediaSequenceBase ?? 0));
    const input = feed(packager, long25, 99);
    expect(segments).toHaveLength(12);
    expect(sequences).toEqual([0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6]);
    input.end();
    packager.end();

    const playlist = media(packager);
    expect(segments).toHaveLength(13);
    expect(playlist.segments).toHaveLength(6);
    expect(playlist.mediaSequenceBase).toBe(7);
    expect(playlist.segments[0].uri).toBe("ep1-7.m4s");
    // Out of the playlist but still servable to clients that just loaded an older playlist.
    for (let msn = 0; msn < 13; msn++) expect(packager.getObject(`r240p/ep1-${msn}.m4s`)).toBeDefined();
    expect(packager.stats()).toMatchObject({ segments: 13, renditions: 1, retainedSegments: 13 });
    clock.ms += 60_000;
    for (let msn = 0; msn < 7; msn++) expect(packager.getObject(`r240p/ep1-${msn}.m4s`)).toBeUndefined();
    const stats = packager.stats();
    expect(stats).toMatchObject({ segments: 13, renditions: 1, retainedSegments: 6 });
    const retained = segments.slice(7).reduce((n, s) => n + s.bytes.length, 0);
    expect(stats.retainedBytes).toBeGreaterThanOrEqual(retained);
    expect(stats.retainedBytes).toBeLessThan(retained + 4096);
  });

  it("serves parts of the segment still being built", () => {
    const { packager, segments } = makePackager();
    // Stop right after the moof+mdat pairs of the third segment's first keyframe chunk.
    const input = packager.beginRun();
    input.write("r240p", av7);
    expect(segments).toHaveLength(3);
    const openParts = partUris(text(packager, "r240p/index.m3u8"));
    expect(openParts[0]).toBe(partName("ep1", 12)); // 3 segments of 4 parts came before
    const open = packager.getObject(`r240p/${openParts[0]}`);
    expect(open?.type).toBe("part");
    expect(packager.getObject("r240p/ep1-3.m4s")).toBeUndefined();
    input.end();
    // The open segment's parts became the closed segment's leading bytes: names never change meaning.
    const closed = bytes(packager, "r240p/ep1-3.m4s");
    expect(closed.subarray(0, (open!.body as Buffer).length).equals(open!.body as Buffer)).toBe(true);
  });

  it("publishes the master only once every rendition has a segment; video-only works", () => {
    const videoOnly: RenditionSpec = { ...SPEC, name: "v", audioBitrate: 64_000 };
    const { packager, errors } = makePackager({ renditions: [SPEC, videoOnly] });
    const input = packager.beginRun();
    for (const piece of pieces(av7, 5)) input.write("r240p", piece);
    expect(packager.getObject("r240p/index.m3u8")).toBeDefined();
    expect(packager.getObject("master.m3u8")).toBeUndefined();
    expect(packager.getObject("v/index.m3u8")).toBeUndefined();
    for (const piece of pieces(video3, 6)) input.write("v", piece);
    input.end();
    expect(errors).toEqual([]);

    const v = media(packager, "v");
    expect(v.segments.map((s) => Number(s.duration.toFixed(3)))).toEqual([2, 1]);
    const master = HLS.parse(text(packager, "master.m3u8")) as HLS.types.MasterPlaylist;
    expect(master.variants.map((x) => x.uri)).toEqual(["r240p/index.m3u8", "v/index.m3u8"]);
    expect(master.variants[1].codecs).toMatch(/^avc1\.[0-9a-f]{6}$/);
    // No audio track, so its bitrate is not advertised.
    expect(master.variants[1].averageBandwidth).toBe(200_000);
    expect(master.variants[1].bandwidth).toBe(Math.round(200_000 * 1.1 * 1.05));
  });

  it("isolates a corrupt rendition: error event, others keep going, open segment is closed", () => {
    const { packager, segments, errors } = makePackager({
      renditions: [SPEC, { ...SPEC, name: "b" }],
    });
    const input = packager.beginRun();
    const cut = 120_000; // somewhere mid-stream, after several segments
    input.write("b", av7.subarray(0, cut));
    const bSegmentsBefore = segments.filter((s) => s.rendition === "b").length;
    expect(bSegmentsBefore).toBeGreaterThan(0);
    const openPart = partUris(text(packager, "b/index.m3u8"))[0];
    expect(openPart).toBeDefined();
    expect(packager.getObject(`b/${openPart}`)).toBeDefined();
    // Zeros complete the box FFmpeg was writing, then read as a size-0 header.
    input.write("b", Buffer.alloc(1 << 20));
    expect(errors).toHaveLength(1);
    input.write("b", av7); // a failed rendition ignores the rest of its run
    for (const piece of pieces(av7, 11)) input.write("r240p", piece);
    input.end();
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toMatch(/rendition b run 0: .*size 0/);
    expect(segments.filter((s) => s.rendition === "r240p")).toHaveLength(4);
    // The open segment whose parts were already servable was closed under the msn those parts used.
    expect(segments.filter((s) => s.rendition === "b")).toHaveLength(bSegmentsBefore + 1);
    expect(packager.getObject(`b/ep1-${bSegmentsBefore}.m4s`)).toBeDefined();
  });

  it("ignores writes from a replaced run and rejects unknown renditions", () => {
    const { packager, segments } = makePackager();
    const first = packager.beginRun();
    packager.beginRun();
    first.write("r240p", av7);
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
    expect(() => new StreamPackager({ ...base, windowSize: 0 })).toThrow();
    expect(new StreamPackager(base).epoch).toMatch(/^[a-z0-9]{1,16}$/);
  });
});
