/**
 * /api/internal: calls from origin boxes, the cron's work on demand and dev
 * seeding, every one HMAC-signed by ORIGIN_SHARED_SECRET (lib/origin-auth.ts).
 * Binary uploads (recording, thumbnails, media/uploads.ts) check the
 * signature over their raw bytes; every other route over its JSON body.
 *
 *   POST /origins/heartbeat              origin load → D1 origins
 *   POST /publish                        may this stream key publish? (lifecycle)
 *   POST /streams/:id/status             live / reconnecting / ended (lifecycle)
 *   POST /streams/:id/system             system event into the StreamRoom
 *   GET  /streams/:id/telemetry          the room's telemetry aggregate
 *   PUT  /streams/:id/vod/[:dir/]:name, /streams/:id/thumbnails/:index   (media/uploads.ts)
 *   POST /cron/run  POST /cron/watchdog  GET /events/:id/stats  GET /mother/:streamId/stats
 *   GET /relay/:streamId/:region/stats
 *   POST /dev/broadcasters               dev seed
 */
import { Hono } from "hono";
import { z } from "zod";
import { COUNTRY_PATTERN, STREAM_ID_PATTERN } from "../../common/ids.js";
import { HeartbeatRequest, type HeartbeatResponse, PublishRequest, StatusReport } from "../../common/origin-contract.js";
import { USER_ROLES } from "../../schema/index.js";
import { recordHeartbeat } from "../control/origins.js";
import { runWatchdog } from "../control/watchdog.js";
import { parseConfig } from "../config.js";
import type { AppEnv } from "../env.js";
import { CRON_TASKS, runCron } from "../events/cron.js";
import { parseJsonBody } from "../lib/body.js";
import { DEVICE_TYPES } from "../lib/client-info.js";
import { HttpError } from "../lib/errors.js";
import { eventIdParam, streamIdParam } from "../lib/params.js";
import { TOKEN_ROLES } from "../lib/session-token.js";
import { derivedApiKey } from "../lib/random.js";
import { seedUser } from "../lib/users.js";
import { mediaUploads } from "../media/uploads.js";
import { POSTABLE_SYSTEM_EVENTS } from "../rooms/protocol.js";
import { unwrap } from "../rooms/result.js";
import { publish, reconcileOriginStreams, reportStatus } from "../streams/lifecycle.js";
import { requireStream } from "../streams/repository.js";
import { eventRoom, hlsMother, hlsRelay, streamRoom } from "../stubs.js";
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
      country: z.string().regex(COUNTRY_PATTERN).optional(),
      device: z.enum(DEVICE_TYPES).optional(),
      role: z.enum(TOKEN_ROLES).optional(),
    })
    .strict()
    .optional(),
});

const CronBody = z.object({ tasks: z.array(z.enum(CRON_TASKS)).min(1).optional() }).strict();

/** `now` lets tests run the watchdog "10 minutes later"; `streamIds` limits it to theirs on a shared stack. */
const WatchdogBody = z
  .object({
    now: z.number().int().min(0).max(8_640_000_000_000).optional(),
    streamIds: z.array(z.string().regex(STREAM_ID_PATTERN)).max(100).optional(),
    origins: z.boolean().optional(),
  })
  .strict();

const NO_STORE = { "Cache-Control": "no-store" };

/** The JSON routes: the signature covers the body read once into `rawBody`. */
const signedJson = new Hono<AppEnv>();
signedJson.use("*", requireOriginSignature);

signedJson.post("/origins/heartbeat", async (c) => {
  const heartbeat = parseJsonBody(c.get("rawBody"), HeartbeatRequest);
  const now = Date.now();
  await recordHeartbeat(c.env.DB, heartbeat, now);
  const orders = await reconcileOriginStreams(c.env, heartbeat.originId, heartbeat.streams ?? [], now);
  const answer: HeartbeatResponse = { ok: true, ...orders };
  return c.json(answer, 200);
});

signedJson.post("/publish", async (c) => {
  const body = parseJsonBody(c.get("rawBody"), PublishRequest);
  return c.json(await publish(c.env, body), 200);
});

signedJson.post("/streams/:id/status", async (c) => {
  const id = streamIdParam(c.req.param("id"));
  const body = parseJsonBody(c.get("rawBody"), StatusReport);
  return c.json(await reportStatus(c.env, id, body), 200);
});

/** System event into a StreamRoom (origin or API); with `group`, only to that group. */
signedJson.post("/streams/:id/system", async (c) => {
  const id = streamIdParam(c.req.param("id"));
  const body = parseJsonBody(c.get("rawBody"), SystemBody);
  await requireStream(c.env.DB, id);
  // keyed by the request id: the same signed request can only ever post once
  const result = unwrap(await streamRoom(c.env, id).postSystem(body.event, body.data ?? {}, body.group, c.get("requestId")));
  return c.json({ ok: true, ...result }, 200);
});

signedJson.get("/streams/:id/telemetry", async (c) => {
  const id = streamIdParam(c.req.param("id"));
  return c.json(await streamRoom(c.env, id).telemetrySummary(), 200, NO_STORE);
});

/** The cron's work on demand (tests, local dev): event ingress and the live monitor. */
signedJson.post("/cron/run", async (c) => {
  const body = parseJsonBody(c.get("rawBody"), CronBody, { emptyAsObject: true });
  return c.json(await runCron(c.env, body.tasks ?? [...CRON_TASKS]), 200, NO_STORE);
});

signedJson.post("/cron/watchdog", async (c) => {
  const body = parseJsonBody(c.get("rawBody"), WatchdogBody, { emptyAsObject: true });
  return c.json(await runWatchdog(c.env, body), 200, NO_STORE);
});

signedJson.get("/events/:id/stats", async (c) => {
  const id = eventIdParam(c.req.param("id"));
  return c.json(await eventRoom(c.env, id).stats(), 200, NO_STORE);
});

signedJson.get("/mother/:streamId/stats", async (c) => {
  const streamId = streamIdParam(c.req.param("streamId"));
  return c.json(await hlsMother(c.env, streamId).stats(), 200, NO_STORE);
});

signedJson.get("/relay/:streamId/:region/stats", async (c) => {
  const streamId = streamIdParam(c.req.param("streamId"));
  const region = c.req.param("region");
  if (!/^[a-z0-9-]{1,32}$/.test(region)) throw new HttpError(400, "bad_path", "region must match [a-z0-9-]{1,32}");
  return c.json(await hlsRelay(c.env, streamId, region).stats(), 200, NO_STORE);
});

signedJson.post("/dev/broadcasters", async (c) => {
  const body = parseJsonBody(c.get("rawBody"), DevBroadcasterBody);
  const role = body.role ?? "broadcaster";
  // idempotent: without a given key, the key is derived from the request id (one request, one user)
  const apiKey = body.apiKey ?? (await derivedApiKey(parseConfig(c.env).originSharedSecret ?? "", `dev-seed:${c.get("requestId")}`));
  const seeded = await seedUser(c.env.DB, body.name, role, apiKey);
  if (seeded.role !== role) throw new HttpError(409, "role_conflict", `this API key belongs to a user who is not a ${role}`);
  return c.json({ userId: seeded.userId, apiKey }, seeded.created ? 201 : 200);
});

export const internalApi = new Hono<AppEnv>();
// the uploads answer their own routes; everything else falls through to the JSON routes
internalApi.route("/streams", mediaUploads);
internalApi.route("/", signedJson);
