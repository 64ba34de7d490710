/**
 * Server clock estimate, NTP style, from `GET /api/time` round trips.
 *
 * One sample = (local send time t0, server time s, local receive time t1).
 * Assuming the server read its clock half way through the round trip, the
 * offset (server − local) is s − (t0 + t1) / 2, wrong by at most ± rtt / 2
 * (t1 − t0). So, like NTP's clock filter, we keep the recent sample with the
 * smallest round trip: queueing and a busy event loop only ever add delay,
 * and the shortest exchange is the one least disturbed by it.
 *
 * Samples expire (`maxAgeMs`) so that a local clock that drifts or is
 * stepped is followed; `ServerClock` re-samples periodically. Pure parts
 * (the estimator) take times as arguments; the sampler takes injected fetch,
 * clock and timers, so both run in Node as well as in the browser.
 */

export interface ClockSample {
  /** Local time the request was sent, ms. */
  sentAt: number;
  /** Server time in the answer, ms. */
  serverTime: number;
  /** Local time the answer arrived, ms. */
  receivedAt: number;
}

export interface ClockEstimate {
  /** Server − local, ms. */
  offset: number;
  /** Round trip of the sample the estimate comes from, ms (the error bound is ± rtt / 2). */
  rtt: number;
  /** Local receive time of that sample. */
  at: number;
}

export class ClockOffsetEstimator {
  private samples: ClockSample[] = [];

  constructor(private readonly options: { maxSamples?: number; maxAgeMs?: number } = {}) {}

  /** Adds one exchange; returns false (and ignores it) when it is not a plausible one. */
  add(sample: ClockSample): boolean {
    const { sentAt, serverTime, receivedAt } = sample;
    if (![sentAt, serverTime, receivedAt].every(Number.isFinite) || receivedAt < sentAt) return false;
    this.samples.push(sample);
    const max = this.options.maxSamples ?? 32;
    if (this.samples.length > max) this.samples.splice(0, this.samples.length - max);
    return true;
  }

  /** Best estimate among the samples not older than maxAgeMs at `localNow` (default: all kept samples). */
  estimate(localNow?: number): ClockEstimate | null {
    const maxAge = this.options.maxAgeMs ?? Infinity;
    let best: ClockSample | null = null;
    for (const s of this.samples) {
      if (localNow !== undefined && localNow - s.receivedAt > maxAge) continue;
      if (!best || s.receivedAt - s.sentAt < best.receivedAt - best.sentAt) best = s;
    }
    if (!best) return null;
    return {
      offset: best.serverTime - (best.sentAt + best.receivedAt) / 2,
      rtt: best.receivedAt - best.sentAt,
      at: best.receivedAt,
    };
  }

  get size(): number {
    return this.samples.length;
  }
}

export interface ServerClockOptions {
  /** Returns the server's time (ms) from one request, e.g. `GET /api/time` → `now`. */
  fetchServerTime: () => Promise<number>;
  /** Local monotonic-ish clock, ms (browser: performance.timeOrigin + performance.now()). */
  localNow: () => number;
  /** Samples taken back to back at start (default 5). */
  initialSamples?: number;
  /** Re-sample period, ms (default 30 s). */
  resampleMs?: number;
  /** Samples per re-sample (default 3). */
  resampleCount?: number;
  /** Samples older than this are dropped from the estimate, ms (default 5 min). */
  maxAgeMs?: number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

/**
 * A running server clock: samples at start, then every `resampleMs`.
 * `now()` is local time + the best offset (local time alone until the first
 * sample arrives; `ready` resolves when one has).
 */
export class ServerClock {
  readonly estimator: ClockOffsetEstimator;
  readonly ready: Promise<void>;
  private timer: unknown = null;
  private stopped = false;
  private failures = 0;
  private resolveReady!: () => void;

  constructor(private readonly options: ServerClockOptions) {
    this.estimator = new ClockOffsetEstimator({ maxAgeMs: options.maxAgeMs ?? 300_000 });
    this.ready = new Promise((resolve) => (this.resolveReady = resolve));
    void this.round(options.initialSamples ?? 5);
  }

  /** Server − local offset in ms, null before the first sample. */
  get offset(): number | null {
    return this.estimate()?.offset ?? null;
  }

  get rtt(): number | null {
    return this.estimate()?.rtt ?? null;
  }

  /** Failed requests so far. */
  get errors(): number {
    return this.failures;
  }

  now(): number {
    return this.options.localNow() + (this.offset ?? 0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) (this.options.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>)))(this.timer);
  }

  /** Takes `count` samples now (sequentially, so they do not queue behind each other). */
  async sample(count: number): Promise<void> {
    for (let i = 0; i < count && !this.stopped; i++) {
      const sentAt = this.options.localNow();
      try {
        const serverTime = await this.options.fetchServerTime();
        const receivedAt = this.options.localNow();
        if (this.estimator.add({ sentAt, serverTime, receivedAt })) this.resolveReady();
      } catch {
        this.failures++;
      }
    }
  }

  private estimate(): ClockEstimate | null {
    return this.estimator.estimate(this.options.localNow());
  }

  private async round(count: number): Promise<void> {
    await this.sample(count);
    if (this.stopped) return;
    // Until a first sample succeeds, retry soon; then at the regular period.
    const delay = this.estimator.size === 0 ? 2_000 : (this.options.resampleMs ?? 30_000);
    const setTimer = this.options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.timer = setTimer(() => void this.round(this.options.resampleCount ?? 3), delay);
  }
}

/** fetchServerTime for `GET <url>` answering `{ now: <ms> }`. */
export function timeEndpoint(url: string, fetchImpl: typeof fetch = fetch): () => Promise<number> {
  return async () => {
    const response = await fetchImpl(url, { cache: "no-store" });
    if (!response.ok) throw new Error(`time endpoint: ${response.status}`);
    const body = (await response.json()) as { now?: unknown };
    if (typeof body.now !== "number" || !Number.isFinite(body.now)) throw new Error("time endpoint: no number in now");
    return body.now;
  };
}
