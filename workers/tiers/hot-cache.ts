/**
 * The edge's hot tier: each isolate keeps the live edge of the streams it
 * serves (the newest playlists, parts, segments, inits) in memory in front
 * of the Cache API, which costs a lookup and a copy on every hit. Freshness
 * is exactly what the mother wrote: an answer is kept for its max-age from
 * when it was stored and never served after that. Memory is bounded by
 * bytes (least recently used first out); answers larger than an eighth of
 * the budget are not kept (a recording segment must not evict the live edge).
 */
import { ByteLru } from "./byte-lru.js";
import { maxAgeSeconds } from "./freshness.js";

export interface StoredAnswer {
  status: number;
  headers: [string, string][];
  body: ArrayBuffer;
}

interface HotEntry {
  answer: StoredAnswer;
  storedAt: number;
  expiresAt: number;
  size: number;
}

/** Per isolate; an isolate has 128 MB in all. */
export const DEFAULT_HOT_CACHE_BYTES = 24 * 1024 * 1024;
const HEADER_OVERHEAD = 512;

export class HotCache {
  private readonly lru: ByteLru<HotEntry>;
  hits = 0;

  constructor(readonly maxBytes = DEFAULT_HOT_CACHE_BYTES) {
    this.lru = new ByteLru<HotEntry>(maxBytes);
  }

  get bytes(): number {
    return this.lru.bytes;
  }

  get entries(): number {
    return this.lru.entries;
  }

  /** The answer while it is fresh, with its age in seconds; undefined otherwise. */
  get(key: string, now: number): { answer: StoredAnswer; ageSeconds: number } | undefined {
    const entry = this.lru.get(key);
    if (entry === undefined) return undefined;
    if (now >= entry.expiresAt) {
      this.lru.delete(key);
      return undefined;
    }
    this.hits++;
    return { answer: entry.answer, ageSeconds: Math.floor((now - entry.storedAt) / 1000) };
  }

  /** Keeps a 200 for its max-age; anything else, or anything too large, is not kept. */
  set(key: string, answer: StoredAnswer, now: number): boolean {
    if (answer.status !== 200) return false;
    const cacheControl = answer.headers.find(([name]) => name.toLowerCase() === "cache-control")?.[1] ?? null;
    const seconds = maxAgeSeconds(cacheControl);
    const size = answer.body.byteLength + HEADER_OVERHEAD;
    if (seconds <= 0 || size > this.maxBytes / 8) return false;
    this.lru.set(key, { answer, storedAt: now, expiresAt: now + seconds * 1000, size });
    return true;
  }
}
