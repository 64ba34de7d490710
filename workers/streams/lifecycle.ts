/**
 * The stream lifecycle: the one module that changes `streams.status`.
 *
 *   created ──origin "live" (first media)──▶ live ◀──origin "live"──▶ reconnecting
 *      │                                      │                           │
 *      └──────────────────────────────────────┴─────── end ───────────────┴──▶ ended (final)
 *
 * A publish is only authorized (the key, the origin); the stream goes live
 * when its origin reports media flowing, so a publish whose transcoder
 * never produces anything leaves no "live" zombie: the origin reports the
 * end (`start_failed`). Heartbeats carry each stream's media progress and
 * publisher, and their answer tells the origin which streams to end (ended
 * here by an admin or the watchdog) and which publishers to drop (key
 * rotated): `reconcileOriginStreams`.
 *
 * Every transition is a compare-and-set on D1 (`status <> 'ended'`), so two
 * writers racing (the origin reporting the end while the watchdog or an admin
 * ends the stream) cannot both win and `ended` is never left. After D1, the
 * StreamRoom is told (stream_started once, stream_ended once), followers are
 * notified on the first start, and the final statistics are stored on the
 * end. Callers: the origin routes (publish, status), the watchdog, the admin
 * API and key rotation. See docs/architecture.md, "Stream lifecycle".
 */
import { and, eq, inArray, ne, sql } from "drizzle-orm";
import type { z } from "zod";
import type {
  HeartbeatResponse,
  OriginStreamReport,
  OriginStreamStatus,
  PublishRequest,
  StatusReport,
  StatusResponse,
} from "../../common/origin-contract.js";
import type { Stream } from "../../schema/index.js";
import type { Env } from "../env.js";
import { getDb, schema } from "../lib/db.js";
import { HttpError } from "../lib/errors.js";
import { hashSecret, newStreamKey } from "../lib/random.js";
import { streamRoom } from "../stubs.js";
import { findOrigin, findStream, findStreamByKey } from "./repository.js";

export type EndReason = "origin" | "start_failed" | "watchdog_never_started" | "watchdog_inactive" | "admin" | "broadcaster";

/**
 * The origin asks whether a stream key may publish. It may (the stream is
 * assigned to that origin), but the stream is not live until media flows:
 * the origin reports `live` with its first segment.
 */
export async function publish(env: Env, request: PublishRequest, now = Date.now()): Promise<{ streamId: string }> {
  const stream = await findStreamByKey(env.DB, await hashSecret(request.streamKey));
  if (stream === undefined) throw new HttpError(404, "unknown_stream_key", "no stream has this key");
  if (stream.status === "ended") throw endedError("this stream has ended; create a new one");
  if ((await findOrigin(env.DB, request.originId)) === undefined) {
    throw new HttpError(409, "unknown_origin", "origin has not sent a heartbeat yet");
  }
  const assigned = await getDb(env.DB)
    .update(schema.streams)
    .set({ originId: request.originId, lastActivityAt: now })
    .where(and(eq(schema.streams.id, stream.id), ne(schema.streams.status, "ended")))
    .returning({ id: schema.streams.id });
  if (assigned.length === 0) throw endedError("this stream has ended; create a new one");
  return { streamId: stream.id };
}

/** What the control plane wants an origin to do about the streams it reported (see the header). */
export async function reconcileOriginStreams(
  env: Env,
  originId: string,
  reports: ReadonlyArray<z.output<typeof OriginStreamReport>>,
  now = Date.now(),
): Promise<Omit<HeartbeatResponse, "ok">> {
  const orders: Omit<HeartbeatResponse, "ok"> = { end: [], dropPublisher: [] };
  if (reports.length === 0) return orders;
  const db = getDb(env.DB);
  const rows = await db
    .select({
      id: schema.streams.id,
      status: schema.streams.status,
      endReason: schema.streams.endReason,
      keyHash: schema.streams.keyHash,
      originId: schema.streams.originId,
      lastActivityAt: schema.streams.lastActivityAt,
    })
    .from(schema.streams)
    .where(
      inArray(
        schema.streams.id,
        reports.map((r) => r.streamId),
      ),
    );
  const byId = new Map(rows.map((row) => [row.id, row]));
  for (const report of reports) {
    const row = byId.get(report.streamId);
    if (row === undefined) {
      orders.end.push({ streamId: report.streamId, reason: "unknown_stream" });
      continue;
    }
    if (row.status === "ended") {
      orders.end.push({ streamId: row.id, reason: row.endReason ?? "ended" });
      continue;
    }
    if (row.originId !== null && row.originId !== originId) continue; // another origin's (a moved stream): not ours to judge
    if (report.publisherKeyHash !== null && report.publisherKeyHash !== row.keyHash) orders.dropPublisher.push(row.id);
    // the stream's own media progress is its activity (the watchdog judges by it)
    if (report.lastMediaAt > (row.lastActivityAt ?? 0) && report.lastMediaAt <= now + 5_000) {
      await db
        .update(schema.streams)
        .set({ lastActivityAt: report.lastMediaAt })
        .where(and(eq(schema.streams.id, row.id), ne(schema.streams.status, "ended")));
    }
  }
  return orders;
}

