/** Origin → Worker API (HMAC-signed, see auth.ts). Mounted at /api/internal. */
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { HeartbeatRequest, PublishRequest, StatusReport } from "../../common/origin-contract.js";
import { isValidStreamId } from "../../common/hls-paths.js";
import type { AppEnv } from "../env.js";
import { parseJsonBody } from "../lib/body.js";
import { getDb, schema } from "../lib/db.js";
import { HttpError } from "../lib/errors.js";
import { hashSecret, newApiKey } from "../lib/random.js";
import { runCron, CRON_TASKS } from "../events/cron.js";
import { isValidEventId } from "../events/standard-event.js";
import { DEVICE_TYPES } from "../lib/client-info.js";
import { TOKEN_ROLES } from "../lib/session-token.js";
import { POSTABLE_SYSTEM_EVENTS } from "../rooms/protocol.js";
import { unwrap } from "../rooms/result.js";
import { eventRoom, hlsMother, streamRoom } from "../stubs.js";
import { USER_ROLES } from "../../schema/index.js";
import { publish, reportStatus } from "../streams/lifecycle.js";
import { requireOriginSignature } from "./auth.js";

const DevBroadcasterBody = z.object({
  name: z.string().min(1).max(100),
  /** default broadcaster; tests mint admins, viewers, VIPs and media users */
  role: z.enum(USER_ROLES).optional(),
  apiKey: z
    .string()
    .regex(/^[A-Za-z0-9_-]{16,128}$/, "apiKey must be 16-128 characters of [A-Za-z0-9_-]")
    .optional(),
});

const SystemBody = z.object({
  event: z.enum(POSTABLE_SYSTEM_EVENTS),
  data: z
    .record(z.unknown())
    .refine((d) => JSON.stringify(d).length <= 2048, "data larger than 2048 characters")
    .optional(),
  /** send to this group only (a direct frame, not logged) */
  group: z
    .object({
      country: z.string().regex(/^[A-Z]{2}$/).optional(),
      device: z.enum(DEVICE_TYPES).optional(),
      role: z.enum(TOKEN_ROLES).optional(),
    })
    .strict()
    .optional(),
});

const CronBody = z.object({ tasks: z.array(z.enum(CRON_TASKS)).min(1).optional() }).strict();

export const internalApi = new Hono<AppEnv>();

internalApi.use("*", requireOriginSignature);

internalApi.post("/origins/heartbeat", async (c) => {
  const body = parseJsonBody(c.get("rawBody"), HeartbeatRequest);
  const now = Date.now();
  const values = {
    baseUrl: body.baseUrl.replace(/\/+$/, ""),
    rtmpUrl: body.rtmpUrl.replace(/\/+$/, ""),
    capacity: body.capacity,
    activeStreams: body.activeStreams,
    pool: body.pool ?? "standard",
    lastHeartbeatAt: now,
    egressBps: Math.round(body.egressBps ?? 0),
    cpu: body.cpu ?? 0,
    // a heartbeat brings an origin the watchdog removed back into the pool
    removedAt: null,
  };
  await getDb(c.env.DB)
    .insert(schema.origins)
    .values({ id: body.originId, ...values })
    .onConflictDoUpdate({ target: schema.origins.id, set: values });
  return c.json({ ok: true }, 200);
});

internalApi.post("/publish", async (c) => {
  const body = parseJsonBody(c.get("rawBody"), PublishRequest);
  return c.json(await publish(c.env, body), 200);
});

internalApi.post("/streams/:id/status", async (c) => {
  const id = c.req.param("id");
  if (!isValidStreamId(id)) throw new HttpError(400, "bad_stream_id", "stream id must match [a-z0-9]{8,32}");
  const body = parseJsonBody(c.get("rawBody"), StatusReport);
  return c.json(await reportStatus(c.env, id, body), 200);
});

/** System event into a StreamRoom (origin or API); with `group`, only to that group. */
internalApi.post("/streams/:id/system", async (c) => {
  const id = c.req.param("id");
  if (!isValidStreamId(id)) throw new HttpError(400, "bad_stream_id", "stream id must match [a-z0-9]{8,32}");
  const body = parseJsonBody(c.get("rawBody"), SystemBody);
  const [stream] = await getDb(c.env.DB).select({ id: schema.streams.id }).from(schema.streams).where(eq(schema.streams.id, id)).limit(1);
  if (stream === undefined) throw new HttpError(404, "unknown_stream", "no such stream");
  const result = unwrap(await streamRoom(c.env, id).postSystem(body.event, body.data ?? {}, body.group));
  return c.json({ ok: true, ...result }, 200);
});

internalApi.get("/streams/:id/telemetry", async (c) => {
  const id = c.req.param("id");
  if (!isValidStreamId(id)) throw new HttpError(400, "bad_stream_id", "stream id must match [a-z0-9]{8,32}");
  return c.json(await streamRoom(c.env, id).telemetrySummary(), 200, { "Cache-Control": "no-store" });
});

/** The cron's work on demand (tests, local dev): event ingress and the live monitor. */
internalApi.post("/cron/run", async (c) => {
  const body = parseJsonBody(c.get("rawBody"), CronBody, { emptyAsObject: true });
  const report = await runCron(c.env, body.tasks ?? [...CRON_TASKS]);
  return c.json(report, 200, { "Cache-Control": "no-store" });
});

internalApi.get("/events/:id/stats", async (c) => {
  const id = c.req.param("id");
  if (!isValidEventId(id)) throw new HttpError(400, "bad_event_id", "event id must be 1-64 characters of [A-Za-z0-9_.:-]");
  return c.json(await eventRoom(c.env, id).stats(), 200, { "Cache-Control": "no-store" });
});

internalApi.post("/dev/broadcasters", async (c) => {
  const body = parseJsonBody(c.get("rawBody"), DevBroadcasterBody);
  const db = getDb(c.env.DB);
  if (body.apiKey !== undefined) {
    const [existing] = await db
      .select()
      .from(schema.users)
      .where(eq(schema.users.apiKeyHash, await hashSecret(body.apiKey)))
      .limit(1);
    if (existing !== undefined) {
      if (existing.role !== (body.role ?? "broadcaster")) {
        throw new HttpError(409, "role_conflict", `this API key belongs to a user who is not a ${body.role ?? "broadcaster"}`);
      }
      return c.json({ userId: existing.id, apiKey: body.apiKey }, 200);
    }
  }
  const apiKey = body.apiKey ?? newApiKey();
  const userId = crypto.randomUUID();
  await db.insert(schema.users).values({
    id: userId,
    name: body.name,
    role: body.role ?? "broadcaster",
    apiKeyHash: await hashSecret(apiKey),
    createdAt: Date.now(),
  });
  return c.json({ userId, apiKey }, 201);
});

internalApi.get("/mother/:streamId/stats", async (c) => {
  const streamId = c.req.param("streamId");
  if (!isValidStreamId(streamId)) throw new HttpError(400, "bad_stream_id", "stream id must match [a-z0-9]{8,32}");
  const stub = hlsMother(c.env, streamId);
  return c.json(await stub.stats(), 200, { "Cache-Control": "no-store" });
});
