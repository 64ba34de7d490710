/**
 * What makes the packager's output CMAF (ISO/IEC 23000-19) rather than
 * "fragmented MP4": brands that say so, and fragments written one track each.
 *
 * - Every init segment (CMAF header) carries exactly one track and an `ftyp`
 *   whose brands are `cmfc` (the CMAF structural brand), `iso6` (the ISO
 *   base media file format edition whose boxes we use) and, when the track
 *   fits one, its CMAF media profile: `cfsd` / `cfhd` for AVC up to SD / HD,
 *   `caac` for AAC-LC / HE-AAC up to stereo and 48 kHz.
 * - Every segment (CMAF segment) starts with an `styp`: `msdh` (a media
 *   segment as DASH and HLS fetch them) and `cmfs` (CMAF segment). Parts are
 *   byte ranges of their segment, so the first part of a segment carries it
 *   and the others start directly with their `moof`.
 * - The audio track is re-fragmented by the packager (audio-segmenter.ts)
 *   with `writeFragment`: one `traf`, `tfdt` version 1, base offsets relative
 *   to the `moof`, as CMAF requires.
 */
import { BoxError } from "./box-splitter.js";
import type { InitTrack } from "./init-info.js";

/** A box from its type and payload pieces (32-bit size; nothing we write comes near 4 GiB). */
export function box(type: string, ...payload: Buffer[]): Buffer {
  if (type.length !== 4) throw new Error(`box type must be 4 characters: ${type}`);
  const size = 8 + payload.reduce((n, p) => n + p.length, 0);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(size, 0);
  header.write(type, 4, "latin1");
  return Buffer.concat([header, ...payload], size);
}

function fullBox(type: string, version: number, flags: number, ...payload: Buffer[]): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(((version & 0xff) << 24) | (flags & 0xffffff), 0);
  return box(type, head, ...payload);
}

function brandBox(type: "ftyp" | "styp", major: string, compatible: readonly string[]): Buffer {
  const body = Buffer.alloc(8 + 4 * compatible.length);
  body.write(major, 0, "latin1");
  body.writeUInt32BE(0, 4); // minor version
  compatible.forEach((brand, i) => body.write(brand, 8 + 4 * i, "latin1"));
  return box(type, body);
}

/** AVC level_idc from an RFC 6381 'avc1.PPCCLL' string. */
function avcLevel(codec: string): number | undefined {
  const m = /^avc[13]\.[0-9a-f]{4}([0-9a-f]{2})$/i.exec(codec);
  return m?.[1] === undefined ? undefined : parseInt(m[1], 16);
}

/** The CMAF media profile brand a track conforms to, if any we can vouch for. */
export function mediaProfileBrand(track: InitTrack): string | undefined {
  if (track.kind === "video") {
    const level = avcLevel(track.codec);
    const { width = Infinity, height = Infinity } = track;
    if (level === undefined) return undefined;
    if (width <= 864 && height <= 576 && level <= 31) return "cfsd";
    if (width <= 1920 && height <= 1080 && level <= 40) return "cfhd";
    return undefined;
  }
  if (track.kind === "audio" && /^mp4a\.40\.(2|5|29)$/.test(track.codec)) {
    if ((track.channels ?? 0) <= 2 && (track.sampleRate ?? Infinity) <= 48_000) return "caac";
  }
  return undefined;
}

/** Brands of a CMAF header's ftyp for `track` (also what the unit tests check). */
export function initBrands(track: InitTrack): { major: string; compatible: string[] } {
  const profile = mediaProfileBrand(track);
  return { major: "cmfc", compatible: ["cmfc", "iso6", ...(profile ? [profile] : [])] };
}

/**
 * A CMAF header from FFmpeg's init (ftyp + moov of one track): FFmpeg's
 * `ftyp` (iso5/iso6/mp41) is replaced by one with CMAF brands; the moov is
 * kept byte for byte.
 */
export function cmafInit(moov: Buffer, track: InitTrack): Buffer {
  if (moov.toString("latin1", 4, 8) !== "moov") throw new BoxError("cmafInit expects the moov box");
  const { major, compatible } = initBrands(track);
  return Buffer.concat([brandBox("ftyp", major, compatible), moov]);
}

export const SEGMENT_BRANDS = { major: "msdh", compatible: ["msdh", "cmfs"] } as const;

/** The `styp` that opens every segment (and so the segment's first part). */
export const SEGMENT_TYPE_BOX: Buffer = brandBox("styp", SEGMENT_BRANDS.major, SEGMENT_BRANDS.compatible);

/** sample_depends_on = 2 (depends on no other sample), sync: every audio frame. */
const INDEPENDENT_SAMPLE_FLAGS = 0x02000000;
const TFHD_DEFAULT_FLAGS = 0x20;
const TFHD_DEFAULT_BASE_IS_MOOF = 0x020000;
const TRUN_DATA_OFFSET = 0x1;
const TRUN_DURATION = 0x100;
const TRUN_SIZE = 0x200;

/** moof + mdat of one track whose samples are all independent (audio), starting at decode time `baseDts`. */
export function writeFragment(
  sequence: number,
  trackId: number,
  baseDts: number,
  samples: readonly { duration: number; data: Buffer }[],
): Buffer {
  const mfhd = fullBox("mfhd", 0, 0, u32(sequence));
  const tfhd = fullBox("tfhd", 0, TFHD_DEFAULT_BASE_IS_MOOF | TFHD_DEFAULT_FLAGS, u32(trackId), u32(INDEPENDENT_SAMPLE_FLAGS));
  const dts = Buffer.alloc(8);
  dts.writeBigUInt64BE(BigInt(baseDts), 0);
  const tfdt = fullBox("tfdt", 1, 0, dts);
  const entries = Buffer.alloc(8 + 8 * samples.length);
  entries.writeUInt32BE(samples.length, 0);
  // data_offset (entries[4..8]) is patched below, once the moof's size is known
  samples.forEach((s, i) => {
    entries.writeUInt32BE(s.duration, 8 + 8 * i);
    entries.writeUInt32BE(s.data.length, 12 + 8 * i);
  });
  const trun = fullBox("trun", 0, TRUN_DATA_OFFSET | TRUN_DURATION | TRUN_SIZE, entries);
  const moof = box("moof", mfhd, box("traf", tfhd, tfdt, trun));
  // trun is the last box of the moof: its data_offset field sits 8 + 4 bytes into its entries
  const dataOffsetAt = moof.length - trun.length + 12 + 4;
  moof.writeInt32BE(moof.length + 8, dataOffsetAt);
  return Buffer.concat([moof, box("mdat", ...samples.map((s) => s.data))]);
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0, 0);
  return b;
}
