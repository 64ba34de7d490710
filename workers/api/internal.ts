/** Origin → Worker API (HMAC-signed, see auth.ts). Mounted at /api/internal. */
import { eq, sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { isValidStreamId } from "../../common/hls-paths.js";
import type { AppEnv } from "../env.js";
import { parseJsonBody } from "../lib/body.js";
import { getDb, schema } from "../lib/db.js";
import { HttpError } from "../lib/errors.js";
import { hashSecret, newApiKey } from "../lib/random.js";
import { requireOriginSignature } from "./auth.js";

const OriginId = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, "originId must be 1-64 characters of [A-Za-z0-9_.:-]");
const HttpUrl = z
  .string()
  .max(512)
  .url()
  .refine((u) => /^https?:\/\//i.test(u), "must be an http(s) URL");
const RtmpUrl = z
  .string()
  .max(512)
  .url()
  .refine((u) => /^rtmps?:\/\//i.test(u), "must be an rtmp(s) URL");

// Internal bodies strip unknown keys (origins may send more than we read).
const HeartbeatBody = z.object({
  originId: OriginId,
  baseUrl: HttpUrl,
  rtmpUrl: RtmpUrl,
  capacity: z.number().int().min(0).max(1_000_000),
  activeStreams: z.number().int().min(0).max(1_000_000),
  pool: z.enum(["standard", "vip"]).optional(),
});

const PublishBody = z.object({
  originId: OriginId,
  streamKey: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, "streamKey must match ^[A-Za-z0-9_-]{1,128}$"),
});

const StatusBody = z.object({
  originId: OriginId,
  status: z.enum(["live", "reconnecting", "ended"]),
});

const DevBroadcasterBody = z.object({
  name: z.string().min(1).max(100),
  apiKey: z
    .string()
    .regex(/^[A-Za-z0-9_-]{16,128}$/, "apiKey must be 16-128 characters of [A-Za-z0-9_-]")
    .optional(),
});

export const internalApi = new Hono<AppEnv>();

internalApi.use("*", requireOriginSignature);

internalApi.post("/origins/heartbeat", async (c) => {
  const body = parseJsonBody(c.get("rawBody"), HeartbeatBody);
  const now = Date.now();
  const values = {
    baseUrl: body.baseUrl.replace(/\/+$/, ""),
    rtmpUrl: body.rtmpUrl.replace(/\/+$/, ""),
    capacity: body.capacity,
    activeStreams: body.activeStreams,
    pool: body.pool ?? "standard",
    lastHeartbeatAt: now,
  };
  await getDb(c.env.DB)
    .insert(schema.origins)
    .values({ id: body.originId, ...values })
    .onConflictDoUpdate({ target: schema.origins.id, set: values });
  return c.json({ ok: true }, 200);
});

internalApi.post("/publish", async (c) => {
  const body = parseJsonBody(c.get("rawBody"), PublishBody);
  const db = getDb(c.env.DB);
  const [stream] = await db
    .select()
    .from(schema.streams)
    .where(eq(schema.streams.keyHash, await hashSecret(body.streamKey)))
    .limit(1);
  if (stream === undefined) throw new HttpError(404, "unknown_stream_key", "no stream has this key");
  if (stream.status === "ended") throw new HttpError(409, "stream_ended", "this stream has ended; create a new one");
  const [origin] = await db
    .select({ id: schema.origins.id })
    .from(schema.origins)
    .where(eq(schema.origins.id, body.originId))
    .limit(1);
  if (origin === undefined) {
    throw new HttpError(409, "unknown_origin", "origin has not sent a heartbeat yet");
  }
  const now = Date.now();
  await db
    .update(schema.streams)
    .set({
      status: "live",
      originId: body.originId,
      // keep the first start across reconnects
      startedAt: sql`coalesce(${schema.streams.startedAt}, ${now})`,
    })
    .where(eq(schema.streams.id, stream.id));
  return c.json({ streamId: stream.id }, 200);
});

internalApi.post("/streams/:id/status", async (c) => {
  const id = c.req.param("id");
  if (!isValidStreamId(id)) throw new HttpError(400, "bad_stream_id", "stream id must match [a-z0-9]{8,32}");
  const body = parseJsonBody(c.get("rawBody"), StatusBody);
  const db = getDb(c.env.DB);
  const [stream] = await db.select().from(schema.streams).where(eq(schema.streams.id, id)).limit(1);
  if (stream === undefined) throw new HttpError(404, "unknown_stream", "no such stream");
  if (stream.originId !== null && stream.originId !== body.originId) {
    throw new HttpError(409, "origin_mismatch", "the stream is served by another origin");
  }
  if (stream.status === "ended") {
    if (body.status === "ended") return c.json({ ok: true, streamId: id, status: "ended" }, 200);
    throw new HttpError(409, "stream_ended", "this stream has ended");
  }
  const now = Date.now();
  await db
    .update(schema.streams)
    .set({
      status: body.status,
      originId: body.originId,
      endedAt: body.status === "ended" ? now : null,
      ...(body.status === "live" ? { startedAt: sql`coalesce(${schema.streams.startedAt}, ${now})` } : {}),
    })
    .where(eq(schema.streams.id, id));
  return c.json({ ok: true, streamId: id, status: body.status }, 200);
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
      if (existing.role !== "broadcaster") {
        throw new HttpError(409, "role_conflict", "this API key belongs to a user who is not a broadcaster");
      }
      return c.json({ userId: existing.id, apiKey: body.apiKey }, 200);
    }
  }
  const apiKey = body.apiKey ?? newApiKey();
  const userId = crypto.randomUUID();
  await db.insert(schema.users).values({
    id: userId,
    name: body.name,
    role: "broadcaster",
    apiKeyHash: await hashSecret(apiKey),
    createdAt: Date.now(),
  });
  return c.json({ userId, apiKey }, 201);
});

internalApi.get("/mother/:streamId/stats", async (c) => {
  const streamId = c.req.param("streamId");
  if (!isValidStreamId(streamId)) throw new HttpError(400, "bad_stream_id", "stream id must match [a-z0-9]{8,32}");
  const stub = c.env.HLS_MOTHER.get(c.env.HLS_MOTHER.idFromName(streamId));
  return c.json(await stub.stats(), 200, { "Cache-Control": "no-store" });
});
