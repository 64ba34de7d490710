/**
 * ISO-BMFF (MP4) parsing for the packager: splitting FFmpeg's fragmented MP4
 * byte stream into top-level boxes, and reading just enough of the init
 * segment and of each movie fragment to name codecs and cut segments.
 *
 * Only the fields the packager needs are read; everything else is carried
 * through as opaque bytes, so this never has to understand a full MP4.
 */

/** A complete top-level box; `data` includes the header. */
export interface Box {
  type: string;
  data: Buffer;
}

/** Thrown for byte streams we refuse to interpret (corrupt, hostile or truncated). */
export class BoxError extends Error {
  override name = "BoxError";
}

/** No top-level box FFmpeg writes for a ~2 s rendition comes near this; a bigger size means a corrupt stream. */
export const MAX_BOX_SIZE = 64 * 1024 * 1024;

const LARGE_HEADER = 16;

/**
 * Incremental top-level box splitter. Pipe reads cut boxes at arbitrary
 * points, so input pieces are only queued until a whole box is present and
 * then copied out once (never concatenated per read, which would be O(n²) for
 * a big mdat arriving in 64 KiB reads).
 */
export class BoxSplitter {
  private pieces: Buffer[] = [];
  private queued = 0;
  /** Size of the box at the head of the queue, once its header is complete. */
  private headSize: number | undefined;
  private failed = false;

  constructor(private readonly maxBoxSize: number = MAX_BOX_SIZE) {}

  /** Bytes received that do not yet form a complete box. */
  get buffered(): number {
    return this.queued;
  }

  /** Feeds one piece; returns the boxes it completed (possibly none). Throws BoxError on a corrupt stream. */
  push(piece: Buffer): Box[] {
    if (this.failed) throw new BoxError("box stream already failed");
    if (piece.length > 0) {
      this.pieces.push(piece);
      this.queued += piece.length;
    }
    const boxes: Box[] = [];
    for (;;) {
      if (this.headSize === undefined) {
        this.headSize = this.readHeadSize();
        if (this.headSize === undefined) break;
      }
      if (this.queued < this.headSize) break;
      const data = this.take(this.headSize);
      this.headSize = undefined;
      boxes.push({ type: data.toString("latin1", 4, 8), data });
    }
    return boxes;
  }

  private readHeadSize(): number | undefined {
    if (this.queued < 8) return undefined;
    const head = this.peek(Math.min(LARGE_HEADER, this.queued));
    const type = head.toString("latin1", 4, 8);
    const size32 = head.readUInt32BE(0);
    let size: number = size32;
    if (size32 === 1) {
      if (head.length < LARGE_HEADER) return undefined;
      const large = head.readBigUInt64BE(8);
      size = large > BigInt(this.maxBoxSize) ? Infinity : Number(large);
      if (size < LARGE_HEADER) this.fail(`box '${type}': largesize ${size} smaller than its header`);
    } else if (size32 === 0) {
      // "Extends to end of file" cannot be delimited in an unbounded pipe.
      this.fail(`box '${type}' with size 0 (to end of file) in a live stream`);
    } else if (size32 < 8) {
      this.fail(`box '${type}': size ${size32} smaller than its header`);
    }
    if (size > this.maxBoxSize) {
      this.fail(`box '${type}' of ${size} bytes exceeds the ${this.maxBoxSize}-byte limit`);
    }
    return size;
  }

  private fail(message: string): never {
    this.failed = true;
    this.pieces = [];
    this.queued = 0;
    throw new BoxError(message);
  }

  private peek(n: number): Buffer {
    const first = this.pieces[0];
    if (first.length >= n) return first.subarray(0, n);
    return Buffer.concat(this.pieces, n);
  }

