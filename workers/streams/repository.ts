/**
 * D1 queries about streams (drizzle), kept out of the routes, the rooms and
 * the control plane so each question is asked in one place. Status changes
 * are not here: workers/streams/lifecycle.ts owns them.
 */
import { and, desc, eq, inArray, lt, or, sql, type SQL } from "drizzle-orm";
import type { Origin, Stream, StreamStats, StreamStatus } from "../../schema/index.js";
import { getDb, schema } from "../lib/db.js";
import { HttpError } from "../lib/errors.js";
import type { SourceMode } from "./viewer-source.js";

/** Statuses of a stream that is on air (its origin may still send media). */
const ON_AIR: StreamStatus[] = ["live", "reconnecting"];

export async function findStream(db: D1Database, streamId: string): Promise<Stream | undefined> {
  const [stream] = await getDb(db).select().from(schema.streams).where(eq(schema.streams.id, streamId)).limit(1);
  return stream;
}

/** The stream, or 404 unknown_stream. */
export async function requireStream(db: D1Database, streamId: string): Promise<Stream> {
  const stream = await findStream(db, streamId);
  if (stream === undefined) throw new HttpError(404, "unknown_stream", "no such stream");
  return stream;
}

export async function findStreamByKey(db: D1Database, keyHash: string): Promise<Stream | undefined> {
  const [stream] = await getDb(db).select().from(schema.streams).where(eq(schema.streams.keyHash, keyHash)).limit(1);
  return stream;
}

export async function findOrigin(db: D1Database, originId: string): Promise<Origin | undefined> {
  const [origin] = await getDb(db).select().from(schema.origins).where(eq(schema.origins.id, originId)).limit(1);
  return origin;
}

/** The columns a StreamRoom keeps a copy of (rooms/stream/metadata.ts). */
export type StreamRowForRoom = Pick<Stream, "ownerId" | "eventId" | "status" | "startedAt" | "endedAt">;

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

export async function findStreamStats(db: D1Database, streamId: string): Promise<StreamStats | undefined> {
  const [stats] = await getDb(db).select().from(schema.streamStats).where(eq(schema.streamStats.streamId, streamId)).limit(1);
  return stats;
}

export type NewStream = typeof schema.streams.$inferInsert;

/**
 * Inserts the stream and reserves a slot on its origin until the origin's
 * next heartbeat reports the truth, so a burst of creations spreads over origins.
 */
export async function insertStream(db: D1Database, stream: NewStream & { originId: string }): Promise<void> {
  const d = getDb(db);
  await d.batch([
    d.insert(schema.streams).values(stream),
    d
      .update(schema.origins)
      .set({ activeStreams: sql`${schema.origins.activeStreams} + 1` })
      .where(eq(schema.origins.id, stream.originId)),
  ]);
}

export interface DirectoryQuery {
  /** undefined: on air; "all": every status */
  status?: StreamStatus | "all";
  eventId?: string;
  ownerId?: string;
  /** after this entry (newest first) */
  cursor?: { createdAt: number; id: string };
  limit: number;
}

/** Newest first; one more row than `limit` tells whether a next page exists. */
export async function listStreams(db: D1Database, q: DirectoryQuery): Promise<Stream[]> {
  const conditions: SQL[] = [];
  if (q.status === undefined) conditions.push(inArray(schema.streams.status, ON_AIR));
  else if (q.status !== "all") conditions.push(eq(schema.streams.status, q.status));
  if (q.eventId !== undefined) conditions.push(eq(schema.streams.eventId, q.eventId));
  if (q.ownerId !== undefined) conditions.push(eq(schema.streams.ownerId, q.ownerId));
  if (q.cursor !== undefined) {
    const { createdAt, id } = q.cursor;
    const older = or(lt(schema.streams.createdAt, createdAt), and(eq(schema.streams.createdAt, createdAt), lt(schema.streams.id, id)));
    if (older !== undefined) conditions.push(older);
  }
  return getDb(db)
    .select()
    .from(schema.streams)
    .where(conditions.length ? and(...conditions) : undefined)
    .orderBy(desc(schema.streams.createdAt), desc(schema.streams.id))
    .limit(q.limit + 1);
}

/** Ids of a broadcaster's streams that are on air. */
export async function onAirStreamsOf(db: D1Database, ownerId: string): Promise<string[]> {
  const rows = await getDb(db)
    .select({ id: schema.streams.id })
    .from(schema.streams)
    .where(and(eq(schema.streams.ownerId, ownerId), inArray(schema.streams.status, ON_AIR)));
  return rows.map((r) => r.id);
}

/** Compare-and-set of the stored playback mode, so every isolate reads the same one. */
export async function switchPlaybackMode(db: D1Database, streamId: string, from: SourceMode, to: SourceMode): Promise<void> {
  await getDb(db)
    .update(schema.streams)
    .set({ playbackMode: to })
    .where(and(eq(schema.streams.id, streamId), eq(schema.streams.playbackMode, from)));
}

/** Points the stream at its latest thumbnail; an upload counts as activity while the stream is on. */
export async function setThumbnail(db: D1Database, stream: Pick<Stream, "id" | "status">, path: string, now: number): Promise<void> {
  await getDb(db)
    .update(schema.streams)
    .set({ thumbnailUrl: path, ...(stream.status === "ended" ? {} : { lastActivityAt: now }) })
    .where(eq(schema.streams.id, stream.id));
}
