/**
 * Starts a run's FFmpeg once the source's track layout is known. The args
 * depend on whether the broadcaster sends audio (without it a silent track
 * stands in, see ladder-args.ts), which shows only in the first tags, so
 * bytes are held until then: no delay when audio is there (its tags come
 * first), about one second of video otherwise.
 */
import type { Transcoder } from "./transcoder.js";

export interface DeferredTranscoderOptions {
  /** true / false once decided, undefined while unknown. */
  audioPresent: () => boolean | undefined;
  /** The answer when waiting is over (bytes stopped, or `maxWaitMs`). */
  fallback: () => boolean;
  start: (sourceHasAudio: boolean) => Transcoder;
  maxWaitMs: number;
  /** Called when no FFmpeg was ever started (no bytes came): the run is over. */
  onNeverStarted: () => void;
}

export function deferredTranscoder(options: DeferredTranscoderOptions): Transcoder {
  let real: Transcoder | undefined;
  let pending: Buffer[] = [];
  let inputEnded = false;
  let timer: NodeJS.Timeout | undefined;
  let settle!: () => void;
  const exited = new Promise<void>((resolve) => (settle = resolve));

  const launch = (hasAudio: boolean) => {
    if (real) return;
    clearTimeout(timer);
    real = options.start(hasAudio);
    void real.exited.then(settle);
    for (const chunk of pending) real.write(chunk);
    pending = [];
    if (inputEnded) real.endInput();
  };
  const finishUnstarted = () => {
    clearTimeout(timer);
    pending = [];
    settle();
    options.onNeverStarted();
  };

  return {
    get pid() {
      return real?.pid;
    },
    exited,
    write(chunk) {
      if (real) return real.write(chunk);
      if (inputEnded) return false;
      pending.push(chunk);
      timer ??= setTimeout(() => launch(options.fallback()), options.maxWaitMs);
      const decided = options.audioPresent();
      if (decided !== undefined) launch(decided);
      return true;
    },
    endInput() {
      if (real) return real.endInput();
      if (inputEnded) return;
      inputEnded = true;
      if (pending.length > 0) launch(options.fallback());
      else finishUnstarted();
    },
    async kill() {
      if (real) return real.kill();
      if (!inputEnded) {
        inputEnded = true;
        finishUnstarted();
      }
    },
  };
}
