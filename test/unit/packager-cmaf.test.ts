/**
 * What makes the packager's output CMAF: brands of the CMAF headers and
 * segments, the audio fragments it writes, and the audio rendition cut at the
 * video's part boundaries.
 */
import { describe, expect, it } from "vitest";
import { AudioSegmenter } from "../../origin/packager/audio-segmenter.js";
import { BoxSplitter, parseInit, parseMoof, readFragmentSamples, type InitTrack } from "../../origin/packager/boxes.js";
import { SEGMENT_BRANDS, SEGMENT_TYPE_BOX, cmafInit, initBrands, mediaProfileBrand, writeFragment } from "../../origin/packager/cmaf.js";
import { PdtClock } from "../../origin/packager/pdt-clock.js";
import type { SegmenterEvent } from "../../origin/packager/segment-builder.js";
import { AUDIO, VIDEO, avc1, ftyp, moov, trex } from "./mp4-writer.js";

const video = (codec: string, width: number, height: number): InitTrack => ({
  trackId: 1,
  kind: "video",
  timescale: 90000,
  codec,
  width,
  height,
});
const audio = (codec: string, channels: number, sampleRate = 48_000): InitTrack => ({
  trackId: 1,
  kind: "audio",
  timescale: sampleRate,
  codec,
  channels,
  sampleRate,
});

function brandsOf(bytes: Buffer): { type: string; major: string; compatible: string[] } {
  const size = bytes.readUInt32BE(0);
  const compatible: string[] = [];
  for (let at = 16; at < size; at += 4) compatible.push(bytes.toString("latin1", at, at + 4));
  return { type: bytes.toString("latin1", 4, 8), major: bytes.toString("latin1", 8, 12), compatible };
}

describe("CMAF brands", () => {
  it("names the media profile a track fits, and none it does not", () => {
    expect(mediaProfileBrand(video("avc1.64000d", 320, 180))).toBe("cfsd");
    expect(mediaProfileBrand(video("avc1.64001f", 1280, 720))).toBe("cfhd");
    expect(mediaProfileBrand(video("avc1.640028", 1920, 1080))).toBe("cfhd");
    expect(mediaProfileBrand(video("avc1.64002a", 1920, 1080))).toBeUndefined(); // level 4.2: beyond cfhd
    expect(mediaProfileBrand(video("avc1.640033", 3840, 2160))).toBeUndefined();
    expect(mediaProfileBrand(video("hvc1.1.6.L93.B0", 1280, 720))).toBeUndefined();
    expect(mediaProfileBrand(audio("mp4a.40.2", 2))).toBe("caac");
    expect(mediaProfileBrand(audio("mp4a.40.5", 1))).toBe("caac");
    expect(mediaProfileBrand(audio("mp4a.40.2", 6))).toBeUndefined();
    expect(mediaProfileBrand(audio("mp4a.40.2", 2, 96_000))).toBeUndefined();
    expect(mediaProfileBrand(audio("mp4a.6b", 2))).toBeUndefined();
    expect(initBrands(audio("mp4a.40.2", 2))).toEqual({ major: "cmfc", compatible: ["cmfc", "iso6", "caac"] });
  });

  it("a CMAF header is our ftyp and FFmpeg's moov, byte for byte", () => {
    const moovBox = moov([{ ...VIDEO, entry: avc1(1280, 720, 0x64, 0x00, 0x1f) }], [trex(1, 0, 0)]);
    const info = parseInit(Buffer.concat([ftyp(), moovBox]));
    const header = cmafInit(moovBox, info.tracks[0]!);
    const ftypBox = brandsOf(header);
    expect(ftypBox).toEqual({ type: "ftyp", major: "cmfc", compatible: ["cmfc", "iso6", "cfhd"] });
    expect(header.subarray(header.readUInt32BE(0)).equals(moovBox)).toBe(true);
    expect(parseInit(header).tracks).toEqual(info.tracks);
    expect(() => cmafInit(ftyp(), info.tracks[0]!)).toThrow(/moov/);
  });

  it("every segment opens with one styp: msdh, cmfs", () => {
    expect(brandsOf(SEGMENT_TYPE_BOX)).toEqual({ type: "styp", major: SEGMENT_BRANDS.major, compatible: ["msdh", "cmfs"] });
  });
});

