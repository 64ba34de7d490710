/**
 * /api/streams: the one router of a stream's public API. Handlers parse and
 * answer; what a stream is and how it is stored lives in workers/streams/
 * (repository, views, lifecycle, playback) and workers/control/ (origin
 * selection).
 *
 *   POST /                        (Bearer broadcaster, vip, admin) create
 *   GET  /                        directory [?status&eventId&broadcaster&limit&cursor]
 *   GET  /:id                     info, viewerCount, stats once ended
 *   GET  /:id/log?from&to         replay log window
 *   GET  /:id/play                viewer source (optional Bearer or token)
 *   GET  /:id/replay              the recording, once ended
 *   POST /:id/key/rotate          (Bearer owner or admin)
 *   POST /:id/polls[/:pollId/close] (Bearer owner or admin)
 */
import { Hono, type Context } from "hono";
import { z } from "zod";
import { countrySchema, idSchema } from "../../common/ids.js";
import { STREAM_STATUSES, type Stream, type User } from "../../schema/index.js";
import { optionalIdentity } from "./identity.js";
import { pickOrigin } from "../control/pick-origin.js";
import type { AppEnv } from "../env.js";
import { getEventRow } from "../events/event-store.js";
import { parseJsonBody } from "../lib/body.js";
import { getDb } from "../lib/db.js";
import { HttpError } from "../lib/errors.js";
import { pollIdParam, streamIdParam } from "../lib/params.js";
import { hashSecret, newStreamId, newStreamKey } from "../lib/random.js";
import { forgetStream, streamExists } from "../lib/stream-directory.js";
import { displayText, validQuery } from "../lib/validation.js";
import { vodKey } from "../media/keys.js";
import { POLL_MAX_CHOICES, POLL_MIN_CHOICES } from "../rooms/poll.js";
import { unwrap } from "../rooms/result.js";
import { rotateStreamKey } from "../streams/lifecycle.js";
import { choosePlayback } from "../streams/playback.js";
import { findOrigin, findStreamStats, insertStream, listStreams, requireStream } from "../streams/repository.js";
import {
  absoluteUrl,
  directoryEntry,
  ingestUrl,
  playbackUrl,
  publicBase,
  socketUrls,
  statsView,
  streamView,
  watchUrl,
} from "../streams/views.js";
import { streamRoom } from "../stubs.js";
import { readBody, requireApiKey } from "./auth.js";
import { readLogWindow } from "./log-window.js";

const CreateStreamBody = z
  .object({
    title: displayText({ max: 200 }).optional(),
    tags: z
      .array(displayText({ min: 1, max: 32 }))
      .max(10)
      .optional(),
    eventId: idSchema("eventId").optional(),
    /** the broadcaster's location: coordinates and/or an ISO country code */
    location: z
      .object({
        lat: z.number().min(-90).max(90).optional(),
        lon: z.number().min(-180).max(180).optional(),
        country: countrySchema.optional(),
      })
      .strict()
      .refine((l) => (l.lat === undefined) === (l.lon === undefined), "lat and lon go together")
      .refine((l) => l.lat !== undefined || l.country !== undefined, "location needs {lat, lon} or country")
      .optional(),
    country: countrySchema.optional(),
  })
  .strict();

const OpenPollBody = z
  .object({
    question: z.string().min(1).max(200),
    choices: z.array(z.string().min(1).max(80)).min(POLL_MIN_CHOICES).max(POLL_MAX_CHOICES),
  })
  .strict();

const DirectoryQuery = z
  .object({
    status: z.enum([...STREAM_STATUSES, "all"]).optional(),
    eventId: idSchema("eventId").optional(),
    broadcaster: idSchema("broadcaster").optional(),
    limit: z.coerce.number().int().min(1).max(100).optional(),
    cursor: z
      .string()
      .regex(/^\d{1,15}_[a-z0-9]{8,32}$/, "malformed cursor")
      .optional(),
  })
  .strict();

const NO_STORE = { "Cache-Control": "no-store" };

