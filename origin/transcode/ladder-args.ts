/**
 * FFmpeg arguments for one stream: FLV in on stdin, one fragmented-MP4 output
 * per rendition on pipes 3, 4, ... Pure, so the exact command is unit-tested.
 *
 * Why these flags:
 * - keyframes every second by time (force_key_frames) and never on scene cuts
 *   (sc_threshold 0): segments are cut at keyframes, so they come out regular;
 * - zerolatency: no B-frames and no lookahead, which keeps pts == dts and the
 *   encoder delay near one frame;
 * - frag_keyframe + frag_duration: fragments start at every keyframe and are
 *   also cut every part duration, so the packager receives LL-HLS-sized
 *   chunks and decides segment boundaries itself.
 */
import type { RenditionSpec } from "../packager/stream-packager.js";

export interface LadderArgsOptions {
  ladder: RenditionSpec[];
  frameRate: number;
  preset: string;
  partDuration: number;
  keyframeInterval?: number;
  /**
   * The source has no audio: a silent AAC track stands in, so every run of a
   * stream has the same track layout (a reconnect that adds audio must not
   * change what the master playlist promised).
   */
  silentAudio?: boolean;
}

/**
 * How long FFmpeg's parts actually are: it closes a fragment at the first
 * frame that reaches `-frag_duration`, so a part is a whole number of frames
 * (10 frames = 0.333 s at 30 fps for 333 ms). Keyframes land on part
 * boundaries when the keyframe interval is a multiple of this.
 */
export function nominalPartDuration(partDuration: number, frameRate: number): number {
  return Math.ceil(partDuration * frameRate - 1e-6) / frameRate;
}

/** First file descriptor of the rendition outputs (0-2 are stdio). */
export const FIRST_OUTPUT_FD = 3;

export function buildLadderArgs(opts: LadderArgsOptions): string[] {
  const { ladder, frameRate, preset, partDuration } = opts;
  const keyframeInterval = opts.keyframeInterval ?? 1;
  const gop = Math.round(frameRate * keyframeInterval);
  const labels = ladder.map((_, i) => `v${i}`);
  const split = `[0:v:0]fps=${frameRate},split=${ladder.length}${labels.map((l) => `[${l}in]`).join("")}`;
  const scales = ladder.map(
    (r, i) => `[${labels[i]}in]scale=-2:${r.height}:flags=bicubic,setsar=1,format=yuv420p[${labels[i]}]`,
  );
  const args = [
    "-hide_banner",
    "-loglevel", "warning",
    "-nostdin",
    "-fflags", "+genpts",
    "-probesize", "500000",
    "-analyzeduration", "1000000",
    "-f", "flv",
    "-i", "pipe:0",
    ...(opts.silentAudio ? ["-f", "lavfi", "-i", "anullsrc=channel_layout=stereo:sample_rate=48000"] : []),
    "-filter_complex", [split, ...scales].join(";"),
  ];
  ladder.forEach((r, i) => {
    args.push(
      "-map", `[${labels[i]}]`,
      // A run's last segment must hold as much audio as video: when the source ends, its audio is
      // padded with silence (apad) and -shortest ends the output with the video. The endless
      // silent source of a source without audio ends with the video the same way.
      ...(opts.silentAudio ? ["-map", "1:a:0"] : ["-map", "0:a:0?", "-af", "apad"]),
      "-shortest",
      "-c:v", "libx264",
      "-preset", preset,
      "-tune", "zerolatency",
      "-profile:v", "high",
      "-b:v", String(r.videoBitrate),
      "-maxrate", String(Math.round(r.videoBitrate * 1.1)),
      "-bufsize", String(r.videoBitrate),
      "-g", String(gop),
      "-keyint_min", String(gop),
      "-sc_threshold", "0",
      "-force_key_frames", `expr:gte(t,n_forced*${keyframeInterval})`,
      "-c:a", "aac",
      "-b:a", String(r.audioBitrate),
      "-ac", "2",
      "-ar", "48000",
      "-f", "mp4",
      "-movflags", "+frag_keyframe+empty_moov+default_base_moof",
      "-frag_duration", String(Math.round(partDuration * 1_000_000)),
      `pipe:${FIRST_OUTPUT_FD + i}`,
    );
  });
  return args;
}