  /** Removes exactly n bytes from the queue as a standalone copy, so the box never pins a larger pipe buffer. */
  private take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    let used = 0; // whole pieces consumed; removed in one splice so tiny reads stay linear
    while (filled < n) {
      const piece = this.pieces[used];
      const want = n - filled;
      if (piece.length <= want) {
        piece.copy(out, filled);
        filled += piece.length;
        used++;
      } else {
        piece.copy(out, filled, 0, want);
        filled += want;
        this.pieces[used] = piece.subarray(want);
      }
    }
    this.pieces.splice(0, used);
    this.queued -= n;
    return out;
  }
}

// ---------------------------------------------------------------------------
// Child-box walking

export interface BoxRange {
  type: string;
  /** Offset of the box header. */
  start: number;
  /** Offset of the payload (after size/type/largesize). */
  body: number;
  end: number;
}

function* children(buf: Buffer, start: number, end: number): Generator<BoxRange> {
  let pos = start;
  while (pos + 8 <= end) {
    let size = buf.readUInt32BE(pos);
    const type = buf.toString("latin1", pos + 4, pos + 8);
    let body = pos + 8;
    if (size === 1) {
      if (pos + 16 > end) throw new BoxError(`truncated largesize header of '${type}'`);
      size = Number(buf.readBigUInt64BE(pos + 8));
      body = pos + 16;
    } else if (size === 0) {
      size = end - pos;
    }
    if (size < body - pos || pos + size > end) {
      throw new BoxError(`box '${type}' of ${size} bytes overruns its parent`);
    }
    yield { type, start: pos, body, end: pos + size };
    pos += size;
  }
}

export function child(buf: Buffer, parent: BoxRange, type: string): BoxRange | undefined {
  for (const c of children(buf, parent.body, parent.end)) if (c.type === type) return c;
  return undefined;
}

export function childrenOf(buf: Buffer, parent: BoxRange, type: string): BoxRange[] {
  return [...children(buf, parent.body, parent.end)].filter((c) => c.type === type);
}

function path(buf: Buffer, parent: BoxRange, ...types: string[]): BoxRange | undefined {
  let cur: BoxRange | undefined = parent;
  for (const t of types) {
    if (!cur) return undefined;
    cur = child(buf, cur, t);
  }
  return cur;
}

function need(box: BoxRange, offset: number, bytes: number): void {
  if (offset + bytes > box.end) throw new BoxError(`box '${box.type}' too short`);
}

/** Version and flags of a FullBox; its fields start 4 bytes after `body`. */
export function fullBox(buf: Buffer, box: BoxRange): { version: number; flags: number; pos: number } {
  need(box, box.body, 4);
  return { version: buf[box.body], flags: buf.readUInt32BE(box.body) & 0xffffff, pos: box.body + 4 };
}

function readU64(buf: Buffer, pos: number): number {
  return Number(buf.readBigUInt64BE(pos));
}

// ---------------------------------------------------------------------------
// Init segment

/** The trex defaults a fragment falls back on when tfhd/trun are silent. */
export interface TrackDefaults {
  trackId: number;
  defaultSampleDuration?: number;
  defaultSampleFlags?: number;
}

type TrackKind = "video" | "audio" | "other";

export interface InitTrack extends TrackDefaults {
  kind: TrackKind;
  /** mdhd timescale: ticks per second of this track's decode times. */
  timescale: number;
  /** RFC 6381 codec string for CODECS. */
  codec: string;
  width?: number;
  height?: number;
}

export interface InitInfo {
  tracks: InitTrack[];
}

const hex2 = (n: number) => n.toString(16).padStart(2, "0");

/** Parses ftyp+moov (any top-level boxes may surround the moov). */
export function parseInit(ftypAndMoov: Buffer): InitInfo {
  const whole: BoxRange = { type: "", start: 0, body: 0, end: ftypAndMoov.length };
  const moov = child(ftypAndMoov, whole, "moov");
  if (!moov) throw new BoxError("init segment has no moov");

  const trex = new Map<number, TrackDefaults>();
  const mvex = child(ftypAndMoov, moov, "mvex");
  if (mvex) {
    for (const box of childrenOf(ftypAndMoov, mvex, "trex")) {
      const { pos } = fullBox(ftypAndMoov, box);
      need(box, pos, 20);
      const trackId = ftypAndMoov.readUInt32BE(pos);
      trex.set(trackId, {
        trackId,
        defaultSampleDuration: ftypAndMoov.readUInt32BE(pos + 8),
        defaultSampleFlags: ftypAndMoov.readUInt32BE(pos + 16),
      });
    }
  }

  const tracks = childrenOf(ftypAndMoov, moov, "trak").map((trak) =>
    parseTrak(ftypAndMoov, trak, trex),
  );
  return { tracks };
}

