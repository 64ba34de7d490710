/**
 * One FFmpeg process per publish run: FLV in on stdin, one fMP4 pipe out per
 * rendition. Every process we start is tracked so the origin can stop them
 * all on shutdown (and a hard exit of ours closes their stdin, which ends them).
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { Readable } from "node:stream";
import { resolveFfmpeg } from "../ffmpeg.js";
import { FIRST_OUTPUT_FD } from "./ladder-args.js";

const running = new Set<ChildProcess>();

export interface TranscoderOptions {
  args: string[];
  renditions: string[];
  onOutput: (rendition: string, chunk: Buffer) => void;
  /** Called once every output pipe is drained and the process has exited. */
  onDone: (result: { code: number | null; signal: NodeJS.Signals | null; stderrTail: string }) => void;
}

export interface Transcoder {
  readonly pid: number | undefined;
  /** Feed FLV bytes; false when the process is gone. */
  write(chunk: Buffer): boolean;
  /** Input finished: FFmpeg flushes its encoders and exits. */
  endInput(): void;
  /** Stop now (SIGTERM, then SIGKILL). */
  kill(): Promise<void>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
}

export function runningTranscoders(): number {
  return running.size;
}

export function runningTranscoderPids(): number[] {
  return [...running].map((child) => child.pid).filter((pid): pid is number => pid !== undefined);
}

export function startTranscoder(options: TranscoderOptions): Transcoder {
  const { renditions } = options;
  const stdio: Array<"pipe" | "ignore"> = ["pipe", "ignore", "pipe", ...renditions.map(() => "pipe" as const)];
  // Own process group: a Ctrl-C in the terminal reaches us, and we stop
  // FFmpeg in order (flush, then kill) rather than having it die mid-write.
  const child = spawn(resolveFfmpeg(), options.args, { stdio, detached: true });
  running.add(child);

  let stderrTail = "";
  child.stderr!.on("data", (data: Buffer) => {
    stderrTail = (stderrTail + data.toString("utf8")).slice(-4000);
  });
  // A broken stdin (FFmpeg died) must not crash the origin.
  child.stdin!.on("error", () => {});

  let pendingOutputs = renditions.length;
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const maybeDone = () => {
    if (pendingOutputs === 0 && exit) options.onDone({ ...exit, stderrTail });
  };
  renditions.forEach((name, i) => {
    const pipe = child.stdio[FIRST_OUTPUT_FD + i] as Readable;
    pipe.on("data", (chunk: Buffer) => options.onOutput(name, chunk));
    pipe.once("close", () => {
      pendingOutputs--;
      maybeDone();
    });
    pipe.on("error", () => {});
  });
  const exited = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      running.delete(child);
      exit = { code, signal };
      resolve();
      maybeDone();
    });
    child.once("error", (error) => {
      running.delete(child);
      stderrTail += `\nspawn failed: ${error.message}`;
      exit = { code: null, signal: null };
      pendingOutputs = 0;
      resolve();
      maybeDone();
    });
  });

  return {
    pid: child.pid,
    exited,
    write: (chunk) => {
      if (!child.stdin || child.stdin.destroyed || exit) return false;
      child.stdin.write(chunk);
      return true;
    },
    endInput: () => child.stdin?.end(),
    kill: async () => {
      if (exit) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 2_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Last resort on process exit: synchronous, so it runs even from an 'exit' handler. */
export function killAllTranscodersSync(): void {
  for (const child of running) child.kill("SIGKILL");
}
