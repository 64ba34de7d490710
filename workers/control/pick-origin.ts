/** Loads the origin pool, applies selectOrigin(), raises alerts, 503 when full. */
import type { Origin, UserRole } from "../../schema/index.js";
import type { Env } from "../env.js";
import { getDb, schema } from "../lib/db.js";
import { HttpError } from "../lib/errors.js";
import { raiseAlert } from "./alerts.js";
import { parseConfig } from "../config.js";
import { loadOf, selectOrigin } from "./selection.js";
import { isNull } from "drizzle-orm";

export async function pickOrigin(env: Env, role: UserRole, now = Date.now()): Promise<Origin> {
  const config = parseConfig(env).control;
  const rows = await getDb(env.DB).select().from(schema.origins).where(isNull(schema.origins.removedAt));
  const selection = selectOrigin(rows, role, { now, livenessMs: config.originLivenessMs, idealRatio: config.idealRatio });
  if (selection.kind === "full") {
    await raiseAlert(env, "pool_full", `no origin of pool(s) ${selection.pools.join(", ")} has room; broadcaster refused`, { role }, now);
    throw new HttpError(503, "no_available_server", "no media server is available, try again shortly", { "Retry-After": "5" });
  }
  if (selection.aboveIdeal) {
    const { origin } = selection;
    await raiseAlert(
      env,
      "pool_above_ideal",
      `every ${selection.pool} origin is above ideal capacity (${Math.round(config.idealRatio * 100)}%); using ${origin.id}`,
      { pool: selection.pool, originId: origin.id, activeStreams: origin.activeStreams, capacity: origin.capacity, load: loadOf(origin) },
      now,
    );
  }
  return selection.origin;
}