/** The broadcaster who owns the stream, or an admin; 403 otherwise. */
function assertOwner(stream: Stream, user: User, action: string): void {
  if (user.role !== "admin" && stream.ownerId !== user.id)
    throw new HttpError(403, "forbidden", `only the stream's broadcaster may ${action}`);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text; // archived as the provider sent it
  }
}

export const streamsApi = new Hono<AppEnv>();

streamsApi.post("/", requireApiKey(["broadcaster", "vip", "admin"]), readBody, async (c) => {
  const body = parseJsonBody(c.get("rawBody"), CreateStreamBody, { emptyAsObject: true });
  const now = Date.now();
  // The event must exist and not be over; its state at create time is archived with the stream.
  let eventSnapshot: string | null = null;
  if (body.eventId !== undefined) {
    const event = await getEventRow(getDb(c.env.DB), body.eventId);
    if (event === null) throw new HttpError(404, "unknown_event", "no such event");
    if (event.status === "final") throw new HttpError(409, "event_final", "this event is over");
    eventSnapshot = JSON.stringify({ ...event, data: safeJson(event.data), archivedAt: now });
  }
  const location =
    body.location !== undefined || body.country !== undefined
      ? JSON.stringify({ ...body.location, ...(body.country ? { country: body.country } : {}) })
      : null;
  const user = c.get("user");
  const origin = await pickOrigin(c.env, user.role, now);
  const streamId = newStreamId();
  const streamKey = newStreamKey();
  await insertStream(c.env.DB, {
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
  });
  forgetStream(streamId);
  const base = publicBase(c.env, c.req.url);
  return c.json(
    {
      streamId,
      streamKey,
      ingestUrl: ingestUrl(origin.rtmpUrl, streamKey),
      playbackUrl: playbackUrl(base, streamId),
      watchUrl: watchUrl(base, streamId),
      originId: origin.id,
      sockets: socketUrls(base, streamId, body.eventId ?? null),
    },
    201,
    NO_STORE,
  );
});

streamsApi.get("/", validQuery(DirectoryQuery), async (c) => {
  const q = c.req.valid("query");
  const limit = q.limit ?? 20;
  const [at, id] = q.cursor?.split("_") ?? [];
  const rows = await listStreams(c.env.DB, {
    status: q.status,
    eventId: q.eventId,
    ownerId: q.broadcaster,
    cursor: at !== undefined && id !== undefined ? { createdAt: Number(at), id } : undefined,
    limit,
  });
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  const base = publicBase(c.env, c.req.url);
  return c.json(
    {
      streams: page.map((s) => directoryEntry(s, base)),
      nextCursor: rows.length > limit && last !== undefined ? `${last.createdAt}_${last.id}` : null,
    },
    200,
    NO_STORE,
  );
});

streamsApi.get("/:id", async (c) => {
  const stream = await requireStream(c.env.DB, streamIdParam(c.req.param("id")));
  // the viewer count is the StreamRoom's count of connected sockets
  let viewerCount: number | null = null;
  try {
    viewerCount = await streamRoom(c.env, stream.id).viewerCount();
  } catch (error) {
    console.warn(`stream ${stream.id}: viewer count unavailable`, error);
  }
  const base = publicBase(c.env, c.req.url);
  const stats = stream.status === "ended" ? await findStreamStats(c.env.DB, stream.id) : undefined;
  return c.json(
    {
      ...streamView(stream, base),
      viewerCount,
      stats: statsView(stats),
      ownerId: stream.ownerId,
      thumbnailUrl: absoluteUrl(base, stream.thumbnailUrl),
      endReason: stream.endReason,
      sockets: socketUrls(base, stream.id, stream.eventId),
    },
    200,
    NO_STORE,
  );
});

streamsApi.get("/:id/log", async (c) => {
  const id = streamIdParam(c.req.param("id"));
  return readLogWindow(c, id, async () => {
    if (!(await streamExists(c.env.DB, id))) throw new HttpError(404, "unknown_stream", "no such stream");
  });
});

