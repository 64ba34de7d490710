/**
 * D1 queries about streams (drizzle), kept out of the routes, the rooms and
 * the control plane so each question is asked in one place.
 */
import { eq } from "drizzle-orm";
import type { Origin, Stream } from "../../schema/index.js";
import { getDb, schema } from "../lib/db.js";
import type { StreamRowForRoom } from "../rooms/stream/metadata.js";

export async function findStream(db: D1Database, streamId: string): Promise<Stream | undefined> {
  const [stream] = await getDb(db).select().from(schema.streams).where(eq(schema.streams.id, streamId)).limit(1);
  return stream;
}

/** The columns a StreamRoom keeps a copy of. */
export async function streamForRoom(db: D1Database, streamId: string): Promise<StreamRowForRoom | undefined> {
  const [row] = await getDb(db)
    .select({
      ownerId: schema.streams.ownerId,
      eventId: schema.streams.eventId,
      status: schema.streams.status,
      startedAt: schema.streams.startedAt,
      endedAt: schema.streams.endedAt,
    })
    .from(schema.streams)
    .where(eq(schema.streams.id, streamId))
    .limit(1);
  return row;
}

export async function findStreamByKey(db: D1Database, keyHash: string): Promise<Stream | undefined> {
  const [stream] = await getDb(db).select().from(schema.streams).where(eq(schema.streams.keyHash, keyHash)).limit(1);
  return stream;
}

export async function findOrigin(db: D1Database, originId: string): Promise<Origin | undefined> {
  const [origin] = await getDb(db).select().from(schema.origins).where(eq(schema.origins.id, originId)).limit(1);
  return origin;
}
