import { eq } from "drizzle-orm";
import { getDb, schema } from "./db.js";

/**
 * Per-isolate memo of "does this id exist?" (streams for the edge tier and
 * the sockets, events for the event sockets), so cache hits and socket
 * upgrades do not query D1 each time. Positive answers are kept longer than
 * negative ones (a stream created a moment ago becomes playable quickly).
 *
 * Requests of one isolate share a lookup, and the runtime judges each
 * request on its own, which shapes this code:
 * - an expired answer is still given at once while one lookup refreshes it
 *   in the background: no request waits on another's lookup then;
 * - with no answer at all, concurrent requests share one lookup (a burst of
 *   requests for one id makes one query), but each waits with a timer of its
 *   own pending (a request with nothing pending in its own context is
 *   cancelled as hung, a 500) and, after SHARED_WAIT_MS, does its own
 *   lookup: the request that started the shared one may have been cancelled
 *   (its client left), and then its query never settles;
 * - a lookup still pending after STUCK_MS is forgotten, for the same reason.
 */
const KNOWN_TTL_MS = 10_000;
const UNKNOWN_TTL_MS = 2_000;
const MAX_ENTRIES = 10_000;
const SHARED_WAIT_MS = 2_000;
const STUCK_MS = 5_000;

interface Lookup {
  promise: Promise<boolean>;
  startedAt: number;
}

class ExistenceMemo {
  private readonly memo = new Map<string, { exists: boolean; expiresAt: number }>();
  private readonly pending = new Map<string, Lookup>();

  constructor(private readonly lookup: (db: D1Database, id: string) => Promise<boolean>) {}

  async exists(db: D1Database, id: string): Promise<boolean> {
    const now = Date.now();
    const known = this.memo.get(id);
    if (known !== undefined && now < known.expiresAt) return known.exists;
    if (known !== undefined) {
      // stale: answered now, refreshed once (a failed refresh keeps the old answer until the next)
      this.shared(db, id, now).promise.catch((error: unknown) => console.error(`existence lookup of ${id} failed`, error));
      return known.exists;
    }
    // nothing known: share the lookup under way, but not past SHARED_WAIT_MS (the pending timer is also this request's own event)
    const shared = this.shared(db, id, now);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), SHARED_WAIT_MS);
    });
    try {
      const settled = await Promise.race([shared.promise, late]);
      return settled ?? (await this.start(db, id, Date.now()).promise);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  /** The lookup under way for `id`, or a new one (also when the one under way looks stuck). */
  private shared(db: D1Database, id: string, now: number): Lookup {
    const current = this.pending.get(id);
    if (current !== undefined && now - current.startedAt < STUCK_MS) return current;
    return this.start(db, id, now);
  }

  private start(db: D1Database, id: string, now: number): Lookup {
    const entry: Lookup = { promise: Promise.resolve(false), startedAt: now };
    entry.promise = (async () => {
      const exists = await this.lookup(db, id);
      if (this.memo.size >= MAX_ENTRIES) this.memo.clear();
      this.memo.set(id, { exists, expiresAt: Date.now() + (exists ? KNOWN_TTL_MS : UNKNOWN_TTL_MS) });
      return exists;
    })().finally(() => {
      if (this.pending.get(id) === entry) this.pending.delete(id);
    });
    this.pending.set(id, entry);
    return entry;
  }

  forget(id: string): void {
    this.memo.delete(id);
  }
}

const streams = new ExistenceMemo(async (db, id) => {
  const rows = await getDb(db).select({ id: schema.streams.id }).from(schema.streams).where(eq(schema.streams.id, id)).limit(1);
  return rows.length > 0;
});

const events = new ExistenceMemo(async (db, id) => {
  const rows = await getDb(db).select({ id: schema.events.id }).from(schema.events).where(eq(schema.events.id, id)).limit(1);
  return rows.length > 0;
});

export function streamExists(db: D1Database, streamId: string): Promise<boolean> {
  return streams.exists(db, streamId);
}

/** Forget a memoized answer (e.g. right after creating the stream in this isolate). */
export function forgetStream(streamId: string): void {
  streams.forget(streamId);
}

export function eventExists(db: D1Database, eventId: string): Promise<boolean> {
  return events.exists(db, eventId);
}

export function forgetEvent(eventId: string): void {
  events.forget(eventId);
}