function parseTrak(buf: Buffer, trak: BoxRange, trex: Map<number, TrackDefaults>): InitTrack {
  const tkhd = child(buf, trak, "tkhd");
  if (!tkhd) throw new BoxError("trak without tkhd");
  const th = fullBox(buf, tkhd);
  const idPos = th.pos + (th.version === 1 ? 16 : 8);
  need(tkhd, idPos, 4);
  const trackId = buf.readUInt32BE(idPos);

  const mdhd = path(buf, trak, "mdia", "mdhd");
  if (!mdhd) throw new BoxError(`track ${trackId} without mdhd`);
  const mh = fullBox(buf, mdhd);
  const tsPos = mh.pos + (mh.version === 1 ? 16 : 8);
  need(mdhd, tsPos, 4);
  const timescale = buf.readUInt32BE(tsPos);
  if (timescale === 0) throw new BoxError(`track ${trackId} has timescale 0`);

  const hdlr = path(buf, trak, "mdia", "hdlr");
  let kind: TrackKind = "other";
  if (hdlr) {
    const { pos } = fullBox(buf, hdlr);
    need(hdlr, pos, 8);
    const handler = buf.toString("latin1", pos + 4, pos + 8);
    kind = handler === "vide" ? "video" : handler === "soun" ? "audio" : "other";
  }

  const track: InitTrack = { trackId, kind, timescale, codec: "", ...defaultsOf(trex.get(trackId)) };
  const stsd = path(buf, trak, "mdia", "minf", "stbl", "stsd");
  const entry = stsd ? firstSampleEntry(buf, stsd) : undefined;
  if (entry) describeSampleEntry(buf, entry, track);
  return track;
}

function defaultsOf(t: TrackDefaults | undefined): Partial<TrackDefaults> {
  return t ? { defaultSampleDuration: t.defaultSampleDuration, defaultSampleFlags: t.defaultSampleFlags } : {};
}

function firstSampleEntry(buf: Buffer, stsd: BoxRange): BoxRange | undefined {
  const { pos } = fullBox(buf, stsd);
  // entry_count (4) precedes the entries.
  for (const entry of children(buf, pos + 4, stsd.end)) return entry;
  return undefined;
}

/** SampleEntry (8) + VisualSampleEntry fields (70) before child boxes. */
const VISUAL_ENTRY_FIELDS = 8 + 70;
/** SampleEntry (8) + AudioSampleEntry v0 fields (20) before child boxes. */
const AUDIO_ENTRY_FIELDS = 8 + 20;

function describeSampleEntry(buf: Buffer, entry: BoxRange, track: InitTrack): void {
  const fourcc = entry.type;
  track.codec = fourcc;
  if (track.kind === "video") {
    need(entry, entry.body, VISUAL_ENTRY_FIELDS);
    track.width = buf.readUInt16BE(entry.body + 8 + 16);
    track.height = buf.readUInt16BE(entry.body + 8 + 18);
    if (fourcc === "avc1" || fourcc === "avc3") {
      const avcC = firstChild(buf, entry.body + VISUAL_ENTRY_FIELDS, entry.end, "avcC");
      if (avcC) {
        need(avcC, avcC.body, 4);
        const [, profile, compat, level] = buf.subarray(avcC.body, avcC.body + 4);
        track.codec = `${fourcc}.${hex2(profile)}${hex2(compat)}${hex2(level)}`;
      }
    }
  } else if (track.kind === "audio" && fourcc === "mp4a") {
    track.codec = "mp4a.40.2";
    need(entry, entry.body, AUDIO_ENTRY_FIELDS);
    // QuickTime sound descriptions v1/v2 carry extra fields before the children.
    const qtVersion = buf.readUInt16BE(entry.body + 8);
    const extra = qtVersion === 1 ? 16 : qtVersion === 2 ? 36 : 0;
    const esds = firstChild(buf, entry.body + AUDIO_ENTRY_FIELDS + extra, entry.end, "esds");
    if (esds) {
      const codec = codecFromEsds(buf, esds);
      if (codec) track.codec = codec;
    }
  }
}

