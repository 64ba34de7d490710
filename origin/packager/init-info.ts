/**
 * Reads just enough of an init segment (ftyp+moov) to name codecs for the
 * master playlist and to interpret the fragments that follow.
 */
import { BoxError } from "./box-splitter.js";
import { byteAt, child, childrenOf, children, fullBox, need, path, type BoxRange } from "./box-walk.js";

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
  /** Audio: channel count of the sample entry (EXT-X-MEDIA CHANNELS). */
  channels?: number;
  /** Audio: sample rate of the sample entry, Hz. */
  sampleRate?: number;
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

  const tracks = childrenOf(ftypAndMoov, moov, "trak").map((trak) => parseTrak(ftypAndMoov, trak, trex));
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
        const [profile, compat, level] = [1, 2, 3].map((i) => byteAt(buf, avcC.body + i)) as [number, number, number];
        track.codec = `${fourcc}.${hex2(profile)}${hex2(compat)}${hex2(level)}`;
      }
    }
  } else if (track.kind === "audio" && fourcc === "mp4a") {
    track.codec = "mp4a.40.2";
    need(entry, entry.body, AUDIO_ENTRY_FIELDS);
    // AudioSampleEntry: reserved(8) + channelcount(2) + samplesize(2) + pre_defined(2) + reserved(2) + samplerate(16.16)
    track.channels = buf.readUInt16BE(entry.body + 8 + 8);
    track.sampleRate = buf.readUInt32BE(entry.body + 8 + 16) >>> 16;
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
  const tag = byteAt(buf, pos++);
  let size = 0;
  for (let i = 0; i < 4; i++) {
    if (pos >= end) return undefined;
    const b = byteAt(buf, pos++);
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
  const flags = byteAt(buf, p++);
  if (flags & 0x80) p += 2; // dependsOn_ES_ID
  if (flags & 0x40) p += 1 + (buf[p] ?? 0); // URL
  if (flags & 0x20) p += 2; // OCR_ES_Id
  const dcd = descriptor(buf, p, es.end);
  if (!dcd || dcd.tag !== 0x04 || dcd.body >= dcd.end) return undefined;
  const oti = byteAt(buf, dcd.body);
  if (oti !== 0x40) return `mp4a.${hex2(oti)}`;
  const dsi = descriptor(buf, dcd.body + 13, dcd.end);
  if (!dsi || dsi.tag !== 0x05 || dsi.body >= dsi.end) return undefined;
  const first = byteAt(buf, dsi.body);
  let aot = first >> 3;
  if (aot === 31) {
    if (dsi.body + 1 >= dsi.end) return undefined;
    aot = 32 + (((first & 0x07) << 3) | (byteAt(buf, dsi.body + 1) >> 5));
  }
  return aot === 0 ? undefined : `mp4a.40.${aot}`;
}
