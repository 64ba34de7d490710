/**
 * Stream lifecycle side effects shared by the origin routes, the watchdog and
 * the admin API:
 *
 * - went live (first start): `stream_started` in the room (done by the
 *   caller's room call), one `notifications` row per follower;
 * - ended: D1 status/endedAt/endReason (once), `stream_ended` in the room,
 *   final statistics from the StreamRoom into `stream_stats`.
 */
import { and, eq, ne } from "drizzle-orm";
import type { Stream } from "../../schema/index.js";
import type { Env } from "../env.js";
import { getDb, schema } from "../lib/db.js";
import { streamRoom } from "../rooms/stubs.js";

export type EndReason = "origin" | "watchdog_never_started" | "watchdog_inactive" | "admin";

/** One notification per follower of the stream's broadcaster (idempotent per stream). */
export async function notifyFollowers(env: Pick<Env, "DB">, streamId: string, broadcasterId: string, now = Date.now()): Promise<number> {
  const result = await env.DB.prepare(
    `INSERT OR IGNORE INTO notifications (id, user_id, kind, stream_id, broadcaster_id, data, created_at)
     SELECT 'live:' || ?1 || ':' || follower_id, follower_id, 'broadcaster_live', ?1, ?2, ?3, ?4
     FROM follows WHERE broadcaster_id = ?2`,
  )
    .bind(streamId, broadcasterId, JSON.stringify({ streamId, broadcasterId }), now)
    .run();
  return result.meta.changes ?? 0;
}

/** Called when a stream's first start was recorded (publish or status "live"). */
export async function onStreamStarted(env: Env, stream: Pick<Stream, "id" | "ownerId">, now = Date.now()): Promise<void> {
  try {
    await notifyFollowers(env, stream.id, stream.ownerId, now);
  } catch (error) {
    console.error(`stream ${stream.id}: follower notifications failed`, error);
  }
}

/** Final stats from the room → stream_stats (first write wins). */
export async function storeFinalStats(env: Env, streamId: string, endedAt: number): Promise<void> {
  try {
    const stats = await streamRoom(env, streamId).finalStats(streamId);
    await getDb(env.DB)
      .insert(schema.streamStats)
      .values({
        streamId,
        durationMs: stats.durationMs,
        peakViewers: stats.peakViewers,
        avgViewers: Math.round(stats.avgViewers * 1000) / 1000,
        joins: stats.joins,
        leaves: stats.leaves,
        endedAt,
      })
      .onConflictDoNothing();
  } catch (error) {
    console.error(`stream ${streamId}: final stats not stored`, error);
  }
}

/** Room side of an end that D1 already recorded: stream_ended, then the final stats. */
export async function afterStreamEnded(env: Env, streamId: string, endedAt: number): Promise<void> {
  try {
    await streamRoom(env, streamId).streamStatus(streamId, "ended", endedAt);
  } catch (error) {
    console.error(`stream ${streamId}: could not tell its room about the end`, error);
  }
  await storeFinalStats(env, streamId, endedAt);
}

/** Ends a stream (watchdog, admin): false if it had already ended. */
export async function endStream(env: Env, streamId: string, reason: EndReason, now = Date.now()): Promise<boolean> {
  const updated = await getDb(env.DB)
    .update(schema.streams)
    .set({ status: "ended", endedAt: now, endReason: reason })
    .where(and(eq(schema.streams.id, streamId), ne(schema.streams.status, "ended")))
    .returning({ id: schema.streams.id });
  if (updated.length === 0) return false;
  console.log(`stream ${streamId} ended (${reason})`);
  await afterStreamEnded(env, streamId, now);
  return true;
}