function firstChild(buf: Buffer, start: number, end: number, type: string): BoxRange | undefined {
  if (start > end) return undefined;
  for (const c of children(buf, start, end)) if (c.type === type) return c;
  return undefined;
}

/** Reads an MPEG-4 descriptor header (tag + 1..4 byte expandable size). */
function descriptor(buf: Buffer, pos: number, end: number): { tag: number; body: number; end: number } | undefined {
  if (pos >= end) return undefined;
  const tag = buf[pos++];
  let size = 0;
  for (let i = 0; i < 4; i++) {
    if (pos >= end) return undefined;
    const b = buf[pos++];
    size = (size << 7) | (b & 0x7f);
    if ((b & 0x80) === 0) break;
  }
  return { tag, body: pos, end: Math.min(pos + size, end) };
}

/** 'mp4a.40.<AOT>' for MPEG-4 audio, 'mp4a.<OTI hex>' for other object types (e.g. MP3 = 6b). */
function codecFromEsds(buf: Buffer, esds: BoxRange): string | undefined {
  const { pos } = fullBox(buf, esds);
  const es = descriptor(buf, pos, esds.end);
  if (!es || es.tag !== 0x03) return undefined;
  let p = es.body + 2; // ES_ID
  if (p >= es.end) return undefined;
  const flags = buf[p++];
  if (flags & 0x80) p += 2; // dependsOn_ES_ID
  if (flags & 0x40) p += 1 + (buf[p] ?? 0); // URL
  if (flags & 0x20) p += 2; // OCR_ES_Id
  const dcd = descriptor(buf, p, es.end);
  if (!dcd || dcd.tag !== 0x04 || dcd.body >= dcd.end) return undefined;
  const oti = buf[dcd.body];
  if (oti !== 0x40) return `mp4a.${hex2(oti)}`;
  const dsi = descriptor(buf, dcd.body + 13, dcd.end);
  if (!dsi || dsi.tag !== 0x05 || dsi.body >= dsi.end) return undefined;
  let aot = buf[dsi.body] >> 3;
  if (aot === 31) {
    if (dsi.body + 1 >= dsi.end) return undefined;
    aot = 32 + (((buf[dsi.body] & 0x07) << 3) | (buf[dsi.body + 1] >> 5));
  }
  return aot === 0 ? undefined : `mp4a.40.${aot}`;
}

// ---------------------------------------------------------------------------
// Movie fragment

export interface FragmentTrack {
  trackId: number;
  baseMediaDecodeTime: number;
  sampleCount: number;
  /** Sum of sample durations, in the track's timescale. */
  duration: number;
  firstSampleIsSync: boolean;
}

/** sample_is_non_sync_sample in the ISO sample flags. */
const NON_SYNC = 0x10000;

const TFHD_BASE_DATA_OFFSET = 0x1;
const TFHD_SAMPLE_DESCRIPTION_INDEX = 0x2;
const TFHD_DEFAULT_DURATION = 0x8;
const TFHD_DEFAULT_SIZE = 0x10;
const TFHD_DEFAULT_FLAGS = 0x20;

const TRUN_DATA_OFFSET = 0x1;
const TRUN_FIRST_SAMPLE_FLAGS = 0x4;
const TRUN_DURATION = 0x100;
const TRUN_SIZE = 0x200;
const TRUN_FLAGS = 0x400;
const TRUN_CTO = 0x800;

