import { describe, expect, it } from "vitest";
import {
  BoxError,
  BoxSplitter,
  MAX_BOX_SIZE,
  parseInit,
  parseMoof,
  type Box,
  type TrackDefaults,
} from "../../origin/packager/boxes.js";
import { Segmenter, type SegmenterEvent, type Segment } from "../../origin/packager/segmenter.js";

// ---------------------------------------------------------------------------
// Tiny MP4 writer: just the fields the parser reads.

const u8 = (n: number) => Buffer.from([n & 0xff]);
const u16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
const u64 = (n: number | bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};
const zeros = (n: number) => Buffer.alloc(n);

function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  return Buffer.concat([u32(8 + body.length), Buffer.from(type, "latin1"), body]);
}

function largeBox(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  return Buffer.concat([u32(1), Buffer.from(type, "latin1"), u64(16 + body.length), body]);
}

function full(type: string, version: number, flags: number, ...payload: Buffer[]): Buffer {
  return box(type, u8(version), u8(flags >> 16), u16(flags & 0xffff), ...payload);
}

const ftyp = () => box("ftyp", Buffer.from("isom"), u32(512), Buffer.from("isomiso6mp41"));

function avc1(width: number, height: number, profile: number, compat: number, level: number): Buffer {
  const avcC = box("avcC", Buffer.from([1, profile, compat, level, 0xff, 0xe1]), zeros(4));
  return box("avc1", zeros(6), u16(1), zeros(16), u16(width), u16(height), zeros(50), avcC);
}

/** An ES descriptor length the way FFmpeg writes it: always 4 bytes with continuation bits. */
const descLen = (n: number) => Buffer.from([0x80 | ((n >> 21) & 0x7f), 0x80 | ((n >> 14) & 0x7f), 0x80 | ((n >> 7) & 0x7f), n & 0x7f]);
const descriptor = (tag: number, body: Buffer) => Buffer.concat([u8(tag), descLen(body.length), body]);

function mp4a(asc: Buffer | undefined, oti = 0x40): Buffer {
  const dsi = asc ? descriptor(0x05, asc) : Buffer.alloc(0);
  const dcd = descriptor(0x04, Buffer.concat([u8(oti), u8(0x15), zeros(3), u32(128000), u32(128000), dsi]));
  const es = descriptor(0x03, Buffer.concat([u16(1), u8(0), dcd, descriptor(0x06, u8(2))]));
  const esds = full("esds", 0, 0, es);
  return box("mp4a", zeros(6), u16(1), zeros(8), u16(2), u16(16), zeros(4), u32(48000 << 16), esds);
}

interface TrakSpec {
  id: number;
  handler: "vide" | "soun" | "meta";
  timescale: number;
  entry: Buffer;
  mdhdVersion?: 0 | 1;
}

function trak(t: TrakSpec): Buffer {
  const mdhd =
    t.mdhdVersion === 1
      ? full("mdhd", 1, 0, u64(0), u64(0), u32(t.timescale), u64(0), zeros(4))
      : full("mdhd", 0, 0, u32(0), u32(0), u32(t.timescale), u32(0), zeros(4));
  const hdlr = full("hdlr", 0, 0, u32(0), Buffer.from(t.handler), zeros(12), u8(0));
  const stsd = full("stsd", 0, 0, u32(1), t.entry);
  const stbl = box("stbl", stsd);
  return box(
    "trak",
    full("tkhd", 0, 3, u32(0), u32(0), u32(t.id), zeros(4)),
    box("mdia", mdhd, hdlr, box("minf", stbl)),
  );
}

const trex = (id: number, duration: number, flags: number) =>
  full("trex", 0, 0, u32(id), u32(1), u32(duration), u32(0), u32(flags));

function moov(traks: TrakSpec[], trexes: Buffer[]): Buffer {
  return box("moov", full("mvhd", 0, 0, zeros(96)), ...traks.map(trak), box("mvex", ...trexes));
}

interface TrafSpec {
  id: number;
  bmdt: number | bigint;
  tfdtVersion?: 0 | 1;
  count: number;
  durations?: number[];
  sampleFlags?: number[];
  firstFlags?: number;
  tfhdDuration?: number;
  tfhdFlags?: number;
  /** Split the samples over this many truns. */
  truns?: number;
  noTfdt?: boolean;
}

