import { eq } from "drizzle-orm";
import { getDb, schema } from "./db.js";
import { ExistenceMemo } from "./existence-memo.js";

// Which streams and events exist, memoized per isolate (existence-memo.ts says how).
const streams = new ExistenceMemo<D1Database>(async (db, id) => {
  const rows = await getDb(db).select({ id: schema.streams.id }).from(schema.streams).where(eq(schema.streams.id, id)).limit(1);
  return rows.length > 0;
});

const events = new ExistenceMemo<D1Database>(async (db, id) => {
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
