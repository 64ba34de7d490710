/**
 * Media for the packager tests: a synthetic FLV source put through the
 * origin's own FFmpeg ladder command (origin/transcode/ladder-args.ts), so the
 * packager is tested on exactly what it gets in production: one video-only
 * fMP4 per rendition and one audio-only fMP4 in one-frame fragments.
 */
import { spawn } from "node:child_process";
import type { Readable } from "node:stream";
import { resolveFfmpeg } from "../../origin/ffmpeg.js";
import { BoxSplitter } from "../../origin/packager/box-splitter.js";
import { AUDIO_RENDITION, type RenditionSpec } from "../../origin/packager/packager-types.js";
import { FIRST_OUTPUT_FD, buildLadderArgs, ladderOutputs } from "../../origin/transcode/ladder-args.js";

export interface SourceOptions {
  seconds: number;
  /** testsrc size, e.g. "320x240". */
  size: string;
  /** A 440 Hz tone; without it the ladder's silent track stands in. */
  audio: boolean;
  frameRate?: number;
}

/** The publisher's side: an FLV of testsrc (+ a tone), 1 s keyframes, as a broadcaster would send. */
export function encodeFlv(opts: SourceOptions): Promise<Buffer> {
  const fps = opts.frameRate ?? 30;
  const args = [
    "-hide_banner",
    "-loglevel",
    "error",
    "-f",
    "lavfi",
    "-i",
    `testsrc=size=${opts.size}:rate=${fps}`,
    ...(opts.audio ? ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"] : []),
    "-t",
    String(opts.seconds),
    "-frames:v",
    String(Math.round(opts.seconds * fps)),
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-tune",
    "zerolatency",
    "-pix_fmt",
    "yuv420p",
    "-g",
    String(fps),
    ...(opts.audio ? ["-c:a", "aac", "-b:a", "64k"] : ["-an"]),
    "-f",
    "flv",
    "pipe:1",
  ];
  return collect(args, []).then((out) => out.stdout);
}

/** The origin's ladder over `flv`: the bytes of every packager input (each rendition, then "audio"). */
export async function runLadder(
  flv: Buffer,
  ladder: RenditionSpec[],
  opts: { partDuration: number; silentAudio?: boolean; frameRate?: number },
): Promise<Record<string, Buffer>> {
  const args = buildLadderArgs({
    ladder,
    frameRate: opts.frameRate ?? 30,
    preset: "ultrafast",
    partDuration: opts.partDuration,
    silentAudio: opts.silentAudio,
  });
  const outputs = ladderOutputs(ladder);
  const { pipes } = await collect(args, outputs, flv);
  return Object.fromEntries(outputs.map((name, i) => [name, pipes[i]!]));
}

/** Source → ladder in one go (a source without audio gets the silent track, as the origin does). */
export async function encodeTracks(source: SourceOptions, ladder: RenditionSpec[], partDuration: number): Promise<Record<string, Buffer>> {
  const flv = await encodeFlv(source);
  return runLadder(flv, ladder, { partDuration, silentAudio: !source.audio, frameRate: source.frameRate });
}

function collect(args: string[], outputs: string[], stdin?: Buffer): Promise<{ stdout: Buffer; pipes: Buffer[] }> {
  return new Promise((resolve, reject) => {
    const stdio: Array<"pipe" | "ignore"> = [stdin ? "pipe" : "ignore", "pipe", "pipe", ...outputs.map(() => "pipe" as const)];
    const child = spawn(resolveFfmpeg(), args, { stdio });
    const stdout: Buffer[] = [];
    const pipes: Buffer[][] = outputs.map(() => []);
    let err = "";
    child.stdout!.on("data", (b: Buffer) => stdout.push(b));
    child.stderr!.on("data", (b: Buffer) => (err += b));
    outputs.forEach((_, i) => (child.stdio[FIRST_OUTPUT_FD + i] as Readable).on("data", (b: Buffer) => pipes[i]!.push(b)));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0
        ? resolve({ stdout: Buffer.concat(stdout), pipes: pipes.map((p) => Buffer.concat(p)) })
        : reject(new Error(`ffmpeg exited ${code}: ${err}`)),
    );
    if (stdin) child.stdin!.end(stdin);
  });
}

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Pieces of 1 byte to ~24 KiB, like pipe reads of varying fullness. */
export function* pieces(data: Buffer, seed: number): Generator<Buffer> {
  const random = rng(seed);
  for (let pos = 0; pos < data.length;) {
    const n = random() < 0.1 ? 1 + Math.floor(random() * 16) : 1 + Math.floor(random() * 24_000);
    yield data.subarray(pos, pos + n);
    pos += n;
  }
}

/**
 * Every input's pieces interleaved as pipes deliver them: at each step the
 * input that is least far along (by share of its bytes) gets its next piece.
 */
export function* interleaved(inputs: Record<string, Buffer>, seed: number): Generator<[string, Buffer]> {
  const cursors = Object.entries(inputs).map(([name, data], i) => ({ name, data, it: pieces(data, seed + i), done: 0 }));
  for (;;) {
    const open = cursors.filter((c) => c.done < c.data.length);
    if (open.length === 0) return;
    const next = open.reduce((a, b) => (a.done / a.data.length <= b.done / b.data.length ? a : b));
    const piece = next.it.next();
    if (piece.done) {
      next.done = next.data.length;
      continue;
    }
    next.done += piece.value.length;
    yield [next.name, piece.value];
  }
}

/** ftyp+moov, then each moof+mdat pair: the units in which FFmpeg's output arrives. */
export function units(data: Buffer): { init: Buffer; parts: Buffer[] } {
  const head: Buffer[] = [];
  const parts: Buffer[] = [];
  let pending: Buffer | undefined;
  for (const box of new BoxSplitter().push(data)) {
    if (box.type === "ftyp" || box.type === "moov") head.push(box.data);
    else if (box.type === "moof") pending = box.data;
    else if (box.type === "mdat" && pending) {
      parts.push(Buffer.concat([pending, box.data]));
      pending = undefined;
    }
  }
  return { init: Buffer.concat(head), parts };
}

export { AUDIO_RENDITION };