describe("writeFragment", () => {
  it("writes one independent traf with tfdt v1 whose samples read back as written", () => {
    const samples = [0, 1, 2].map((i) => ({ duration: 1024, data: Buffer.alloc(10 + i, i + 1) }));
    const bytes = writeFragment(7, 2, 5_000_000_000, samples);
    const [moofBox, mdatBox] = new BoxSplitter().push(bytes);
    expect([moofBox!.type, mdatBox!.type]).toEqual(["moof", "mdat"]);
    const back = readFragmentSamples(moofBox!.data, mdatBox!.data, []);
    expect(back.trackId).toBe(2);
    expect(back.samples.map((s) => [s.dts, s.duration, s.data.toString("hex")])).toEqual(
      samples.map((s, i) => [5_000_000_000 + 1024 * i, 1024, s.data.toString("hex")]),
    );
    expect(parseMoof(moofBox!.data, [])).toEqual([
      { trackId: 2, baseMediaDecodeTime: 5_000_000_000, sampleCount: 3, duration: 3072, firstSampleIsSync: true },
    ]);
  });

  it("refuses fragments it cannot re-cut: several tracks, data outside the mdat", () => {
    const one = writeFragment(1, 1, 0, [{ duration: 1024, data: Buffer.alloc(8) }]);
    const [moofBox, mdatBox] = new BoxSplitter().push(one);
    expect(() => readFragmentSamples(moofBox!.data, mdatBox!.data.subarray(0, 12), [])).toThrow(/outside its mdat/);
  });
});

// ---------------------------------------------------------------------------
// The audio rendition, cut at the video's boundaries.

const FRAME = 1024; // ticks at 48 kHz
const audioInitBytes = () => Buffer.concat([ftyp(), moov([{ ...AUDIO, id: 1 }], [trex(1, FRAME, 0)])]);
/** FFmpeg's audio output: one AAC frame per fragment, frame n at n × 1024 ticks. */
const frameFragment = (n: number) => writeFragment(n + 1, 1, n * FRAME, [{ duration: FRAME, data: Buffer.alloc(6, n & 0xff) }]);

function audioSegmenter(decodeTimeOffset = 0) {
  const clock = new PdtClock();
  clock.observe(100_000, 0, 0);
  const segmenter = new AudioSegmenter({ now: () => 100_000, clock, decodeTimeOffset });
  const splitter = new BoxSplitter();
  const push = (bytes: Buffer) => splitter.push(bytes).flatMap((b) => segmenter.push(b));
  return { segmenter, push };
}

const partsOf = (events: SegmenterEvent[]) => events.flatMap((e) => (e.type === "part" ? [e] : []));
const firstDts = (bytes: Buffer) => {
  const moofBox = new BoxSplitter().push(bytes).find((b) => b.type === "moof")!;
  return parseMoof(moofBox.data, [])[0]!.baseMediaDecodeTime;
};

