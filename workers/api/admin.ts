/**
 * Administration (Bearer API key of a user with role admin), mounted at /api/admin:
 *
 *   POST /api/admin/users              { name, role } → 201 { userId, role, apiKey } (the key is shown once)
 *   POST /api/admin/streams/:id/end    → 200 { streamId, status: "ended" }; 409 if it already ended
 *   GET  /api/admin/alerts[?limit=≤100] → { alerts: [...] } newest first
 */
import { desc } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { USER_ROLES } from "../../schema/index.js";
import { endStream } from "../streams/lifecycle.js";
import type { AppEnv } from "../env.js";
import { parseJsonBody } from "../lib/body.js";
import { getDb, schema } from "../lib/db.js";
import { HttpError } from "../lib/errors.js";
import { hashSecret, newApiKey } from "../lib/random.js";
import { readBody, requireApiKey } from "./auth.js";
import { loadStreamRow } from "./play.js";

const CreateUserBody = z.object({ name: z.string().min(1).max(100), role: z.enum(USER_ROLES) }).strict();

export const adminApi = new Hono<AppEnv>();

adminApi.use("*", requireApiKey(["admin"]));

adminApi.post("/users", readBody, async (c) => {
  const body = parseJsonBody(c.get("rawBody"), CreateUserBody);
  const apiKey = newApiKey();
  const userId = crypto.randomUUID();
  await getDb(c.env.DB)
    .insert(schema.users)
    .values({ id: userId, name: body.name, role: body.role, apiKeyHash: await hashSecret(apiKey), createdAt: Date.now() });
  return c.json({ userId, name: body.name, role: body.role, apiKey }, 201, { "Cache-Control": "no-store" });
});

adminApi.post("/streams/:id/end", async (c) => {
  const stream = await loadStreamRow(c.env.DB, c.req.param("id"));
  if (stream.status === "ended") throw new HttpError(409, "stream_ended", "this stream has already ended");
  const ended = await endStream(c.env, stream.id, "admin");
  if (!ended) throw new HttpError(409, "stream_ended", "this stream has already ended");
  return c.json({ streamId: stream.id, status: "ended" }, 200, { "Cache-Control": "no-store" });
});

adminApi.get("/alerts", async (c) => {
  const raw = c.req.query("limit");
  const limit = raw === undefined ? 50 : Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new HttpError(400, "bad_query", "limit must be 1-100");
  const rows = await getDb(c.env.DB).select().from(schema.adminAlerts).orderBy(desc(schema.adminAlerts.createdAt)).limit(limit);
  return c.json(
    { alerts: rows.map((a) => ({ id: a.id, kind: a.kind, message: a.message, data: JSON.parse(a.data) as unknown, createdAt: a.createdAt })) },
    200,
    { "Cache-Control": "no-store" },
  );
});
