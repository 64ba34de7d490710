/** Public stream API: create (broadcasters) and read. */
import { eq, sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { isValidStreamId } from "../../common/hls-paths.js";
import type { Stream } from "../../schema/index.js";
import type { AppEnv } from "../env.js";
import { parseJsonBody } from "../lib/body.js";
import { getDb, schema } from "../lib/db.js";
import { HttpError } from "../lib/errors.js";
import { hashSecret, newStreamId, newStreamKey } from "../lib/random.js";
import { forgetStream, streamExists } from "../lib/stream-directory.js";
import { POLL_MAX_CHOICES, POLL_MIN_CHOICES } from "../rooms/poll.js";
import { unwrap } from "../rooms/result.js";
import { streamRoom } from "../stubs.js";
import { pickOrigin } from "../control/pick-origin.js";
import { readBody, requireApiKey } from "./auth.js";

/** Longest replay log window answered at once (10 min). */
export const MAX_LOG_WINDOW_MS = 10 * 60_000;
const OFFSET_LIMIT = 1_000_000_000_000;

/** An origin is eligible when it sent a heartbeat this recently. */
export const ORIGIN_LIVENESS_MS = 15_000;

const CreateStreamBody = z
  .object({
    title: z.string().max(200).optional(),
    tags: z.array(z.string().min(1).max(32)).max(10).optional(),
    eventId: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,64}$/, "eventId must be 1-64 characters of [A-Za-z0-9_.:-]")
      .optional(),
    /** the broadcaster's location: coordinates and/or an ISO country code */
    location: z
      .object({
        lat: z.number().min(-90).max(90).optional(),
        lon: z.number().min(-180).max(180).optional(),
        country: z.string().regex(/^[A-Z]{2}$/, "country must be an ISO 3166-1 alpha-2 code").optional(),
      })
      .strict()
      .refine((l) => (l.lat === undefined) === (l.lon === undefined), "lat and lon go together")
      .refine((l) => l.lat !== undefined || l.country !== undefined, "location needs {lat, lon} or country")
      .optional(),
    country: z.string().regex(/^[A-Z]{2}$/, "country must be an ISO 3166-1 alpha-2 code").optional(),
  })
  .strict();

const OpenPollBody = z
  .object({
    question: z.string().min(1).max(200),
    choices: z.array(z.string().min(1).max(80)).min(POLL_MIN_CHOICES).max(POLL_MAX_CHOICES),
  })
  .strict();

export function publicBase(env: { PUBLIC_BASE_URL?: string }, requestUrl: string): string {
  const configured = env.PUBLIC_BASE_URL?.trim();
  return configured ? configured.replace(/\/+$/, "") : new URL(requestUrl).origin;
}

export function playbackUrl(base: string, streamId: string): string {
  return `${base}/live/${streamId}/master.m3u8`;
}

function parseTags(json: string): string[] {
  try {
    const value: unknown = JSON.parse(json);
    return Array.isArray(value) ? value.filter((t): t is string => typeof t === "string") : [];
  } catch {
    return [];
  }
}

export function streamView(stream: Stream, base: string) {
  return {
    streamId: stream.id,
    status: stream.status,
    title: stream.title,
    tags: parseTags(stream.tags),
    eventId: stream.eventId,
    createdAt: stream.createdAt,
    startedAt: stream.startedAt,
    endedAt: stream.endedAt,
    playbackUrl: playbackUrl(base, stream.id),
  };
}

export const streamsApi = new Hono<AppEnv>();

