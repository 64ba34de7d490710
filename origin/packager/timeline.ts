/**
 * One decode timeline across a stream's runs. Every FFmpeg process (a
 * broadcaster's reconnect, an origin restart) starts its output at decode
 * time 0, and FFmpeg's mp4 muxer ignores `-output_ts_offset`; players and
 * FFmpeg's own HLS reader then see timestamps go back at the discontinuity
 * (out-of-order DTS, dropped frames). The packager therefore moves each run
 * onto the stream's timeline itself, by rewriting the `tfdt` of every
 * fragment: run N starts where run N − 1 ended.
 */
import { BoxError, child, childrenOf, fullBox, type BoxRange, type InitTrack } from "./boxes.js";

/** Adds `offsetSeconds` to every track's baseMediaDecodeTime in `moof`, in place. */
export function shiftDecodeTimes(moof: Buffer, offsetSeconds: number, tracks: readonly InitTrack[]): void {
  if (offsetSeconds === 0) return;
  const whole: BoxRange = { type: "", start: 0, body: 0, end: moof.length };
  const root = child(moof, whole, "moof");
  if (!root) throw new BoxError("not a moof");
  for (const traf of childrenOf(moof, root, "traf")) {
    const tfhd = child(moof, traf, "tfhd");
    const tfdt = child(moof, traf, "tfdt");
    if (!tfhd || !tfdt) throw new BoxError("traf without tfhd or tfdt");
    const trackId = moof.readUInt32BE(fullBox(moof, tfhd).pos);
    const track = tracks.find((t) => t.trackId === trackId);
    if (!track) throw new BoxError(`fragment of unknown track ${trackId}`);
    const shift = BigInt(Math.round(offsetSeconds * track.timescale));
    const t = fullBox(moof, tfdt);
    if (t.version === 1) {
      if (t.pos + 8 > tfdt.end) throw new BoxError("box 'tfdt' too short");
      moof.writeBigUInt64BE(moof.readBigUInt64BE(t.pos) + shift, t.pos);
    } else {
      if (t.pos + 4 > tfdt.end) throw new BoxError("box 'tfdt' too short");
      const value = BigInt(moof.readUInt32BE(t.pos)) + shift;
      if (value > 0xffffffffn) throw new BoxError("decode time beyond a 32-bit tfdt");
      moof.writeUInt32BE(Number(value), t.pos);
    }
  }
}