function traf(t: TrafSpec): Buffer {
  let tfhdFlags = 0x20000;
  const tfhdFields = [u32(t.id)];
  if (t.tfhdDuration !== undefined) {
    tfhdFlags |= 0x8;
    tfhdFields.push(u32(t.tfhdDuration));
  }
  if (t.tfhdFlags !== undefined) {
    tfhdFlags |= 0x20;
    tfhdFields.push(u32(t.tfhdFlags));
  }
  const tfdt =
    t.tfdtVersion === 1 || typeof t.bmdt === "bigint"
      ? full("tfdt", 1, 0, u64(t.bmdt))
      : full("tfdt", 0, 0, u32(Number(t.bmdt)));
  const truns: Buffer[] = [];
  const runs = t.truns ?? 1;
  const per = Math.ceil(t.count / runs);
  for (let r = 0; r < runs; r++) {
    const from = r * per;
    const to = Math.min(t.count, from + per);
    let flags = 0x1 | 0x200; // data offset, sizes
    if (r === 0 && t.firstFlags !== undefined) flags |= 0x4;
    if (t.durations) flags |= 0x100;
    if (t.sampleFlags) flags |= 0x400;
    const fields = [u32(to - from), u32(0)];
    if (r === 0 && t.firstFlags !== undefined) fields.push(u32(t.firstFlags));
    for (let i = from; i < to; i++) {
      if (t.durations) fields.push(u32(t.durations[i]));
      fields.push(u32(100));
      if (t.sampleFlags) fields.push(u32(t.sampleFlags[i]));
    }
    truns.push(full("trun", 0, flags, ...fields));
  }
  return box("traf", full("tfhd", 0, tfhdFlags, ...tfhdFields), ...(t.noTfdt ? [] : [tfdt]), ...truns);
}

const moof = (seq: number, ...trafs: TrafSpec[]) => box("moof", full("mfhd", 0, 0, u32(seq)), ...trafs.map(traf));
const mdat = (n = 64) => box("mdat", Buffer.alloc(n, 0xab));

const NON_SYNC = 0x10000;
const SYNC = 0x02000000; // sample_depends_on = 2 (I-frame), sync

const VIDEO: TrakSpec = { id: 1, handler: "vide", timescale: 90000, entry: avc1(1280, 720, 0x64, 0x00, 0x1f) };
const AUDIO: TrakSpec = { id: 2, handler: "soun", timescale: 48000, entry: mp4a(Buffer.from([0x11, 0x90])) };
const avInit = () => Buffer.concat([ftyp(), moov([VIDEO, AUDIO], [trex(1, 0, NON_SYNC), trex(2, 1024, 0)])]);

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
  for (let pos = 0; pos < data.length; ) {
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
    for (const [seed, maxPiece] of [
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
      expect(boxes[2].data.length).toBe(316);
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
    expect(a.type).toBe("ftyp");
    expect(a.data.toString("latin1", 8, 12)).toBe("isom");
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
      },
    ]);
  });

  it("derives the AAC object type from the DecoderSpecificInfo, including the escape value", () => {
    const aot = (asc: Buffer | undefined, oti?: number) =>
      parseInit(moov([{ id: 1, handler: "soun", timescale: 44100, entry: mp4a(asc, oti) }], [])).tracks[0].codec;
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
    expect(tracks[0].defaultSampleDuration).toBe(512);
    expect(tracks[1].defaultSampleDuration).toBeUndefined();
  });

  it("fails clearly without a moov or with a box overrunning its parent", () => {
    expect(() => parseInit(ftyp())).toThrow(/no moov/);
    expect(() => parseInit(Buffer.concat([ftyp(), box("moov", u32(999), Buffer.from("trak"))]))).toThrow(
      /overruns/,
    );
  });
});

