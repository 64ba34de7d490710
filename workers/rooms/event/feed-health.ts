/**
 * How an event room's provider feed is doing: polls, updates, consecutive
 * and total failures, the last error. Kept in the room's meta store (it
 * survives restarts) and shown by `stats()`; snapshots carry `ok` and the
 * last success, so a client can tell a quiet match from a dead feed.
 */
import type { MetaStore } from "../storage.js";

const KEY = "feed";

export interface FeedStats {
  polls: number;
  updates: number;
  /** consecutive failures (0 = healthy) */
  failures: number;
  errors: number;
  malformed: number;
  lastPollAt: number | null;
  lastSuccessAt: number | null;
  lastErrorAt: number | null;
  lastError: string | null;
}

const EMPTY_FEED: FeedStats = {
  polls: 0,
  updates: 0,
  failures: 0,
  errors: 0,
  malformed: 0,
  lastPollAt: null,
  lastSuccessAt: null,
  lastErrorAt: null,
  lastError: null,
};

export class FeedHealth {
  /** undefined: not read from storage yet */
  private cached: FeedStats | undefined;

  constructor(private readonly meta: Pick<MetaStore, "get" | "set">) {}

  get stats(): FeedStats {
    if (this.cached === undefined) this.cached = { ...EMPTY_FEED, ...(this.meta.get<FeedStats>(KEY) ?? {}) };
    return this.cached;
  }

  get ok(): boolean {
    return this.stats.failures === 0;
  }

  /** A provider request starts (not saved until it ends). */
  polled(now: number): void {
    this.stats.polls++;
    this.stats.lastPollAt = now;
  }

  /** The request failed; returns whether the feed was healthy until now. */
  failed(kind: string, message: string, now: number): boolean {
    const feed = this.stats;
    const wasOk = feed.failures === 0;
    feed.failures++;
    feed.errors++;
    if (kind === "malformed") feed.malformed++;
    feed.lastErrorAt = now;
    feed.lastError = `${kind}: ${message}`;
    this.save();
    return wasOk;
  }

  /** The request answered; returns whether the feed was failing until now. */
  succeeded(now: number): boolean {
    const feed = this.stats;
    const recovered = feed.failures > 0;
    feed.failures = 0;
    feed.lastSuccessAt = now;
    this.save();
    return recovered;
  }

  /** The answer changed the event (an `event_update` went out). */
  updated(): void {
    this.stats.updates++;
    this.save();
  }

  private save(): void {
    this.meta.set(KEY, this.stats);
  }
}