streamsApi.post("/", requireApiKey(["broadcaster", "vip", "admin"]), readBody, async (c) => {
  const body = parseJsonBody(c.get("rawBody"), CreateStreamBody, { emptyAsObject: true });
  const db = getDb(c.env.DB);
  const now = Date.now();
  const user = c.get("user");

  // The event must exist and not be over; its state at create time is archived with the stream.
  let eventSnapshot: string | null = null;
  if (body.eventId !== undefined) {
    const [event] = await db.select().from(schema.events).where(eq(schema.events.id, body.eventId)).limit(1);
    if (event === undefined) throw new HttpError(404, "unknown_event", "no such event");
    if (event.status === "final") throw new HttpError(409, "event_final", "this event is over");
    eventSnapshot = JSON.stringify({ ...event, data: safeJson(event.data), archivedAt: now });
  }
  const location =
    body.location !== undefined || body.country !== undefined ? JSON.stringify({ ...body.location, ...(body.country ? { country: body.country } : {}) }) : null;

  // Broadcaster media server selection (workers/control/selection.ts).
  const origin = await pickOrigin(c.env, user.role, now);

  const streamId = newStreamId();
  const streamKey = newStreamKey();
  await db.batch([
    db.insert(schema.streams).values({
      id: streamId,
      keyHash: await hashSecret(streamKey),
      ownerId: user.id,
      originId: origin.id,
      status: "created",
      title: body.title ?? "",
      tags: JSON.stringify(body.tags ?? []),
      eventId: body.eventId ?? null,
      createdAt: now,
      location,
      eventSnapshot,
    }),
    // Reserve a slot until the origin's next heartbeat reports the truth,
    // so a burst of creations spreads over origins.
    db
      .update(schema.origins)
      .set({ activeStreams: sql`${schema.origins.activeStreams} + 1` })
      .where(eq(schema.origins.id, origin.id)),
  ]);
  forgetStream(streamId);

  const base = publicBase(c.env, c.req.url);
  return c.json(
    {
      streamId,
      streamKey,
      ingestUrl: `${origin.rtmpUrl.replace(/\/+$/, "")}/${streamKey}`,
      playbackUrl: playbackUrl(base, streamId),
      watchUrl: `${base}/watch/${streamId}`,
      originId: origin.id,
      sockets: socketUrls(base, streamId, body.eventId ?? null),
    },
    201,
    { "Cache-Control": "no-store" },
  );
});

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function socketUrls(base: string, streamId: string, eventId: string | null) {
  const ws = base.replace(/^http/, "ws");
  return { stream: `${ws}/ws/streams/${streamId}`, ...(eventId !== null ? { event: `${ws}/ws/events/${eventId}` } : {}) };
}

export function absoluteUrl(base: string, path: string | null): string | null {
  return path === null ? null : /^https?:\/\//.test(path) ? path : `${base}${path}`;
}

function streamIdParam(id: string): string {
  if (!isValidStreamId(id)) throw new HttpError(400, "bad_stream_id", "stream id must match [a-z0-9]{8,32}");
  return id;
}

async function loadStream(db: D1Database, id: string): Promise<Stream> {
  const [stream] = await getDb(db).select().from(schema.streams).where(eq(schema.streams.id, id)).limit(1);
  if (stream === undefined) throw new HttpError(404, "unknown_stream", "no such stream");
  return stream;
}

streamsApi.get("/:id", async (c) => {
  const id = streamIdParam(c.req.param("id"));
  const stream = await loadStream(c.env.DB, id);
  // the viewer count is the StreamRoom's count of connected sockets
  let viewerCount: number | null = null;
  try {
    viewerCount = await streamRoom(c.env, id).viewerCount();
  } catch (error) {
    console.warn(`stream ${id}: viewer count unavailable`, error);
  }
  const base = publicBase(c.env, c.req.url);
  // final statistics once ended (workers/control/lifecycle.ts)
  const [stats] =
    stream.status === "ended"
      ? await getDb(c.env.DB).select().from(schema.streamStats).where(eq(schema.streamStats.streamId, id)).limit(1)
      : [];
  return c.json(
    {
      ...streamView(stream, base),
      viewerCount,
      stats:
        stats === undefined
          ? null
          : { durationMs: stats.durationMs, peakViewers: stats.peakViewers, avgViewers: stats.avgViewers, joins: stats.joins, leaves: stats.leaves },
      ownerId: stream.ownerId,
      thumbnailUrl: absoluteUrl(base, stream.thumbnailUrl),
      endReason: stream.endReason,
      sockets: socketUrls(base, stream.id, stream.eventId),
    },
    200,
    { "Cache-Control": "no-store" },
  );
});