describe("parseMoof", () => {
  const defaults: TrackDefaults[] = [
    { trackId: 1, defaultSampleDuration: 3000, defaultSampleFlags: NON_SYNC },
    { trackId: 2, defaultSampleDuration: 1024, defaultSampleFlags: 0 },
  ];

  it("sums per-sample durations and reads first_sample_flags", () => {
    const m = moof(
      1,
      { id: 1, bmdt: 90000, count: 3, durations: [3000, 3003, 2997], firstFlags: SYNC },
      { id: 2, bmdt: 48000, count: 2 },
    );
    expect(parseMoof(m, defaults)).toEqual([
      { trackId: 1, baseMediaDecodeTime: 90000, sampleCount: 3, duration: 9000, firstSampleIsSync: true },
      { trackId: 2, baseMediaDecodeTime: 48000, sampleCount: 2, duration: 2048, firstSampleIsSync: true },
    ]);
  });

  it("falls back from trun to tfhd to trex for durations", () => {
    const [tfhdDefault] = parseMoof(moof(1, { id: 1, bmdt: 0, count: 4, tfhdDuration: 1500 }), defaults);
    expect(tfhdDefault.duration).toBe(6000);
    const [trexDefault] = parseMoof(moof(1, { id: 1, bmdt: 0, count: 4 }), defaults);
    expect(trexDefault.duration).toBe(12000);
    expect(() => parseMoof(moof(1, { id: 9, bmdt: 0, count: 4 }), defaults)).toThrow(/no sample duration/);
  });

  it("detects sync from first_sample_flags, then per-sample flags, then tfhd, then trex", () => {
    const sync = (t: Omit<TrafSpec, "id" | "bmdt" | "count">) =>
      parseMoof(moof(1, { id: 1, bmdt: 0, count: 2, ...t }), defaults)[0].firstSampleIsSync;
    expect(sync({ firstFlags: SYNC, tfhdFlags: NON_SYNC })).toBe(true);
    expect(sync({ firstFlags: NON_SYNC, sampleFlags: [0, 0] })).toBe(false);
    expect(sync({ sampleFlags: [SYNC, NON_SYNC] })).toBe(true);
    expect(sync({ sampleFlags: [NON_SYNC, SYNC] })).toBe(false);
    expect(sync({ tfhdFlags: 0 })).toBe(true);
    expect(sync({ tfhdFlags: NON_SYNC | SYNC })).toBe(false);
    expect(sync({})).toBe(false); // trex says non-sync
    expect(parseMoof(moof(1, { id: 2, bmdt: 0, count: 2 }), defaults)[0].firstSampleIsSync).toBe(true);
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
    expect(t.sampleCount).toBe(0);
    expect(t.firstSampleIsSync).toBe(false);
  });

  it("requires tfdt, as CMAF does", () => {
    expect(() => parseMoof(moof(1, { id: 1, bmdt: 0, count: 1, noTfdt: true }), defaults)).toThrow(/tfdt/);
  });
});

// ---------------------------------------------------------------------------

/** A muxed part: 0.5 s of 30 fps video (sync or not) plus matching audio. */
function avPart(seq: number, startSec: number, sync: boolean, frames = 15): Buffer {
  return Buffer.concat([
    moof(
      seq,
      {
        id: 1,
        bmdt: Math.round(startSec * 90000),
        count: frames,
        tfhdDuration: 3000,
        firstFlags: sync ? SYNC : NON_SYNC,
      },
      { id: 2, bmdt: Math.round(startSec * 48000), count: 23 },
    ),
    mdat(100 + seq),
  ]);
}

function feed(seg: Segmenter, data: Buffer): SegmenterEvent[] {
  const splitter = new BoxSplitter();
  return splitter.push(data).flatMap((b) => seg.push(b));
}

const segmentsOf = (events: SegmenterEvent[]): Segment[] =>
  events.flatMap((e) => (e.type === "segment" ? [e.segment] : []));

