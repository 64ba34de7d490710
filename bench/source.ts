/**
 * The bench's broadcaster: one FFmpeg encode of the test pattern (as
 * origin/tools/test-source.ts: testsrc2 + tone, burnt-in wall clock, x264
 * ultrafast/zerolatency, 1 s GOP) with a frame-number barcode added, published
 * to both systems at once through the tee muxer, so both see the same input.
 *
 * Source clock: with -re, frame n leaves the source at t0 + n / fps; t0 comes
 * from FFmpeg's -progress reports (origin/tools/progress-clock.ts). Any error
 * in t0 shifts both systems' latency equally.
 */
import { existsSync } from "node:fs";
import { resolveFfmpeg } from "../origin/ffmpeg.js";
import { ProgressClock } from "../origin/tools/progress-clock.js";
import { barcode } from "./lib/barcode.js";
import { spawnTracked, type Tracked } from "./lib/procs.js";

const FONT_CANDIDATES = [
  "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf",
  "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
  "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
];

export interface BenchSourceOptions {
  /** RTMP URLs to publish to (one encode, tee'd). */
  outputs: string[];
  width: number;
  height: number;
  frameRate: number;
  videoBitrate: string;
  /** Bound on the source's life (it is stopped earlier by the bench). */
  maxSeconds: number;
}

export interface BenchSource {
  process: Tracked;
  frameRate: number;
  /** Best estimate of the wall clock (ms) of frame 0, or undefined before the first report. */
  t0(): number | undefined;
  /** Wall clock (ms) at which frame `n` left the source. */
  frameWallTime(n: number): number;
  /** Frames encoded so far (last report). */
  frames(): number;
  /** How far the source fell behind real time at worst (ms), relative to t0. */
  maxLagMs(): number;
  stop(): Promise<void>;
}

export function sourceArgs(o: BenchSourceOptions): string[] {
  const font = FONT_CANDIDATES.find((f) => existsSync(f));
  const filters: string[] = [];
  if (font) {
    const size = Math.max(12, Math.round(o.height / 12));
    const text = `%{localtime\\:%T} f%{eif\\:mod(n\\,${o.frameRate})\\:d\\:2}`;
    filters.push(`drawtext=fontfile=${font}:text='${text}':fontsize=${size}:fontcolor=white:box=1:boxcolor=black@0.6:x=10:y=10`);
  }
  filters.push(barcode.ffmpegFilter(o.width, o.height));
  const outputs =
    o.outputs.length === 1
      ? ["-f", "flv", o.outputs[0]!]
      : ["-flags", "+global_header", "-f", "tee", o.outputs.map((u) => `[f=flv:onfail=ignore]${u}`).join("|")];
  return [
    "-hide_banner",
    "-loglevel",
    "error",
    "-nostdin",
    "-progress",
    "pipe:1",
    "-re",
    "-f",
    "lavfi",
    "-i",
    `testsrc2=size=${o.width}x${o.height}:rate=${o.frameRate}`,
    "-re",
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=440:sample_rate=48000",
    "-t",
    String(o.maxSeconds),
    "-vf",
    filters.join(","),
    "-map",
    "0:v",
    "-map",
    "1:a",
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-tune",
    "zerolatency",
    "-pix_fmt",
    "yuv420p",
    "-b:v",
    o.videoBitrate,
    "-g",
    String(o.frameRate),
    "-keyint_min",
    String(o.frameRate),
    "-c:a",
    "aac",
    "-b:a",
    "96k",
    "-ar",
    "48000",
    "-ac",
    "2",
    ...outputs,
  ];
}

export function startBenchSource(o: BenchSourceOptions): BenchSource {
  const proc = spawnTracked("test source", resolveFfmpeg(), sourceArgs(o), {
    stdio: ["ignore", "pipe", "pipe"],
    stopSignal: "SIGINT",
  });
  const offsets: Array<{ wall: number; frames: number }> = [];
  const clock = new ProgressClock(o.frameRate, (wall, frames) => {
    offsets.push({ wall, frames });
    if (offsets.length > 10_000) offsets.shift();
  });
  proc.child.stdout!.on("data", (d: Buffer) => clock.feed(d.toString()));
  return {
    process: proc,
    frameRate: o.frameRate,
    t0: () => clock.t0,
    frameWallTime(n: number): number {
      if (clock.t0 === undefined) throw new Error("source clock unknown (no progress report yet)");
      return clock.t0 + (n / o.frameRate) * 1000;
    },
    frames: () => clock.frames,
    maxLagMs(): number {
      const t0 = clock.t0;
      if (t0 === undefined) return 0;
      return Math.max(0, ...offsets.map((x) => x.wall - ((x.frames - 1) / o.frameRate) * 1000 - t0));
    },
    stop: () => proc.stop(),
  };
}