/** The origin reports media flowing (`live`), a dropped broadcaster (`reconnecting`) or the end. */
export async function reportStatus(env: Env, streamId: string, report: StatusReport, now = Date.now()): Promise<StatusResponse> {
  const stream = await findStream(env.DB, streamId);
  if (stream === undefined) throw new HttpError(404, "unknown_stream", "no such stream");
  if (stream.originId !== null && stream.originId !== report.originId) {
    throw new HttpError(409, "origin_mismatch", "the stream is served by another origin");
  }
  const done: StatusResponse = { ok: true, streamId, status: report.status };
  if (stream.status === "ended") {
    if (report.status === "ended") return done;
    throw endedError("this stream has ended");
  }
  switch (report.status) {
    case "ended":
      // false when the watchdog or an admin ended it first: ended all the same
      await end(env, streamId, report.reason ?? "origin", now, report.originId);
      return done;
    case "live": {
      const startedAt = await goLive(env, streamId, report.originId, now);
      if (startedAt === null) throw endedError("this stream has ended");
      await announce(env, streamId, "live", startedAt);
      if (startedAt === now && stream.startedAt === null) await notifyFollowers(env, stream, now);
      return done;
    }
    case "reconnecting":
      if (!(await setStatus(env, streamId, "reconnecting", report.originId, now))) throw endedError("this stream has ended");
      return done;
  }
}

/** Ends a stream (watchdog, admin, its broadcaster from the studio): false if it had already ended. */
export function endStream(env: Env, streamId: string, reason: Exclude<EndReason, "origin">, now = Date.now()): Promise<boolean> {
  return end(env, streamId, reason, now);
}

/** A new stream key (the old one no longer publishes); null once the stream has ended. */
export async function rotateStreamKey(env: Env, streamId: string): Promise<string | null> {
  const streamKey = newStreamKey();
  const updated = await getDb(env.DB)
    .update(schema.streams)
    .set({ keyHash: await hashSecret(streamKey) })
    .where(and(eq(schema.streams.id, streamId), ne(schema.streams.status, "ended")))
    .returning({ id: schema.streams.id });
  return updated.length === 0 ? null : streamKey;
}

// ---------------------------------------------------------------- transitions (compare-and-set)

/** → live; keeps the first start across reconnects. Returns the start, or null if the stream had ended. */
async function goLive(env: Env, streamId: string, originId: string, now: number): Promise<number | null> {
  const [row] = await getDb(env.DB)
    .update(schema.streams)
    .set({ status: "live", originId, endedAt: null, lastActivityAt: now, startedAt: sql`coalesce(${schema.streams.startedAt}, ${now})` })
    .where(and(eq(schema.streams.id, streamId), ne(schema.streams.status, "ended")))
    .returning({ startedAt: schema.streams.startedAt });
  return row === undefined ? null : (row.startedAt ?? now);
}

async function setStatus(
  env: Env,
  streamId: string,
  status: Exclude<OriginStreamStatus, "ended">,
  originId: string,
  now: number,
): Promise<boolean> {
  const updated = await getDb(env.DB)
    .update(schema.streams)
    .set({ status, originId, endedAt: null, lastActivityAt: now })
    .where(and(eq(schema.streams.id, streamId), ne(schema.streams.status, "ended")))
    .returning({ id: schema.streams.id });
  return updated.length > 0;
}

/** → ended, once: then stream_ended in the room and the final statistics. */
async function end(env: Env, streamId: string, reason: EndReason, now: number, originId?: string): Promise<boolean> {
  const updated = await getDb(env.DB)
    .update(schema.streams)
    .set({ status: "ended", endedAt: now, endReason: reason, ...(originId !== undefined ? { originId, lastActivityAt: now } : {}) })
    .where(and(eq(schema.streams.id, streamId), ne(schema.streams.status, "ended")))
    .returning({ id: schema.streams.id });
  if (updated.length === 0) return false;
  console.log(`stream ${streamId} ended (${reason})`);
  await announce(env, streamId, "ended", now);
  await storeFinalStats(env, streamId, now);
  return true;
}

// ---------------------------------------------------------------- side effects

function endedError(message: string): HttpError {
  return new HttpError(409, "stream_ended", message);
}

/** Tells the StreamRoom (stream_started / stream_ended); D1 already holds the truth, so a failure is only logged. */
async function announce(env: Env, streamId: string, status: "live" | "ended", at: number): Promise<void> {
  try {
    await streamRoom(env, streamId).applyStatus(status, at);
  } catch (error) {
    console.error(`stream ${streamId}: could not tell its room about '${status}'`, error);
  }
}

/** One notification per follower of the stream's broadcaster (idempotent per stream). */
async function notifyFollowers(env: Pick<Env, "DB">, stream: Pick<Stream, "id" | "ownerId">, now: number): Promise<void> {
  try {
    await env.DB.prepare(
      `INSERT OR IGNORE INTO notifications (id, user_id, kind, stream_id, broadcaster_id, data, created_at)
       SELECT 'live:' || ?1 || ':' || follower_id, follower_id, 'broadcaster_live', ?1, ?2, ?3, ?4
       FROM follows WHERE broadcaster_id = ?2`,
    )
      .bind(stream.id, stream.ownerId, JSON.stringify({ streamId: stream.id, broadcasterId: stream.ownerId }), now)
      .run();
  } catch (error) {
    console.error(`stream ${stream.id}: follower notifications failed`, error);
  }
}

/** Final stats from the room → stream_stats (first write wins). */
async function storeFinalStats(env: Env, streamId: string, endedAt: number): Promise<void> {
  try {
    const stats = await streamRoom(env, streamId).finalStats();
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
