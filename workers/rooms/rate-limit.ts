/**
 * Limits (pure, clock passed in):
 * - TokenBucket: chat 5/s with a burst of 10, and the like / telemetry limits;
 *   KeyedBuckets: one bucket per key (user, address), forgotten once full.
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

  /** Full again: forgetting it now changes nothing. */
  isFull(now: number): boolean {
    return this.available(now) >= this.burst;
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.ratePerSecond);
      this.last = now;
    }
  }
}

/**
 * One bucket per key (a user, an address), made on first use. Buckets that
 * have refilled completely are dropped every `sweepMs`, so the map holds only
 * the keys that sent something recently, however many come and go.
 */
export class KeyedBuckets {
  private readonly buckets = new Map<string, TokenBucket>();
  private sweptAt = -Infinity;

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    readonly sweepMs = 10_000,
  ) {}

  get(key: string, now: number): TokenBucket {
    if (now - this.sweptAt >= this.sweepMs) this.sweep(now);
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = new TokenBucket(this.ratePerSecond, this.burst, now);
      this.buckets.set(key, bucket);
    }
    return bucket;
  }

  get size(): number {
    return this.buckets.size;
  }

  private sweep(now: number): void {
    this.sweptAt = now;
    for (const [key, bucket] of this.buckets) if (bucket.isFull(now)) this.buckets.delete(key);
  }
}

/** Takes one token from every bucket, or from none when any of them is empty. */
export function takeAll(buckets: readonly TokenBucket[], now: number): boolean {
  if (buckets.some((b) => b.available(now) + 1e-9 < 1)) return false;
  for (const b of buckets) b.take(now);
  return true;
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
