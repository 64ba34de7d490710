import { describe, expect, it } from "vitest";
import { BoxError, BoxSplitter, MAX_BOX_SIZE, parseInit, parseMoof, type Box, type TrackDefaults } from "../../origin/packager/boxes.js";
import { SEGMENT_TYPE_BOX } from "../../origin/packager/cmaf.js";
import { Segmenter, type SegmenterEvent, type Segment } from "../../origin/packager/segmenter.js";
import {
  AUDIO,
  NON_SYNC,
  SYNC,
  VIDEO,
  avInit,
  avc1,
  box,
  ftyp,
  largeBox,
  mdat,
  moof,
  moov,
  mp4a,
  trak,
  trex,
  u32,
  u64,
  zeros,
  type TrafSpec,
} from "./mp4-writer.js";

/** Deterministic PRNG so a failing split pattern can be reproduced. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function splitRandomly(data: Buffer, random: () => number, maxPiece: number): Buffer[] {
  const pieces: Buffer[] = [];
  for (let pos = 0; pos < data.length;) {
    const n = 1 + Math.floor(random() * maxPiece);
    pieces.push(data.subarray(pos, pos + n));
    pos += n;
  }
  return pieces;
}

// ---------------------------------------------------------------------------

describe("BoxSplitter", () => {
  const stream = Buffer.concat([
    ftyp(),
    box("free"),
    largeBox("mdat", Buffer.alloc(300, 7)),
    box("moof", zeros(40)),
    box("mdat", Buffer.alloc(1000, 9)),
  ]);
  const expected = ["ftyp", "free", "mdat", "moof", "mdat"];

  it("reassembles boxes from any split, including 64-bit largesize headers", () => {
    for (const [seed, maxPiece] of <Array<[number, number]>>[
      [1, 1],
      [2, 3],
      [3, 17],
      [4, 200],
      [5, 5000],
    ]) {
      const splitter = new BoxSplitter();
      const boxes: Box[] = [];
      for (const piece of splitRandomly(stream, rng(seed), maxPiece)) boxes.push(...splitter.push(piece));
      expect(boxes.map((b) => b.type)).toEqual(expected);
      expect(Buffer.concat(boxes.map((b) => b.data)).equals(stream)).toBe(true);
      expect(boxes[2]!.data.length).toBe(316);
      expect(splitter.buffered).toBe(0);
    }
  });

  it("holds an incomplete box until its last byte arrives", () => {
    const splitter = new BoxSplitter();
    const m = box("mdat", Buffer.alloc(100));
    expect(splitter.push(m.subarray(0, 99 + 8))).toEqual([]);
    expect(splitter.buffered).toBe(107);
    const out = splitter.push(Buffer.concat([m.subarray(107), ftyp().subarray(0, 4)]));
    expect(out.map((b) => b.type)).toEqual(["mdat"]);
    expect(splitter.buffered).toBe(4);
  });

  it("copies boxes out instead of pinning the caller's buffers", () => {
    const splitter = new BoxSplitter();
    const input = Buffer.concat([ftyp(), ftyp()]);
    const [a] = splitter.push(input);
    input.fill(0);
    expect(a!.type).toBe("ftyp");
    expect(a!.data.toString("latin1", 8, 12)).toBe("isom");
  });

  it("rejects absurd sizes instead of buffering them", () => {
    const big = Buffer.concat([u32(MAX_BOX_SIZE + 1), Buffer.from("mdat")]);
    expect(() => new BoxSplitter().push(big)).toThrow(BoxError);
    const bigLarge = Buffer.concat([u32(1), Buffer.from("mdat"), u64(2n ** 40n)]);
    expect(() => new BoxSplitter().push(bigLarge)).toThrow(/exceeds/);
    expect(() => new BoxSplitter(1000).push(box("mdat", zeros(1000)))).toThrow(/exceeds/);
    expect(() => new BoxSplitter().push(Buffer.concat([u32(4), Buffer.from("abcd")]))).toThrow(BoxError);
    expect(() => new BoxSplitter().push(Buffer.concat([u32(0), Buffer.from("mdat")]))).toThrow(/size 0/);
    expect(() => new BoxSplitter().push(Buffer.concat([u32(1), Buffer.from("mdat"), u64(8)]))).toThrow(BoxError);
  });

  it("stays failed after a corrupt header", () => {
    const splitter = new BoxSplitter();
    expect(() => splitter.push(Buffer.concat([u32(3), Buffer.from("junk")]))).toThrow(BoxError);
    expect(() => splitter.push(ftyp())).toThrow(/already failed/);
  });
});

describe("parseInit", () => {
  it("reads tracks, timescales, codecs, dimensions and trex defaults", () => {
    const info = parseInit(avInit());
    expect(info.tracks).toEqual([
      {
        trackId: 1,
        kind: "video",
        timescale: 90000,
        codec: "avc1.64001f",
        width: 1280,
        height: 720,
        defaultSampleDuration: 0,
        defaultSampleFlags: NON_SYNC,
      },
      {
        trackId: 2,
        kind: "audio",
        timescale: 48000,
        codec: "mp4a.40.2",
        defaultSampleDuration: 1024,
        defaultSampleFlags: 0,
        channels: 2,
        sampleRate: 48000,
      },
    ]);
  });

  it("derives the AAC object type from the DecoderSpecificInfo, including the escape value", () => {
    const aot = (asc: Buffer | undefined, oti?: number) =>
      parseInit(moov([{ id: 1, handler: "soun", timescale: 44100, entry: mp4a(asc, oti) }], [])).tracks[0]!.codec;
    expect(aot(Buffer.from([0x2b, 0x92, 0x08, 0x00]))).toBe("mp4a.40.5"); // HE-AAC
    expect(aot(Buffer.from([0xf9, 0x40]))).toBe("mp4a.40.42"); // 31 + 6 bits → 32 + 10
    expect(aot(undefined)).toBe("mp4a.40.2");
    expect(aot(undefined, 0x6b)).toBe("mp4a.6b");
  });

  it("handles video-only inits, mdhd v1, other handlers and a largesize moov", () => {
    const data = Buffer.concat([
      ftyp(),
      largeBox(
        "moov",
        trak({ id: 7, handler: "vide", timescale: 15360, entry: avc1(320, 240, 0x42, 0xc0, 0x0d), mdhdVersion: 1 }),
        trak({ id: 8, handler: "meta", timescale: 1000, entry: box("mett", zeros(8)) }),
        box("mvex", trex(7, 512, 0)),
      ),
    ]);
    const { tracks } = parseInit(data);
    expect(tracks.map((t) => [t.trackId, t.kind, t.timescale, t.codec])).toEqual([
      [7, "video", 15360, "avc1.42c00d"],
      [8, "other", 1000, "mett"],
    ]);
    expect(tracks[0]!.defaultSampleDuration).toBe(512);
    expect(tracks[1]!.defaultSampleDuration).toBeUndefined();
  });

  it("fails clearly without a moov or with a box overrunning its parent", () => {
    expect(() => parseInit(ftyp())).toThrow(/no moov/);
    expect(() => parseInit(Buffer.concat([ftyp(), box("moov", u32(999), Buffer.from("trak"))]))).toThrow(/overruns/);
  });
});

describe("parseMoof", () => {
  const defaults: TrackDefaults[] = [
    { trackId: 1, defaultSampleDuration: 3000, defaultSampleFlags: NON_SYNC },
    { trackId: 2, defaultSampleDuration: 1024, defaultSampleFlags: 0 },
  ];

  it("sums per-sample durations and reads first_sample_flags", () => {
    const m = moof(1, { id: 1, bmdt: 90000, count: 3, durations: [3000, 3003, 2997], firstFlags: SYNC }, { id: 2, bmdt: 48000, count: 2 });
    expect(parseMoof(m, defaults)).toEqual([
      { trackId: 1, baseMediaDecodeTime: 90000, sampleCount: 3, duration: 9000, firstSampleIsSync: true },
      { trackId: 2, baseMediaDecodeTime: 48000, sampleCount: 2, duration: 2048, firstSampleIsSync: true },
    ]);
  });

  it("falls back from trun to tfhd to trex for durations", () => {
    const [tfhdDefault] = parseMoof(moof(1, { id: 1, bmdt: 0, count: 4, tfhdDuration: 1500 }), defaults);
    expect(tfhdDefault!.duration).toBe(6000);
    const [trexDefault] = parseMoof(moof(1, { id: 1, bmdt: 0, count: 4 }), defaults);
    expect(trexDefault!.duration).toBe(12000);
    expect(() => parseMoof(moof(1, { id: 9, bmdt: 0, count: 4 }), defaults)).toThrow(/no sample duration/);
  });

  it("detects sync from first_sample_flags, then per-sample flags, then tfhd, then trex", () => {
    const sync = (t: Omit<TrafSpec, "id" | "bmdt" | "count">) =>
      parseMoof(moof(1, { id: 1, bmdt: 0, count: 2, ...t }), defaults)[0]!.firstSampleIsSync;
    expect(sync({ firstFlags: SYNC, tfhdFlags: NON_SYNC })).toBe(true);
    expect(sync({ firstFlags: NON_SYNC, sampleFlags: [0, 0] })).toBe(false);
    expect(sync({ sampleFlags: [SYNC, NON_SYNC] })).toBe(true);
    expect(sync({ sampleFlags: [NON_SYNC, SYNC] })).toBe(false);
    expect(sync({ tfhdFlags: 0 })).toBe(true);
    expect(sync({ tfhdFlags: NON_SYNC | SYNC })).toBe(false);
    expect(sync({})).toBe(false); // trex says non-sync
    expect(parseMoof(moof(1, { id: 2, bmdt: 0, count: 2 }), defaults)[0]!.firstSampleIsSync).toBe(true);
  });

  it("reads 64-bit tfdt and sums across several truns", () => {
    const big = 2n ** 33n + 5n;
    const [t] = parseMoof(
      moof(1, { id: 1, bmdt: big, count: 5, durations: [1, 2, 3, 4, 5], truns: 3, sampleFlags: [0, 1, 1, 1, 1].map((x) => x * NON_SYNC) }),
      defaults,
    );
    expect(t).toEqual({ trackId: 1, baseMediaDecodeTime: Number(big), sampleCount: 5, duration: 15, firstSampleIsSync: true });
  });

  it("treats an empty traf as not starting with a sync sample", () => {
    const [t] = parseMoof(moof(1, { id: 1, bmdt: 0, count: 0 }), defaults);
    expect(t!.sampleCount).toBe(0);
    expect(t!.firstSampleIsSync).toBe(false);
  });

  it("requires tfdt, as CMAF does", () => {
    expect(() => parseMoof(moof(1, { id: 1, bmdt: 0, count: 1, noTfdt: true }), defaults)).toThrow(/tfdt/);
  });
});

// ---------------------------------------------------------------------------

/** A video part: 0.5 s of 30 fps video, starting with a keyframe or not. */
function videoPart(seq: number, startSec: number, sync: boolean, frames = 15): Buffer {
  return Buffer.concat([
    moof(seq, { id: 1, bmdt: Math.round(startSec * 90000), count: frames, tfhdDuration: 3000, firstFlags: sync ? SYNC : NON_SYNC }),
    mdat(100 + seq),
  ]);
}

