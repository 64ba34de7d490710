/** D1 side of origin boxes: what their heartbeats report. */
import type { z } from "zod";
import type { HeartbeatRequest } from "../../common/origin-contract.js";
import { getDb, schema } from "../lib/db.js";

/** Stores a heartbeat; a heartbeat brings an origin the watchdog removed back into the pool. */
export async function recordHeartbeat(db: D1Database, heartbeat: z.output<typeof HeartbeatRequest>, now: number): Promise<void> {
  const values = {
    baseUrl: heartbeat.baseUrl.replace(/\/+$/, ""),
    rtmpUrl: heartbeat.rtmpUrl.replace(/\/+$/, ""),
    capacity: heartbeat.capacity,
    activeStreams: heartbeat.activeStreams,
    pool: heartbeat.pool ?? "standard",
    lastHeartbeatAt: now,
    egressBps: Math.round(heartbeat.egressBps ?? 0),
    cpu: heartbeat.cpu ?? 0,
    removedAt: null,
  };
  await getDb(db)
    .insert(schema.origins)
    .values({ id: heartbeat.originId, ...values })
    .onConflictDoUpdate({ target: schema.origins.id, set: values });
}
