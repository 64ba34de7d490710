/**
 * When an EventRoom polls next. Healthy feed: every `pollMs`; after n
 * consecutive failures: pollMs · 2^n, capped at `maxBackoffMs`; scheduled
 * (not yet started) events are polled slowly.
 */
export interface PollCadence {
  pollMs: number;
  maxBackoffMs: number;
  /** cadence while the event is scheduled (default max(pollMs, 15 s)) */
  scheduledPollMs?: number;
}

export function pollDelayMs(cadence: PollCadence, consecutiveFailures: number, status: string | null): number {
  const base = Math.max(50, cadence.pollMs);
  if (consecutiveFailures > 0) {
    const cap = Math.max(base, cadence.maxBackoffMs);
    const exponent = Math.min(consecutiveFailures, 30);
    return Math.min(cap, base * 2 ** exponent);
  }
  if (status === "scheduled") return Math.max(base, cadence.scheduledPollMs ?? 15_000);
  return base;
}

/** Next poll time: cadence counted from when this poll started, never in the past. */
export function nextPollAt(pollStartedAt: number, delayMs: number, now: number): number {
  return Math.max(now, pollStartedAt + delayMs);
}
