/**
 * A broadcaster in a box: FFmpeg publishing a test pattern with a burnt-in
 * wall clock and a tone over RTMP, the way OBS or a phone would. Used by the
 * demo, the end-to-end tests and the benchmarks.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { resolveFfmpeg } from "../ffmpeg.js";

const FONT_CANDIDATES = [
  "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf",
  "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
  "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
];

export interface TestSourceOptions {
  rtmpUrl: string;
  width?: number;
  height?: number;
  frameRate?: number;
  videoBitrate?: string;
  /** Stop after this many seconds; unbounded when omitted (the caller stops it). */
  durationSec?: number;
  /** Publish video only (default: a 440 Hz tone too). */
  noAudio?: boolean;
  onExit?: (code: number | null, stderrTail: string) => void;
}

export interface TestSource {
  readonly process: ChildProcess;
  stop(): Promise<void>;
  exited: Promise<number | null>;
}

function clockFilter(height: number, fps: number): string | undefined {
  const font = FONT_CANDIDATES.find((f) => existsSync(f));
  if (!font) return undefined;
  const size = Math.max(12, Math.round(height / 12));
  // Wall clock (same clock as program-date-time) and the frame within the second.
  const text = `%{localtime\\:%T} f%{eif\\:mod(n\\,${fps})\\:d\\:2}`;
  return `drawtext=fontfile=${font}:text='${text}':fontsize=${size}:fontcolor=white:box=1:boxcolor=black@0.6:x=10:y=10`;
}

export function startTestSource(options: TestSourceOptions): TestSource {
  const width = options.width ?? 1280;
  const height = options.height ?? 720;
  const fps = options.frameRate ?? 30;
  const clock = clockFilter(height, fps);
  const args = [
    "-hide_banner",
    "-loglevel",
    "error",
    "-nostdin",
    "-re",
    "-f",
    "lavfi",
    "-i",
    `testsrc2=size=${width}x${height}:rate=${fps}`,
    ...(options.noAudio ? [] : ["-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]),
    ...(options.durationSec ? ["-t", String(options.durationSec)] : []),
    ...(clock ? ["-vf", clock] : []),
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-tune",
    "zerolatency",
    "-pix_fmt",
    "yuv420p",
    "-b:v",
    options.videoBitrate ?? "1500k",
    "-g",
    String(fps),
    "-keyint_min",
    String(fps),
    ...(options.noAudio ? ["-an"] : ["-c:a", "aac", "-b:a", "96k", "-ar", "48000", "-ac", "2"]),
    "-f",
    "flv",
    options.rtmpUrl,
  ];
  const child = spawn(resolveFfmpeg(), args, { stdio: ["ignore", "ignore", "pipe"], detached: true });
  let stderrTail = "";
  child.stderr!.on("data", (d: Buffer) => {
    stderrTail = (stderrTail + d.toString()).slice(-2000);
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => {
      options.onExit?.(code, stderrTail);
      resolve(code);
    });
    child.once("error", () => resolve(null));
  });
  return {
    process: child,
    exited,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGINT");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
