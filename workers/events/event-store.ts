/** D1 side of events (drizzle): ingress upserts, listings, links to streams. */
import { and, asc, eq, inArray, lte, or, sql } from "drizzle-orm";
import type { EventRow, EventStatus } from "../../schema/index.js";
import { getDb, schema, type Db } from "../lib/db.js";
import { StandardEventSchema, startTimeMs, type StandardEvent } from "./standard-event.js";

/** D1 binds at most 100 parameters per statement; an events row has 11. */
const ROWS_PER_STATEMENT = 9;

function toRow(event: StandardEvent, now: number): typeof schema.events.$inferInsert {
  return {
    id: event.eventId,
    provider: event.provider,
    sport: event.sport,
    status: event.status,
    startTime: startTimeMs(event),
    homeName: event.home.name,
    homeScore: event.home.score,
    awayName: event.away.name,
    awayScore: event.away.score,
    data: JSON.stringify(event),
    updatedAt: now,
  };
}

const UPSERT_SET = {
  provider: sql`excluded.provider`,
  sport: sql`excluded.sport`,
  status: sql`excluded.status`,
  startTime: sql`excluded.start_time`,
  homeName: sql`excluded.home_name`,
  homeScore: sql`excluded.home_score`,
  awayName: sql`excluded.away_name`,
  awayScore: sql`excluded.away_score`,
  data: sql`excluded.data`,
  updatedAt: sql`excluded.updated_at`,
};

export async function upsertEvents(db: Db, events: StandardEvent[], now = Date.now()): Promise<number> {
  if (events.length === 0) return 0;
  const statements = [];
  for (let i = 0; i < events.length; i += ROWS_PER_STATEMENT) {
    const rows = events.slice(i, i + ROWS_PER_STATEMENT).map((e) => toRow(e, now));
    statements.push(db.insert(schema.events).values(rows).onConflictDoUpdate({ target: schema.events.id, set: UPSERT_SET }));
  }
  await db.batch(statements as [(typeof statements)[number], ...(typeof statements)[number][]]);
  return events.length;
}

export function upsertEvent(db: Db, event: StandardEvent, now = Date.now()): Promise<number> {
  return upsertEvents(db, [event], now);
}

/** The stored normalized event of a row (null if the JSON no longer validates). */
export function eventOfRow(row: Pick<EventRow, "data">): StandardEvent | null {
  try {
    const parsed = StandardEventSchema.safeParse(JSON.parse(row.data));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export function eventView(row: EventRow) {
  const event = eventOfRow(row);
  return {
    ...(event ?? {
      eventId: row.id,
      provider: row.provider,
      sport: row.sport,
      status: row.status,
      startTime: new Date(row.startTime).toISOString(),
    }),
    updatedAt: row.updatedAt,
  };
}

export async function getEventRow(db: Db, eventId: string): Promise<EventRow | null> {
  const [row] = await db.select().from(schema.events).where(eq(schema.events.id, eventId)).limit(1);
  return row ?? null;
}

export async function listEvents(db: Db, status: EventStatus | undefined, limit: number): Promise<EventRow[]> {
  const query = db.select().from(schema.events);
  const filtered = status === undefined ? query : query.where(eq(schema.events.status, status));
  return filtered.orderBy(asc(schema.events.startTime), asc(schema.events.id)).limit(limit);
}

/** Events the live monitor keeps polled: in progress, or scheduled and due. */
export async function eventsToMonitor(db: Db, now: number): Promise<string[]> {
  const rows = await db
    .select({ id: schema.events.id })
    .from(schema.events)
    .where(or(eq(schema.events.status, "in_progress"), and(eq(schema.events.status, "scheduled"), lte(schema.events.startTime, now))))
    .limit(1000);
  return rows.map((r) => r.id);
}

/** Streams about this event that are on air (their replay logs record its updates). */
export async function liveStreamsForEvent(db: Db, eventId: string): Promise<string[]> {
  const rows = await db
    .select({ id: schema.streams.id })
    .from(schema.streams)
    .where(and(eq(schema.streams.eventId, eventId), inArray(schema.streams.status, ["live", "reconnecting"])))
    .limit(1000);
  return rows.map((r) => r.id);
}

export { getDb };
