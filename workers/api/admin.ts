/**
 * Administration (Bearer API key of a user with role admin), mounted at /api/admin:
 *
 *   POST /api/admin/users              { name, role } → 201 { userId, role, apiKey } (the key is shown once)
 *   POST /api/admin/streams/:id/end    → 200 { streamId, status: "ended" }; 409 if it already ended
 *   GET  /api/admin/alerts[?limit=≤100] → { alerts: [...] } newest first
 */
import { Hono } from "hono";
import { z } from "zod";
import { USER_ROLES } from "../../schema/index.js";
import { recentAlerts } from "../control/alerts.js";
import type { AppEnv } from "../env.js";
import { parseJsonBody } from "../lib/body.js";
import { HttpError } from "../lib/errors.js";
import { streamIdParam } from "../lib/params.js";
import { createUser } from "../lib/users.js";
import { LIMIT_MESSAGE, LimitQuery, validQuery } from "../lib/validation.js";
import { endStream } from "../streams/lifecycle.js";
import { requireStream } from "../streams/repository.js";
import { readBody, requireApiKey } from "./auth.js";

const CreateUserBody = z.object({ name: z.string().min(1).max(100), role: z.enum(USER_ROLES) }).strict();
const NO_STORE = { "Cache-Control": "no-store" };

export const adminApi = new Hono<AppEnv>();

adminApi.use("*", requireApiKey(["admin"]));

adminApi.post("/users", readBody, async (c) => {
  const body = parseJsonBody(c.get("rawBody"), CreateUserBody);
  const { userId, apiKey } = await createUser(c.env.DB, body.name, body.role);
  return c.json({ userId, name: body.name, role: body.role, apiKey }, 201, NO_STORE);
});

adminApi.post("/streams/:id/end", async (c) => {
  const stream = await requireStream(c.env.DB, streamIdParam(c.req.param("id")));
  if (stream.status === "ended" || !(await endStream(c.env, stream.id, "admin"))) {
    throw new HttpError(409, "stream_ended", "this stream has already ended");
  }
  return c.json({ streamId: stream.id, status: "ended" }, 200, NO_STORE);
});

adminApi.get("/alerts", validQuery(LimitQuery, LIMIT_MESSAGE), async (c) => {
  const alerts = await recentAlerts(c.env.DB, c.req.valid("query").limit);
  return c.json({ alerts }, 200, NO_STORE);
});