describe("AudioSegmenter", () => {
  const videoPart = 1 / 3; // 10 frames at 30 fps

  it("cuts each part at the first AAC frame at or after the video's boundary, as soon as the frames cover it", () => {
    const { segmenter, push } = audioSegmenter();
    expect(push(audioInitBytes()).map((e) => e.type)).toEqual(["init"]);
    // video part 0 [0, 1/3) is known before any audio: nothing to publish yet
    expect(segmenter.followVideoPart(0, videoPart, true)).toEqual([]);
    // frames 0..14 end at 0.32 s: a frame starting before 1/3 s may still come
    const early = Array.from({ length: 15 }, (_, n) => push(frameFragment(n))).flat();
    expect(partsOf(early)).toEqual([]);
    // frame 15 (0.32-0.3413 s) covers the boundary: frames are contiguous, so the next one starts after it
    const first = partsOf(push(frameFragment(15)));
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({ partIndex: 0, part: { startDts: 0, duration: (16 * FRAME) / 48_000, independent: true } });
    expect(first[0]!.part.bytes.subarray(0, SEGMENT_TYPE_BOX.length).equals(SEGMENT_TYPE_BOX)).toBe(true);

    // the next video parts: audio already there up to frame 16 → part 1 waits for frame ≥ 2/3 s (frame 32)
    for (let n = 16; n < 70; n++) push(frameFragment(n));
    const next = partsOf(segmenter.followVideoPart(videoPart, 2 * videoPart, false));
    expect(next).toHaveLength(1);
    expect(firstDts(next[0]!.part.bytes)).toBe(16 * FRAME);
    expect(next[0]!.part.bytes.toString("latin1", 4, 8)).toBe("moof"); // no styp inside a segment
    const third = partsOf(segmenter.followVideoPart(2 * videoPart, 1, false));
    // frame 32 starts at 0.6827 s ≥ 2/3 s: part 2 = frames 32..46 (46 × 1024 / 48000 = 0.981 s < 1 s)
    expect(firstDts(third[0]!.part.bytes)).toBe(32 * FRAME);
    expect(third[0]!.part.duration).toBeCloseTo((15 * FRAME) / 48_000, 9);
    // a video segment boundary: the audio segment closes there too
    const cut = segmenter.followVideoPart(1, 1 + videoPart, true);
    expect(cut.map((e) => e.type)).toEqual(["segment", "part"]);
    const segment = cut[0]!.type === "segment" ? cut[0]!.segment : undefined;
    expect(segment?.parts).toHaveLength(3);
    expect(segment?.startDts).toBe(0);
    expect(segment?.duration).toBeCloseTo((47 * FRAME) / 48_000, 9);
  });

  it("ends the run at the video's end: frames beyond it are dropped, the open segment closes", () => {
    const { segmenter, push } = audioSegmenter();
    push(audioInitBytes());
    for (let n = 0; n < 60; n++) push(frameFragment(n)); // 1.28 s of audio (apad runs past the video)
    partsOf(segmenter.followVideoPart(0, 0.5, true));
    const { events, segment } = segmenter.flush();
    expect(events).toEqual([]);
    expect(segment?.duration).toBeCloseTo((24 * FRAME) / 48_000, 9); // frames 0..23: the last starts at 0.491 s < 0.5 s
    // a last video part after the audio stopped gets what audio there is, at the end of the run
    const other = audioSegmenter();
    other.push(audioInitBytes());
    for (let n = 0; n < 10; n++) other.push(frameFragment(n));
    expect(partsOf(other.segmenter.followVideoPart(0, 0.5, true))).toEqual([]);
    const flushed = other.segmenter.flush();
    expect(partsOf(flushed.events)).toHaveLength(1);
    expect(flushed.segment?.duration).toBeCloseTo((10 * FRAME) / 48_000, 9);
  });

  it("drops audio that starts before the video, moves to the stream's timeline, and takes boundaries known before its init", () => {
    const { segmenter, push } = audioSegmenter(10);
    // the video's parts (on the stream timeline: the run starts at 10 s) come before the audio's init
    expect(segmenter.followVideoPart(10.05, 10.2, true)).toEqual([]);
    push(audioInitBytes());
    const events = Array.from({ length: 12 }, (_, n) => push(frameFragment(n))).flat();
    const parts = partsOf(events);
    expect(parts).toHaveLength(1);
    // frames 0..2 start before 10.05 s (frame 2 at 10.0427 s): the part starts with frame 3 at 10.0640 s
    expect(firstDts(parts[0]!.part.bytes)).toBe(10 * 48_000 + 3 * FRAME);
    expect(parts[0]!.part.startDts).toBeCloseTo(10 + (3 * FRAME) / 48_000, 9);
    expect(parts[0]!.partIndex).toBe(0);
  });

  it("refuses an audio input that carries video", () => {
    const { push } = audioSegmenter();
    expect(() => push(Buffer.concat([ftyp(), moov([VIDEO], [trex(1, 0, 0)])]))).toThrow(/audio input carries a video track/);
  });
});