streamsApi.get("/:id/play", async (c) => {
  const identity = await optionalIdentity(c);
  const stream = await requireStream(c.env.DB, streamIdParam(c.req.param("id")));
  if (stream.status === "ended") throw new HttpError(409, "stream_ended", "this stream has ended; see /replay");
  const origin = stream.originId === null ? undefined : await findOrigin(c.env.DB, stream.originId);
  if (origin === undefined) throw new HttpError(503, "no_origin", "the stream has no media server yet", { "Retry-After": "2" });
  const base = publicBase(c.env, c.req.url);
  const { decision, url, viewerCount, thresholds } = await choosePlayback(c.env, stream, origin, identity?.role ?? null, base);
  return c.json(
    {
      streamId: stream.id,
      source: decision.source,
      url,
      mode: decision.mode,
      reason: decision.reason,
      viewerCount,
      thresholds,
      sockets: socketUrls(base, stream.id, stream.eventId),
    },
    200,
    NO_STORE,
  );
});

streamsApi.get("/:id/replay", async (c) => {
  const stream = await requireStream(c.env.DB, streamIdParam(c.req.param("id")));
  if (stream.status !== "ended") throw new HttpError(404, "replay_not_ready", "the stream has not ended yet");
  if ((await c.env.MEDIA.head(vodKey(stream.id, "index.m3u8"))) === null) {
    throw new HttpError(404, "replay_not_ready", "the recording is not available (yet)");
  }
  const base = publicBase(c.env, c.req.url);
  return c.json(
    {
      streamId: stream.id,
      vodUrl: `${base}/vod/${stream.id}/index.m3u8`,
      startedAt: stream.startedAt,
      endedAt: stream.endedAt,
      durationMs: stream.startedAt !== null && stream.endedAt !== null ? stream.endedAt - stream.startedAt : null,
      logUrl: `${base}/api/streams/${stream.id}/log?from={from}&to={to}`,
      thumbnailUrl: absoluteUrl(base, stream.thumbnailUrl),
      eventId: stream.eventId,
    },
    200,
    NO_STORE,
  );
});

streamsApi.post("/:id/key/rotate", requireApiKey(["broadcaster", "vip", "admin"]), async (c) => {
  const stream = await requireStream(c.env.DB, streamIdParam(c.req.param("id")));
  assertOwner(stream, c.get("user"), "rotate its key");
  if (stream.status === "ended") throw new HttpError(409, "stream_ended", "this stream has ended");
  const streamKey = await rotateStreamKey(c.env, stream.id);
  if (streamKey === null) throw new HttpError(409, "stream_ended", "this stream has ended");
  const origin = stream.originId === null ? undefined : await findOrigin(c.env.DB, stream.originId);
  return c.json(
    { streamId: stream.id, streamKey, ingestUrl: origin === undefined ? null : ingestUrl(origin.rtmpUrl, streamKey) },
    200,
    NO_STORE,
  );
});

/** Polls through the API (the broadcaster who owns the stream, or an admin). */
async function ownedStream(c: Context<AppEnv>): Promise<Stream> {
  const stream = await requireStream(c.env.DB, streamIdParam(c.req.param("id")));
  assertOwner(stream, c.get("user"), "run its polls");
  return stream;
}

streamsApi.post("/:id/polls", requireApiKey(["broadcaster", "admin"]), readBody, async (c) => {
  streamIdParam(c.req.param("id"));
  const body = parseJsonBody(c.get("rawBody"), OpenPollBody);
  const stream = await ownedStream(c);
  const poll = unwrap(await streamRoom(c.env, stream.id).openPoll(c.get("user").id, body.question, body.choices));
  return c.json(poll, 201, NO_STORE);
});

streamsApi.post("/:id/polls/:pollId/close", requireApiKey(["broadcaster", "admin"]), async (c) => {
  streamIdParam(c.req.param("id"));
  const pollId = pollIdParam(c.req.param("pollId"));
  const stream = await ownedStream(c);
  const poll = unwrap(await streamRoom(c.env, stream.id).closePoll(pollId));
  return c.json(poll, 200, NO_STORE);
});