/**
 * Replay log window: frames with from ≤ offsetMs < to (ms from stream start),
 * in order. At most 10 minutes per request. Cacheable at the edge once the
 * stream has ended; never while it is live.
 */
streamsApi.get("/:id/log", async (c) => {
  const id = streamIdParam(c.req.param("id"));
  const fromRaw = c.req.query("from");
  const toRaw = c.req.query("to");
  const integer = /^-?\d{1,13}$/;
  if (fromRaw === undefined || toRaw === undefined || !integer.test(fromRaw) || !integer.test(toRaw)) {
    throw new HttpError(400, "bad_window", "from and to are required integers (ms from stream start)");
  }
  const from = Number(fromRaw);
  const to = Number(toRaw);
  if (Math.abs(from) > OFFSET_LIMIT || Math.abs(to) > OFFSET_LIMIT || to <= from || to - from > MAX_LOG_WINDOW_MS) {
    throw new HttpError(400, "bad_window", `need from < to and a window of at most ${MAX_LOG_WINDOW_MS} ms`);
  }
  const cacheKey = `${new URL(c.req.url).origin}/api/streams/${id}/log?from=${from}&to=${to}`;
  const cache = caches.default;
  const hit = await cache.match(cacheKey);
  if (hit !== undefined) {
    const response = new Response(hit.body, hit);
    response.headers.set("X-Cache-Tier", "edge-hit");
    return response;
  }
  if (!(await streamExists(c.env.DB, id))) throw new HttpError(404, "unknown_stream", "no such stream");
  const window = await streamRoom(c.env, id).logWindow(from, to);
  const body = `{"streamId":${JSON.stringify(id)},"from":${from},"to":${to},"startedAt":${JSON.stringify(window.startedAt)},"ended":${window.ended},"truncated":${window.truncated},"frames":[${window.frames.join(",")}]}`;
  const headers: Record<string, string> = {
    "Content-Type": "application/json; charset=utf-8",
    "Cache-Control": window.ended ? "public, max-age=86400" : "no-store",
    "X-Cache-Tier": "origin",
  };
  if (window.ended) {
    c.executionCtx.waitUntil(cache.put(cacheKey, new Response(body, { status: 200, headers })).catch(() => {}));
  }
  return new Response(body, { status: 200, headers });
});

/** Polls through the API (the broadcaster who owns the stream, or an admin). */
async function requireOwner(c: import("hono").Context<AppEnv>, id: string): Promise<Stream> {
  const stream = await loadStream(c.env.DB, id);
  const user = c.get("user");
  if (user.role !== "admin" && stream.ownerId !== user.id) {
    throw new HttpError(403, "forbidden", "only the stream's broadcaster may run its polls");
  }
  return stream;
}

streamsApi.post("/:id/polls", requireApiKey(["broadcaster", "admin"]), readBody, async (c) => {
  const id = streamIdParam(c.req.param("id"));
  const body = parseJsonBody(c.get("rawBody"), OpenPollBody);
  await requireOwner(c, id);
  const poll = unwrap(await streamRoom(c.env, id).openPoll(c.get("user").id, body.question, body.choices));
  return c.json(poll, 201, { "Cache-Control": "no-store" });
});

streamsApi.post("/:id/polls/:pollId/close", requireApiKey(["broadcaster", "admin"]), async (c) => {
  const id = streamIdParam(c.req.param("id"));
  const pollId = c.req.param("pollId");
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(pollId)) throw new HttpError(400, "bad_poll_id", "malformed poll id");
  await requireOwner(c, id);
  const poll = unwrap(await streamRoom(c.env, id).closePoll(pollId));
  return c.json(poll, 200, { "Cache-Control": "no-store" });
});