export function parseMoof(moof: Buffer, defaults: readonly TrackDefaults[]): FragmentTrack[] {
  const whole: BoxRange = { type: "", start: 0, body: 0, end: moof.length };
  const root = child(moof, whole, "moof");
  if (!root) throw new BoxError("not a moof");
  return childrenOf(moof, root, "traf").map((traf) => parseTraf(moof, traf, defaults));
}

function parseTraf(buf: Buffer, traf: BoxRange, defaults: readonly TrackDefaults[]): FragmentTrack {
  const tfhd = child(buf, traf, "tfhd");
  if (!tfhd) throw new BoxError("traf without tfhd");
  const h = fullBox(buf, tfhd);
  let p = h.pos;
  need(tfhd, p, 4);
  const trackId = buf.readUInt32BE(p);
  p += 4;
  if (h.flags & TFHD_BASE_DATA_OFFSET) p += 8;
  if (h.flags & TFHD_SAMPLE_DESCRIPTION_INDEX) p += 4;
  const trex = defaults.find((d) => d.trackId === trackId);
  let defaultDuration = trex?.defaultSampleDuration;
  let defaultFlags = trex?.defaultSampleFlags;
  if (h.flags & TFHD_DEFAULT_DURATION) {
    need(tfhd, p, 4);
    defaultDuration = buf.readUInt32BE(p);
    p += 4;
  }
  if (h.flags & TFHD_DEFAULT_SIZE) p += 4;
  if (h.flags & TFHD_DEFAULT_FLAGS) {
    need(tfhd, p, 4);
    defaultFlags = buf.readUInt32BE(p);
  }

  // CMAF (ISO/IEC 23000-19) requires tfdt in every traf; without it segment times are guesswork.
  const tfdt = child(buf, traf, "tfdt");
  if (!tfdt) throw new BoxError(`traf of track ${trackId} without tfdt`);
  const t = fullBox(buf, tfdt);
  need(tfdt, t.pos, t.version === 1 ? 8 : 4);
  const baseMediaDecodeTime = t.version === 1 ? readU64(buf, t.pos) : buf.readUInt32BE(t.pos);

  let sampleCount = 0;
  let duration = 0;
  let firstFlags: number | undefined;
  for (const trun of childrenOf(buf, traf, "trun")) {
    const r = fullBox(buf, trun);
    let q = r.pos;
    need(trun, q, 4);
    const count = buf.readUInt32BE(q);
    q += 4;
    if (r.flags & TRUN_DATA_OFFSET) q += 4;
    let runFirstFlags: number | undefined;
    if (r.flags & TRUN_FIRST_SAMPLE_FLAGS) {
      need(trun, q, 4);
      runFirstFlags = buf.readUInt32BE(q);
      q += 4;
    }
    const perSample =
      (r.flags & TRUN_DURATION ? 4 : 0) +
      (r.flags & TRUN_SIZE ? 4 : 0) +
      (r.flags & TRUN_FLAGS ? 4 : 0) +
      (r.flags & TRUN_CTO ? 4 : 0);
    need(trun, q, perSample * count);
    if (r.flags & TRUN_DURATION) {
      for (let i = 0; i < count; i++) duration += buf.readUInt32BE(q + i * perSample);
    } else {
      if (count > 0 && defaultDuration === undefined) {
        throw new BoxError(`track ${trackId}: no sample duration in trun, tfhd or trex`);
      }
      duration += count * (defaultDuration ?? 0);
    }
    if (firstFlags === undefined && count > 0) {
      const flagsPos = q + (r.flags & TRUN_DURATION ? 4 : 0) + (r.flags & TRUN_SIZE ? 4 : 0);
      firstFlags = runFirstFlags ?? (r.flags & TRUN_FLAGS ? buf.readUInt32BE(flagsPos) : defaultFlags ?? 0);
    }
    sampleCount += count;
  }

  return {
    trackId,
    baseMediaDecodeTime,
    sampleCount,
    duration,
    firstSampleIsSync: firstFlags !== undefined && (firstFlags & NON_SYNC) === 0,
  };
}
