/** Administrative alerts: a D1 row (GET /api/admin/alerts) and a console line. */
import { desc } from "drizzle-orm";
import type { Env } from "../env.js";
import { getDb, schema } from "../lib/db.js";
import { randomString } from "../lib/random.js";

export type AlertKind = "pool_above_ideal" | "pool_full" | "origin_lost";

export async function raiseAlert(
  env: Pick<Env, "DB">,
  kind: AlertKind,
  message: string,
  data: Record<string, unknown> = {},
  now = Date.now(),
) {
  console.warn(`ADMIN ALERT [${kind}] ${message} ${JSON.stringify(data)}`);
  try {
    await getDb(env.DB)
      .insert(schema.adminAlerts)
      .values({
        id: `al_${randomString(20, "0123456789abcdefghijklmnopqrstuvwxyz")}`,
        kind,
        message,
        data: JSON.stringify(data),
        createdAt: now,
      });
  } catch (error) {
    console.error("could not store admin alert", error);
  }
}

/** Newest first, for GET /api/admin/alerts. */
export async function recentAlerts(db: D1Database, limit: number) {
  const rows = await getDb(db).select().from(schema.adminAlerts).orderBy(desc(schema.adminAlerts.createdAt)).limit(limit);
  return rows.map((a) => ({ id: a.id, kind: a.kind, message: a.message, data: JSON.parse(a.data) as unknown, createdAt: a.createdAt }));
}
