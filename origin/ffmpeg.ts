/**
 * The one place that decides which FFmpeg/FFprobe binary we run.
 * Order: FFMPEG_PATH / FFPROBE_PATH, a binary shipped inside an npm package
 * (@ffmpeg-installer, @ffprobe-installer), ffmpeg-static when it happens to be
 * installed (it is optional: its install step downloads, which fails offline),
 * then whatever is on PATH.
 */
import { createRequire } from "node:module";
import { existsSync } from "node:fs";

const require = createRequire(import.meta.url);

function fromPackage(load: () => unknown): string | undefined {
  try {
    const value = load();
    const path = typeof value === "string" ? value : (value as { path?: string } | null | undefined)?.path;
    return path && existsSync(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

let ffmpegPath: string | undefined;
let ffprobePath: string | undefined;

export function resolveFfmpeg(): string {
  ffmpegPath ??=
    process.env.FFMPEG_PATH ||
    fromPackage(() => require("@ffmpeg-installer/ffmpeg")) ||
    fromPackage(() => require("ffmpeg-static")) ||
    "ffmpeg";
  return ffmpegPath;
}

export function resolveFfprobe(): string {
  ffprobePath ??= process.env.FFPROBE_PATH || fromPackage(() => require("@ffprobe-installer/ffprobe")) || "ffprobe";
  return ffprobePath;
}
