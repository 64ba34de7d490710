/** D1 queries about follows and the notifications they lead to. */
import { and, desc, eq } from "drizzle-orm";
import { getDb, schema } from "./db.js";

/** true when the follow is new (false: it already existed). */
export async function addFollow(db: D1Database, followerId: string, broadcasterId: string, now: number): Promise<boolean> {
  const inserted = await getDb(db)
    .insert(schema.follows)
    .values({ followerId, broadcasterId, createdAt: now })
    .onConflictDoNothing()
    .returning({ followerId: schema.follows.followerId });
  return inserted.length > 0;
}

export async function removeFollow(db: D1Database, followerId: string, broadcasterId: string): Promise<void> {
  await getDb(db)
    .delete(schema.follows)
    .where(and(eq(schema.follows.followerId, followerId), eq(schema.follows.broadcasterId, broadcasterId)));
}

/** A user's notifications, newest first, as the API shows them. */
export async function recentNotifications(db: D1Database, userId: string, limit: number) {
  const rows = await getDb(db)
    .select()
    .from(schema.notifications)
    .where(eq(schema.notifications.userId, userId))
    .orderBy(desc(schema.notifications.createdAt))
    .limit(limit);
  return rows.map((n) => ({
    id: n.id,
    kind: n.kind,
    streamId: n.streamId,
    broadcasterId: n.broadcasterId,
    createdAt: n.createdAt,
    data: JSON.parse(n.data) as unknown,
  }));
}
