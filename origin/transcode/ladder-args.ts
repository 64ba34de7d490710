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
 *   chunks and decides segment boundaries itself;
 * - one track per output (CMAF): each rendition's pipe carries its video
 *   only, and the audio is encoded once, on a pipe of its own, in one-frame
 *   fragments that the packager cuts at the video's part boundaries. The top
 *   rendition's output is a tee of two single-track mp4 muxers (its video
 *   pipe and the audio pipe), so that `-shortest` ends the audio with the
 *   video (an output of its own would never end on an endless silent source,
 *   nor on apad); global headers put the codec configuration in the moov,
 *   which the tee muxer does not ask for by itself.
 */
import { AUDIO_RENDITION, type RenditionSpec } from "../packager/packager-types.js";

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
  /**
   * Every rendition's output carries the audio too (muxed, no audio pipe):
   * for the benchmark's nginx peer, which publishes each rung as FLV. The
   * origin never uses it.
   */
  audioInEveryRendition?: boolean;
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

/** The packager inputs in file-descriptor order from FIRST_OUTPUT_FD: every video rendition, then the audio. */
export function ladderOutputs(ladder: readonly RenditionSpec[]): string[] {
  return [...ladder.map((r) => r.name), AUDIO_RENDITION];
}

const FRAGMENTED = "+frag_keyframe+empty_moov+default_base_moof";
/**
 * frag_keyframe cuts video only; a 1 µs fragment duration flushes the audio at
 * every AAC frame, so the packager has the audio up to a video boundary as
 * soon as FFmpeg has encoded it.
 */
const ONE_FRAME_FRAGMENTS = 1;

export function buildLadderArgs(opts: LadderArgsOptions): string[] {
  const { ladder, frameRate, preset, partDuration } = opts;
  const keyframeInterval = opts.keyframeInterval ?? 1;
  const gop = Math.round(frameRate * keyframeInterval);
  const labels = ladder.map((_, i) => `v${i}`);
  const split = `[0:v:0]fps=${frameRate},split=${ladder.length}${labels.map((l) => `[${l}in]`).join("")}`;
  const scales = ladder.map((r, i) => `[${labels[i]}in]scale=-2:${r.height}:flags=bicubic,setsar=1,format=yuv420p[${labels[i]}]`);
  const args = [
    "-hide_banner",
    "-loglevel",
    "warning",
    "-nostdin",
    "-fflags",
    "+genpts",
    "-probesize",
    "500000",
    "-analyzeduration",
    "1000000",
    "-f",
    "flv",
    "-i",
    "pipe:0",
    ...(opts.silentAudio ? ["-f", "lavfi", "-i", "anullsrc=channel_layout=stereo:sample_rate=48000"] : []),
    "-filter_complex",
    [split, ...scales].join(";"),
  ];
  const audioFd = FIRST_OUTPUT_FD + ladder.length;
  const audioBitrate = Math.max(...ladder.map((r) => r.audioBitrate));
  const fragDuration = String(Math.round(partDuration * 1_000_000));
  ladder.forEach((r, i) => {
    const top = i === 0;
    const withAudio = top || opts.audioInEveryRendition === true;
    const videoFd = FIRST_OUTPUT_FD + i;
    args.push("-map", `[${labels[i]}]`);
    if (withAudio) {
      // A run's last segment must hold as much audio as video: when the source ends, its audio is
      // padded with silence (apad) and -shortest ends the output with the video. The endless
      // silent source of a source without audio ends with the video the same way.
      args.push(...(opts.silentAudio ? ["-map", "1:a:0"] : ["-map", "0:a:0?", "-af", "apad"]), "-shortest");
    } else {
      args.push("-an");
    }
    args.push(
      "-c:v",
      "libx264",
      "-preset",
      preset,
      "-tune",
      "zerolatency",
      "-profile:v",
      "high",
      "-b:v",
      String(r.videoBitrate),
      "-maxrate",
      String(Math.round(r.videoBitrate * 1.1)),
      "-bufsize",
      String(r.videoBitrate),
      "-g",
      String(gop),
      "-keyint_min",
      String(gop),
      "-sc_threshold",
      "0",
      "-force_key_frames",
      `expr:gte(t,n_forced*${keyframeInterval})`,
    );
    if (withAudio)
      args.push("-c:a", "aac", "-b:a", String(opts.audioInEveryRendition ? r.audioBitrate : audioBitrate), "-ac", "2", "-ar", "48000");
    if (opts.audioInEveryRendition) {
      args.push("-f", "mp4", "-movflags", FRAGMENTED, "-frag_duration", fragDuration, `pipe:${videoFd}`);
    } else if (top) {
      args.push(
        "-flags",
        "+global_header",
        "-f",
        "tee",
        `[f=mp4:select=v:movflags=${FRAGMENTED}:frag_duration=${fragDuration}]pipe:${videoFd}` +
          `|[f=mp4:select=a:movflags=${FRAGMENTED}:frag_duration=${ONE_FRAME_FRAGMENTS}]pipe:${audioFd}`,
      );
    } else {
      args.push("-f", "mp4", "-movflags", FRAGMENTED, "-frag_duration", fragDuration, `pipe:${videoFd}`);
    }
  });
  return args;
}
