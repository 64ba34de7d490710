/**
 * Per-connection limits (pure, clock passed in):
 * - TokenBucket: chat 5/s with a burst of 10, and the like / telemetry limits.
 * - FloodGuard: more than `limit` frames of any kind within `windowMs` is a
 *   flood; the room closes the socket with 1008 (policy violation).
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /** Takes `cost` tokens if available. */
  take(now: number, cost = 1): boolean {
    this.refill(now);
    if (this.tokens + 1e-9 < cost) return false;
    this.tokens -= cost;
    return true;
  }

  available(now: number): number {
    this.refill(now);
    return this.tokens;
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.ratePerSecond);
      this.last = now;
    }
  }
}

/** Sliding window: true once more than `limit` hits fall within `windowMs`. */
export class FloodGuard {
  private readonly hits: number[];
  private next = 0;
  private count = 0;

  constructor(
    readonly limit = 50,
    readonly windowMs = 1_000,
  ) {
    this.hits = new Array<number>(limit + 1).fill(0);
  }

  /** Records a frame at `now`; true when this frame makes it a flood. */
  hit(now: number): boolean {
    this.hits[this.next] = now;
    this.next = (this.next + 1) % this.hits.length;
    if (this.count < this.hits.length) this.count++;
    if (this.count < this.hits.length) return false;
    // the oldest of the last limit+1 hits sits at `next`
    const oldest = this.hits[this.next]!;
    return now - oldest < this.windowMs;
  }
}

/**
 * At most one firing per `intervalMs` (poll results ≤ 4/s, like counts):
 * `request(now)` says whether to fire now, or when a deferred firing is due
 * (only one pending at a time).
 */
export class Throttle {
  private lastFired = -Infinity;
  private pendingAt: number | null = null;

  constructor(readonly intervalMs: number) {}

  request(now: number): { now: true } | { now: false; at: number; alreadyPending: boolean } {
    if (this.pendingAt !== null) return { now: false, at: this.pendingAt, alreadyPending: true };
    if (now - this.lastFired >= this.intervalMs) {
      this.lastFired = now;
      return { now: true };
    }
    this.pendingAt = this.lastFired + this.intervalMs;
    return { now: false, at: this.pendingAt, alreadyPending: false };
  }

  /** The deferred firing happened. */
  fired(now: number): void {
    this.pendingAt = null;
    this.lastFired = now;
  }

  /** Forget a pending firing (e.g. the poll closed). */
  cancel(): void {
    this.pendingAt = null;
  }

  get pending(): boolean {
    return this.pendingAt !== null;
  }
}
