import { eq } from "drizzle-orm";
import { getDb, schema } from "./db.js";

/**
 * Per-isolate memo of "does this stream exist?", so edge cache hits and
 * misses do not query D1 each time. Positive answers are kept longer than
 * negative ones (a stream created a moment ago becomes playable quickly).
 */
const KNOWN_TTL_MS = 10_000;
const UNKNOWN_TTL_MS = 2_000;
const MAX_ENTRIES = 10_000;

const memo = new Map<string, { exists: boolean; expiresAt: number }>();
const pending = new Map<string, Promise<boolean>>();

export async function streamExists(db: D1Database, streamId: string): Promise<boolean> {
  const now = Date.now();
  const known = memo.get(streamId);
  if (known !== undefined && now < known.expiresAt) return known.exists;
  let lookup = pending.get(streamId);
  if (lookup === undefined) {
    lookup = (async () => {
      const rows = await getDb(db)
        .select({ id: schema.streams.id })
        .from(schema.streams)
        .where(eq(schema.streams.id, streamId))
        .limit(1);
      const exists = rows.length > 0;
      if (memo.size >= MAX_ENTRIES) memo.clear();
      memo.set(streamId, { exists, expiresAt: Date.now() + (exists ? KNOWN_TTL_MS : UNKNOWN_TTL_MS) });
      return exists;
    })().finally(() => pending.delete(streamId));
    pending.set(streamId, lookup);
  }
  return lookup;
}

/** Forget a memoized answer (e.g. right after creating the stream in this isolate). */
export function forgetStream(streamId: string): void {
  memo.delete(streamId);
}