describe("Segmenter", () => {
  it("cuts 2 s segments at keyframes and keeps part byte ranges", () => {
    let clock = 1_000_000;
    const seg = new Segmenter({ targetDuration: 2, now: () => (clock += 500) });
    const parts = Array.from({ length: 9 }, (_, i) => avPart(i, i * 0.5, i % 2 === 0));
    const events = feed(seg, Buffer.concat([avInit(), ...parts]));
    expect(events[0].type).toBe("init");
    const closed = segmentsOf(events);
    expect(closed.map((s) => [s.startDts, s.duration, s.parts.length])).toEqual([
      [0, 2, 4],
      [2, 2, 4],
    ]);
    expect(seg.openParts).toHaveLength(1);
    const last = seg.flush()!;
    expect([last.startDts, last.duration, last.parts.length]).toEqual([4, 0.5, 1]);
    expect(seg.flush()).toBeUndefined();

    const second = closed[1];
    expect(second.bytes.equals(Buffer.concat(parts.slice(4, 8)))).toBe(true);
    expect(second.parts.map((c) => [c.offset, c.length, c.independent, c.duration])).toEqual([
      [0, parts[4].length, true, 0.5],
      [parts[4].length, parts[5].length, false, 0.5],
      [parts[4].length + parts[5].length, parts[6].length, true, 0.5],
      [parts[4].length + parts[5].length + parts[6].length, parts[7].length, false, 0.5],
    ]);
    // Part events number the parts within their segment.
    const partIndexes = events.flatMap((e) => (e.type === "part" ? [e.partIndex] : []));
    expect(partIndexes).toEqual([0, 1, 2, 3, 0, 1, 2, 3, 0]);
  });

  it("anchors program-date-time on the first part's arrival minus its duration", () => {
    const arrivals = [10_000, 10_400, 10_990, 11_500, 12_020, 12_600];
    let i = 0;
    const seg = new Segmenter({ targetDuration: 1, now: () => arrivals[i++] });
    // Stream time starts at 100 s: PDT must follow media time, not arrival jitter.
    const events = feed(
      seg,
      Buffer.concat([avInit(), ...Array.from({ length: 6 }, (_, k) => avPart(k, 100 + k * 0.5, k % 2 === 0))]),
    );
    const pdts = segmentsOf(events).map((s) => s.programDateTime);
    expect(pdts).toEqual([10_000 - 500, 10_000 - 500 + 1000]);
    expect(seg.flush()!.programDateTime).toBe(10_000 - 500 + 2000);
  });

  it("drops leading non-independent parts", () => {
    const seg = new Segmenter({ targetDuration: 2 });
    const events = feed(
      seg,
      Buffer.concat([avInit(), avPart(0, 0, false), avPart(1, 0.5, false), avPart(2, 1, true), avPart(3, 1.5, false)]),
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
        Buffer.concat([moof(k, { id: 1, bmdt: Math.round(k * gop * 90000), count: 1, tfhdDuration: gop * 90000, firstFlags: SYNC }), mdat()]),
      );
      return segmentsOf(feed(seg, Buffer.concat([avInit(), ...parts]))).map((s) => Number(s.duration.toFixed(3)));
    };
    expect(run(0.98)).toEqual([1.96, 1.96]);
    expect(run(0.97)).toEqual([2.91]);
  });

  it("times audio-only streams from the audio track", () => {
    const init = Buffer.concat([ftyp(), moov([AUDIO], [trex(2, 1024, 0)])]);
    const seg = new Segmenter({ targetDuration: 2 });
    // 47 AAC frames ≈ 1.003 s per part; every audio part is independent.
    const parts = Array.from({ length: 5 }, (_, k) =>
      Buffer.concat([moof(k, { id: 2, bmdt: k * 47 * 1024, count: 47 }), mdat()]),
    );
    const closed = segmentsOf(feed(seg, Buffer.concat([init, ...parts])));
    expect(closed.map((s) => s.parts.length)).toEqual([2, 2]);
    expect(closed[0].duration).toBeCloseTo((94 * 1024) / 48000, 9);
  });

  it("keeps a part with no video samples inside the open segment", () => {
    const seg = new Segmenter({ targetDuration: 2 });
    const audioOnly = Buffer.concat([moof(9, { id: 2, bmdt: 48000, count: 10 }), mdat()]);
    feed(seg, Buffer.concat([avInit(), avPart(0, 0, true), avPart(1, 0.5, false), audioOnly]));
    const s = seg.flush()!;
    expect(s.parts).toHaveLength(3);
    expect(s.parts[2]).toMatchObject({ independent: false, duration: 0, startDts: 1 });
    expect(s.duration).toBe(1);
  });

  it("rejects streams it cannot segment", () => {
    expect(() => new Segmenter({ targetDuration: 2 }).push({ type: "moof", data: moof(1) })).toThrow(/before moov/);
    const s = new Segmenter({ targetDuration: 2 });
    feed(s, avInit());
    expect(() => s.push({ type: "mdat", data: mdat() })).toThrow(/without moof/);
    expect(() => feed(s, avInit())).toThrow(/second moov/);
    const capped = new Segmenter({ targetDuration: 2, maxSegmentBytes: 2000 });
    feed(capped, Buffer.concat([avInit(), avPart(0, 0, true)]));
    expect(() => feed(capped, Buffer.concat(Array.from({ length: 10 }, (_, k) => avPart(k + 1, 0.5 * (k + 1), false))))).toThrow(
      /keyframe/,
    );
    expect(capped.flush()!.parts.length).toBeGreaterThan(0);
  });
});
