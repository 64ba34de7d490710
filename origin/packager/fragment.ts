/**
 * Reads a movie fragment (moof): per track its decode time, sample count,
 * duration and whether it starts with a sync sample.
 */
import { BoxError } from "./box-splitter.js";
import { child, childrenOf, fullBox, need, readU64, type BoxRange } from "./box-walk.js";
import type { TrackDefaults } from "./init-info.js";

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
      (r.flags & TRUN_DURATION ? 4 : 0) + (r.flags & TRUN_SIZE ? 4 : 0) + (r.flags & TRUN_FLAGS ? 4 : 0) + (r.flags & TRUN_CTO ? 4 : 0);
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
      firstFlags = runFirstFlags ?? (r.flags & TRUN_FLAGS ? buf.readUInt32BE(flagsPos) : (defaultFlags ?? 0));
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

/** One sample of a fragment, with its bytes (for re-fragmenting a track, see audio-segmenter.ts). */
export interface FragmentSample {
  /** Decode time in the track's timescale. */
  dts: number;
  duration: number;
  data: Buffer;
}

/**
 * The samples of a single-track fragment (moof + its mdat, as separate
 * buffers), with their decode times and bytes. Data offsets are read
 * relative to the moof's first byte (FFmpeg's default_base_moof, and the
 * ISO default for a fragment's first track without a base offset).
 */
export function readFragmentSamples(
  moof: Buffer,
  mdat: Buffer,
  defaults: readonly TrackDefaults[],
): { trackId: number; samples: FragmentSample[] } {
  const whole: BoxRange = { type: "", start: 0, body: 0, end: moof.length };
  const root = child(moof, whole, "moof");
  if (!root) throw new BoxError("not a moof");
  const trafs = childrenOf(moof, root, "traf");
  const traf = trafs[0];
  if (!traf || trafs.length !== 1) throw new BoxError(`expected one track per fragment, found ${trafs.length}`);
  const tfhd = child(moof, traf, "tfhd");
  const tfdt = child(moof, traf, "tfdt");
  if (!tfhd || !tfdt) throw new BoxError("traf without tfhd or tfdt");
  const h = fullBox(moof, tfhd);
  if (h.flags & TFHD_BASE_DATA_OFFSET) throw new BoxError("explicit base data offsets are not supported");
  let p = h.pos;
  need(tfhd, p, 4);
  const trackId = moof.readUInt32BE(p);
  p += 4;
  if (h.flags & TFHD_SAMPLE_DESCRIPTION_INDEX) p += 4;
  const trex = defaults.find((d) => d.trackId === trackId);
  let defaultDuration = trex?.defaultSampleDuration;
  let defaultSize: number | undefined;
  if (h.flags & TFHD_DEFAULT_DURATION) {
    need(tfhd, p, 4);
    defaultDuration = moof.readUInt32BE(p);
    p += 4;
  }
  if (h.flags & TFHD_DEFAULT_SIZE) {
    need(tfhd, p, 4);
    defaultSize = moof.readUInt32BE(p);
  }
  const t = fullBox(moof, tfdt);
  need(tfdt, t.pos, t.version === 1 ? 8 : 4);
  let dts = t.version === 1 ? readU64(moof, t.pos) : moof.readUInt32BE(t.pos);

  // mdat payload position relative to the moof's first byte.
  const mdatHeader = mdat.readUInt32BE(0) === 1 ? 16 : 8;
  const samples: FragmentSample[] = [];
  let next = moof.length + mdatHeader; // implicit offset: right after the previous run's data
  for (const trun of childrenOf(moof, traf, "trun")) {
    const r = fullBox(moof, trun);
    let q = r.pos;
    need(trun, q, 4);
    const count = moof.readUInt32BE(q);
    q += 4;
    if (r.flags & TRUN_DATA_OFFSET) {
      need(trun, q, 4);
      next = moof.readInt32BE(q);
      q += 4;
    }
    if (r.flags & TRUN_FIRST_SAMPLE_FLAGS) q += 4;
    const perSample =
      (r.flags & TRUN_DURATION ? 4 : 0) + (r.flags & TRUN_SIZE ? 4 : 0) + (r.flags & TRUN_FLAGS ? 4 : 0) + (r.flags & TRUN_CTO ? 4 : 0);
    need(trun, q, perSample * count);
    for (let i = 0; i < count; i++) {
      let f = q + i * perSample;
      const duration = r.flags & TRUN_DURATION ? moof.readUInt32BE(f) : defaultDuration;
      if (r.flags & TRUN_DURATION) f += 4;
      const size = r.flags & TRUN_SIZE ? moof.readUInt32BE(f) : defaultSize;
      if (duration === undefined || size === undefined) throw new BoxError(`track ${trackId}: sample without duration or size`);
      const start = next - moof.length;
      if (start < mdatHeader || start + size > mdat.length) throw new BoxError(`track ${trackId}: sample data outside its mdat`);
      samples.push({ dts, duration, data: mdat.subarray(start, start + size) });
      dts += duration;
      next += size;
    }
  }
  return { trackId, samples };
}
