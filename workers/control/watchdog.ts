/**
 * Stream and server watchdog (docs/architecture.md "Stream lifecycle"), on the
 * every-minute cron and on demand (POST /api/internal/cron/watchdog, HMAC).
 *
 * - Origins: silent for 3 heartbeat intervals (HEARTBEAT_INTERVAL_MS, default
 *   5 s) → removed from the pool (origins.removed_at, an `origin_lost` admin
 *   alert). The next heartbeat brings the origin back.
 * - Streams `created` and never started for STREAM_START_TIMEOUT_MS (10 min)
 *   → ended (`watchdog_never_started`).
 * - Streams `live` or `reconnecting` that are inactive for STREAM_INACTIVE_MS
 *   (30 s) → ended (`watchdog_inactive`). A stream is judged by its own media
 *   progress, not by its origin being alive: its last activity is the latest
 *   of its start, any status report / publish / thumbnail upload by its origin
 *   and the newest segment its origin reported in a heartbeat (all in
 *   streams.last_activity_at). A stream whose origin heartbeats but whose
 *   media stalled ends all the same; the end reaches the origin in the next
 *   heartbeat's answer.
 */
import { and, inArray, isNull, lt } from "drizzle-orm";
import type { Env } from "../env.js";
import { getDb, schema } from "../lib/db.js";
import { raiseAlert } from "./alerts.js";
import { parseConfig } from "../config.js";
import { endStream } from "../streams/lifecycle.js";

export interface WatchdogOptions {
  now?: number;
  /** only these streams (tests on a shared stack); default: all */
  streamIds?: string[];
  /** check origins (default true) */
  origins?: boolean;
}

export interface WatchdogReport {
  now: number;
  originsRemoved: string[];
  streamsEnded: Array<{ streamId: string; reason: "watchdog_never_started" | "watchdog_inactive" }>;
}

export async function runWatchdog(env: Env, options: WatchdogOptions = {}): Promise<WatchdogReport> {
  const now = options.now ?? Date.now();
  const config = parseConfig(env).control;
  const db = getDb(env.DB);
  const report: WatchdogReport = { now, originsRemoved: [], streamsEnded: [] };

  if (options.origins !== false) {
    const lost = await db
      .update(schema.origins)
      .set({ removedAt: now })
      .where(and(isNull(schema.origins.removedAt), lt(schema.origins.lastHeartbeatAt, now - config.originLivenessMs)))
      .returning({ id: schema.origins.id, lastHeartbeatAt: schema.origins.lastHeartbeatAt });
    for (const origin of lost) {
      report.originsRemoved.push(origin.id);
      await raiseAlert(
        env,
        "origin_lost",
        `origin ${origin.id} missed 3 heartbeats and left the pool`,
        { originId: origin.id, lastHeartbeatAt: origin.lastHeartbeatAt },
        now,
      );
    }
  }

  const scope = options.streamIds;
  if (scope !== undefined && scope.length === 0) return report;
  const rows = await db
    .select({
      id: schema.streams.id,
      status: schema.streams.status,
      createdAt: schema.streams.createdAt,
      startedAt: schema.streams.startedAt,
      lastActivityAt: schema.streams.lastActivityAt,
    })
    .from(schema.streams)
    .where(
      scope === undefined
        ? inArray(schema.streams.status, ["created", "live", "reconnecting"])
        : and(inArray(schema.streams.status, ["created", "live", "reconnecting"]), inArray(schema.streams.id, scope)),
    );

  for (const row of rows) {
    let reason: WatchdogReport["streamsEnded"][number]["reason"] | null = null;
    if (row.status === "created") {
      if (row.createdAt < now - config.startTimeoutMs) reason = "watchdog_never_started";
    } else {
      const activity = Math.max(row.lastActivityAt ?? 0, row.startedAt ?? row.createdAt);
      if (activity < now - config.inactiveMs) reason = "watchdog_inactive";
    }
    if (reason !== null && (await endStream(env, row.id, reason, now))) {
      report.streamsEnded.push({ streamId: row.id, reason });
    }
  }
  return report;
}
