/**
 * LL-HLS requests held until what they ask for exists (blocking playlist
 * reload, the hinted part): each is re-decided whenever the packager moves,
 * answered 503 after three target durations, dropped when its client goes.
 */
import { holdLimitMs, type Decision } from "./blocking.js";
import type { ServeResult } from "./packager-types.js";

interface HeldRequest {
  /** The answer, once there is one. */
  check(): ServeResult | undefined;
  finish(result: ServeResult): void;
}

export class HeldRequests {
  private readonly held = new Set<HeldRequest>();

  constructor(
    private readonly maxHeld: number,
    private readonly targetDuration: number,
  ) {}

  get size(): number {
    return this.held.size;
  }

  /**
   * Answers at once when `decide` already has an answer, else holds until it
   * does. `answer` turns a non-hold decision into the result.
   */
  serve(decide: () => Decision, answer: (decision: Decision) => ServeResult | undefined, signal?: AbortSignal): Promise<ServeResult> {
    const settle = () => {
      const decision = decide();
      return decision.kind === "hold" ? undefined : answer(decision);
    };
    const now = settle();
    if (now) return Promise.resolve(now);
    if (this.held.size >= this.maxHeld) {
      return Promise.resolve({ kind: "error", status: 503, code: "too_many_held", message: "too many blocking requests held" });
    }
    if (signal?.aborted) return Promise.resolve({ kind: "error", status: 499, code: "client_gone", message: "request aborted" });
    return new Promise<ServeResult>((resolve) => {
      const request: HeldRequest = {
        check: settle,
        finish: (result) => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          this.held.delete(request);
          resolve(result);
        },
      };
      const onAbort = () => request.finish({ kind: "error", status: 499, code: "client_gone", message: "request aborted" });
      const timer = setTimeout(
        () => request.finish({ kind: "error", status: 503, code: "hold_timeout", message: "not available within three target durations" }),
        holdLimitMs(this.targetDuration),
      );
      timer.unref?.();
      signal?.addEventListener("abort", onAbort, { once: true });
      this.held.add(request);
    });
  }

  /** Something moved: every held request looks again. */
  recheck(): void {
    for (const request of [...this.held]) {
      const result = request.check();
      if (result) request.finish(result);
    }
  }
}
