import { eq } from "drizzle-orm";
import { getDb, schema } from "./db.js";

/**
 * Per-isolate memo of "does this id exist?" (streams for the edge tier and
 * the sockets, events for the event sockets), so cache hits and socket
 * upgrades do not query D1 each time. Positive answers are kept longer than
 * negative ones (a stream created a moment ago becomes playable quickly).
 */
const KNOWN_TTL_MS = 10_000;
const UNKNOWN_TTL_MS = 2_000;
const MAX_ENTRIES = 10_000;

class ExistenceMemo {
  private readonly memo = new Map<string, { exists: boolean; expiresAt: number }>();
  private readonly pending = new Map<string, Promise<boolean>>();

  constructor(private readonly lookup: (db: D1Database, id: string) => Promise<boolean>) {}

  async exists(db: D1Database, id: string): Promise<boolean> {
    const now = Date.now();
    const known = this.memo.get(id);
    if (known !== undefined && now < known.expiresAt) return known.exists;
    let lookup = this.pending.get(id);
    if (lookup === undefined) {
      lookup = (async () => {
        const exists = await this.lookup(db, id);
        if (this.memo.size >= MAX_ENTRIES) this.memo.clear();
        this.memo.set(id, { exists, expiresAt: Date.now() + (exists ? KNOWN_TTL_MS : UNKNOWN_TTL_MS) });
        return exists;
      })().finally(() => this.pending.delete(id));
      this.pending.set(id, lookup);
    }
    return lookup;
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
