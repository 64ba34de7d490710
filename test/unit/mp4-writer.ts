/**
 * A tiny MP4 writer for the packager's unit tests: just the fields the
 * parsers read, so each test can build exactly the boxes it needs.
 */
export const u8 = (n: number) => Buffer.from([n & 0xff]);
export const u16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};
export const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
export const u64 = (n: number | bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};
export const zeros = (n: number) => Buffer.alloc(n);

export function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  return Buffer.concat([u32(8 + body.length), Buffer.from(type, "latin1"), body]);
}

export function largeBox(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  return Buffer.concat([u32(1), Buffer.from(type, "latin1"), u64(16 + body.length), body]);
}

export function full(type: string, version: number, flags: number, ...payload: Buffer[]): Buffer {
  return box(type, u8(version), u8(flags >> 16), u16(flags & 0xffff), ...payload);
}

export const ftyp = () => box("ftyp", Buffer.from("isom"), u32(512), Buffer.from("isomiso6mp41"));

export function avc1(width: number, height: number, profile: number, compat: number, level: number): Buffer {
  const avcC = box("avcC", Buffer.from([1, profile, compat, level, 0xff, 0xe1]), zeros(4));
  return box("avc1", zeros(6), u16(1), zeros(16), u16(width), u16(height), zeros(50), avcC);
}

/** An ES descriptor length the way FFmpeg writes it: always 4 bytes with continuation bits. */
const descLen = (n: number) => Buffer.from([0x80 | ((n >> 21) & 0x7f), 0x80 | ((n >> 14) & 0x7f), 0x80 | ((n >> 7) & 0x7f), n & 0x7f]);
const descriptor = (tag: number, body: Buffer) => Buffer.concat([u8(tag), descLen(body.length), body]);

export function mp4a(asc: Buffer | undefined, oti = 0x40): Buffer {
  const dsi = asc ? descriptor(0x05, asc) : Buffer.alloc(0);
  const dcd = descriptor(0x04, Buffer.concat([u8(oti), u8(0x15), zeros(3), u32(128000), u32(128000), dsi]));
  const es = descriptor(0x03, Buffer.concat([u16(1), u8(0), dcd, descriptor(0x06, u8(2))]));
  const esds = full("esds", 0, 0, es);
  return box("mp4a", zeros(6), u16(1), zeros(8), u16(2), u16(16), zeros(4), u32(48000 << 16), esds);
}

export interface TrakSpec {
  id: number;
  handler: "vide" | "soun" | "meta";
  timescale: number;
  entry: Buffer;
  mdhdVersion?: 0 | 1;
}

export function trak(t: TrakSpec): Buffer {
  const mdhd =
    t.mdhdVersion === 1
      ? full("mdhd", 1, 0, u64(0), u64(0), u32(t.timescale), u64(0), zeros(4))
      : full("mdhd", 0, 0, u32(0), u32(0), u32(t.timescale), u32(0), zeros(4));
  const hdlr = full("hdlr", 0, 0, u32(0), Buffer.from(t.handler), zeros(12), u8(0));
  const stsd = full("stsd", 0, 0, u32(1), t.entry);
  const stbl = box("stbl", stsd);
  return box("trak", full("tkhd", 0, 3, u32(0), u32(0), u32(t.id), zeros(4)), box("mdia", mdhd, hdlr, box("minf", stbl)));
}

export const trex = (id: number, duration: number, flags: number) => full("trex", 0, 0, u32(id), u32(1), u32(duration), u32(0), u32(flags));

export function moov(traks: TrakSpec[], trexes: Buffer[]): Buffer {
  return box("moov", full("mvhd", 0, 0, zeros(96)), ...traks.map(trak), box("mvex", ...trexes));
}

export interface TrafSpec {
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

export function traf(t: TrafSpec): Buffer {
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
    t.tfdtVersion === 1 || typeof t.bmdt === "bigint" ? full("tfdt", 1, 0, u64(t.bmdt)) : full("tfdt", 0, 0, u32(Number(t.bmdt)));
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
      if (t.durations) fields.push(u32(t.durations[i] ?? 0));
      fields.push(u32(100));
      if (t.sampleFlags) fields.push(u32(t.sampleFlags[i] ?? 0));
    }
    truns.push(full("trun", 0, flags, ...fields));
  }
  return box("traf", full("tfhd", 0, tfhdFlags, ...tfhdFields), ...(t.noTfdt ? [] : [tfdt]), ...truns);
}

export const moof = (seq: number, ...trafs: TrafSpec[]) => box("moof", full("mfhd", 0, 0, u32(seq)), ...trafs.map(traf));
export const mdat = (n = 64) => box("mdat", Buffer.alloc(n, 0xab));

export const NON_SYNC = 0x10000;
export const SYNC = 0x02000000; // sample_depends_on = 2 (I-frame), sync

export const VIDEO: TrakSpec = { id: 1, handler: "vide", timescale: 90000, entry: avc1(1280, 720, 0x64, 0x00, 0x1f) };
export const AUDIO: TrakSpec = { id: 2, handler: "soun", timescale: 48000, entry: mp4a(Buffer.from([0x11, 0x90])) };
export const avInit = () => Buffer.concat([ftyp(), moov([VIDEO, AUDIO], [trex(1, 0, NON_SYNC), trex(2, 1024, 0)])]);