/** One track per input (CMAF): what FFmpeg writes for a video rendition. */
const videoInit = () => Buffer.concat([ftyp(), moov([VIDEO], [trex(1, 0, NON_SYNC)])]);

function feed(seg: Segmenter, data: Buffer): SegmenterEvent[] {
  const splitter = new BoxSplitter();
  return splitter.push(data).flatMap((b) => seg.push(b));
}

const segmentsOf = (events: SegmenterEvent[]): Segment[] => events.flatMap((e) => (e.type === "segment" ? [e.segment] : []));

const STYP = SEGMENT_TYPE_BOX.length;

describe("Segmenter", () => {
  it("cuts 2 s segments at keyframes, opens each with an styp and keeps part byte ranges", () => {
    let clock = 1_000_000;
    const seg = new Segmenter({ targetDuration: 2, now: () => (clock += 500) });
    const parts = Array.from({ length: 9 }, (_, i) => videoPart(i, i * 0.5, i % 2 === 0));
    const events = feed(seg, Buffer.concat([videoInit(), ...parts]));
    expect(events[0]!.type).toBe("init");
    const closed = segmentsOf(events);
    expect(closed.map((s) => [s.startDts, s.duration, s.parts.length])).toEqual([
      [0, 2, 4],
      [2, 2, 4],
    ]);
    expect(seg.openParts).toHaveLength(1);
    const last = seg.flush()!;
    expect([last.startDts, last.duration, last.parts.length]).toEqual([4, 0.5, 1]);
    expect(seg.flush()).toBeUndefined();

    const second = closed[1]!;
    expect(second.bytes.equals(Buffer.concat([SEGMENT_TYPE_BOX, ...parts.slice(4, 8)]))).toBe(true);
    const [p4, p5, p6, p7] = parts.slice(4, 8).map((p) => p.length) as [number, number, number, number];
    expect(second.parts.map((c) => [c.offset, c.length, c.independent, c.duration])).toEqual([
      [0, STYP + p4, true, 0.5],
      [STYP + p4, p5, false, 0.5],
      [STYP + p4 + p5, p6, true, 0.5],
      [STYP + p4 + p5 + p6, p7, false, 0.5],
    ]);
    // Part events number the parts within their segment; the first part of a segment carries the styp.
    const partEvents = events.flatMap((e) => (e.type === "part" ? [e] : []));
    expect(partEvents.map((e) => e.partIndex)).toEqual([0, 1, 2, 3, 0, 1, 2, 3, 0]);
    expect(partEvents.map((e) => e.part.bytes.toString("latin1", 4, 8))).toEqual([
      "styp",
      "moof",
      "moof",
      "moof",
      "styp",
      "moof",
      "moof",
      "moof",
      "styp",
    ]);
  });

  it("anchors program-date-time on the first part's arrival minus its duration", () => {
    const arrivals = [10_000, 10_400, 10_990, 11_500, 12_020, 12_600];
    let i = 0;
    const seg = new Segmenter({ targetDuration: 1, now: () => arrivals[i++]! });
    // Stream time starts at 100 s: PDT must follow media time, not arrival jitter.
    const events = feed(
      seg,
      Buffer.concat([videoInit(), ...Array.from({ length: 6 }, (_, k) => videoPart(k, 100 + k * 0.5, k % 2 === 0))]),
    );
    const pdts = segmentsOf(events).map((s) => s.programDateTime);
    expect(pdts).toEqual([10_000 - 500, 10_000 - 500 + 1000]);
    expect(seg.flush()!.programDateTime).toBe(10_000 - 500 + 2000);
  });

  it("drops leading non-independent parts", () => {
    const seg = new Segmenter({ targetDuration: 2 });
    const events = feed(
      seg,
      Buffer.concat([videoInit(), videoPart(0, 0, false), videoPart(1, 0.5, false), videoPart(2, 1, true), videoPart(3, 1.5, false)]),
    );
    expect(events.filter((e) => e.type === "part")).toHaveLength(2);
    const s = seg.flush()!;
    expect(s.startDts).toBe(1);
    expect(s.duration).toBe(1);
  });

  it("cuts only once the open segment is within 50 ms of the target", () => {
    const run = (gop: number) => {
      const seg = new Segmenter({ targetDuration: 2 });
      const parts = Array.from({ length: 6 }, (_, k) =>
        Buffer.concat([
          moof(k, { id: 1, bmdt: Math.round(k * gop * 90000), count: 1, tfhdDuration: gop * 90000, firstFlags: SYNC }),
          mdat(),
        ]),
      );
      return segmentsOf(feed(seg, Buffer.concat([videoInit(), ...parts]))).map((s) => Number(s.duration.toFixed(3)));
    };
    expect(run(0.98)).toEqual([1.96, 1.96]);
    expect(run(0.97)).toEqual([2.91]);
  });

  it("times a one-track audio input from its own track", () => {
    const init = Buffer.concat([ftyp(), moov([AUDIO], [trex(2, 1024, 0)])]);
    const seg = new Segmenter({ targetDuration: 2 });
    // 47 AAC frames ≈ 1.003 s per part; every audio part is independent.
    const parts = Array.from({ length: 5 }, (_, k) => Buffer.concat([moof(k, { id: 2, bmdt: k * 47 * 1024, count: 47 }), mdat()]));
    const closed = segmentsOf(feed(seg, Buffer.concat([init, ...parts])));
    expect(closed.map((s) => s.parts.length)).toEqual([2, 2]);
    expect(closed[0]!.duration).toBeCloseTo((94 * 1024) / 48000, 9);
  });

  it("keeps a part with no samples inside the open segment", () => {
    const seg = new Segmenter({ targetDuration: 2 });
    const empty = Buffer.concat([moof(9, { id: 1, bmdt: 90000, count: 0 }), mdat()]);
    feed(seg, Buffer.concat([videoInit(), videoPart(0, 0, true), videoPart(1, 0.5, false), empty]));
    const s = seg.flush()!;
    expect(s.parts).toHaveLength(3);
    expect(s.parts[2]).toMatchObject({ independent: false, duration: 0, startDts: 1 });
    expect(s.duration).toBe(1);
  });

  it("rejects streams it cannot segment, muxed inputs included (CMAF: one track per file)", () => {
    expect(() => new Segmenter({ targetDuration: 2 }).push({ type: "moof", data: moof(1) })).toThrow(/before moov/);
    expect(() => feed(new Segmenter({ targetDuration: 2 }), avInit())).toThrow(/one track per input/);
    const s = new Segmenter({ targetDuration: 2 });
    feed(s, videoInit());
    expect(() => s.push({ type: "mdat", data: mdat() })).toThrow(/without moof/);
    expect(() => feed(s, videoInit())).toThrow(/second moov/);
    const capped = new Segmenter({ targetDuration: 2, maxSegmentBytes: 2000 });
    feed(capped, Buffer.concat([videoInit(), videoPart(0, 0, true)]));
    expect(() => feed(capped, Buffer.concat(Array.from({ length: 10 }, (_, k) => videoPart(k + 1, 0.5 * (k + 1), false))))).toThrow(
      /keyframe/,
    );
    expect(capped.flush()!.parts.length).toBeGreaterThan(0);
  });
});
