/**
 * Viewer source selection and replay (mounted at /api/streams, before streams.ts):
 *
 *   GET /api/streams/:id/play     optional Bearer (API key or session token)
 *       → { source: "origin"|"edge", url, mode, viewerCount, reason, sockets }
 *   GET /api/streams/:id/replay
 *       → { vodUrl, startedAt, endedAt, durationMs, logUrl, thumbnailUrl }
 *         404 replay_not_ready until the stream ended and its VOD playlist is in R2
 */
import { and, eq } from "drizzle-orm";
import { Hono } from "hono";
import { isValidStreamId } from "../../common/hls-paths.js";
import type { Stream } from "../../schema/index.js";
import { controlConfig } from "../control/config.js";
import { optionalIdentity } from "../control/identity.js";
import { decideSource } from "../control/viewer-source.js";
import type { AppEnv } from "../env.js";
import { getDb, schema } from "../lib/db.js";
import { HttpError } from "../lib/errors.js";
import { vodKey } from "../media/keys.js";
import { streamRoom } from "../stubs.js";
import { absoluteUrl, playbackUrl, publicBase, socketUrls } from "./streams.js";

export const playApi = new Hono<AppEnv>();

export async function loadStreamRow(db: D1Database, id: string): Promise<Stream> {
  if (!isValidStreamId(id)) throw new HttpError(400, "bad_stream_id", "stream id must match [a-z0-9]{8,32}");
  const [stream] = await getDb(db).select().from(schema.streams).where(eq(schema.streams.id, id)).limit(1);
  if (stream === undefined) throw new HttpError(404, "unknown_stream", "no such stream");
  return stream;
}

playApi.get("/:id/play", async (c) => {
  const identity = await optionalIdentity(c);
  const stream = await loadStreamRow(c.env.DB, c.req.param("id"));
  if (stream.status === "ended") throw new HttpError(409, "stream_ended", "this stream has ended; see /replay");
  const db = getDb(c.env.DB);
  const [origin] =
    stream.originId === null ? [] : await db.select().from(schema.origins).where(eq(schema.origins.id, stream.originId)).limit(1);
  if (origin === undefined) throw new HttpError(503, "no_origin", "the stream has no media server yet", { "Retry-After": "2" });

  let viewerCount = 0;
  try {
    viewerCount = await streamRoom(c.env, stream.id).viewerCount();
  } catch (error) {
    console.warn(`stream ${stream.id}: viewer count unavailable, assuming 0`, error);
  }
  const { thresholds } = controlConfig(c.env);
  const decision = decideSource(identity?.role ?? null, viewerCount, stream.playbackMode, thresholds);
  if (decision.mode !== stream.playbackMode) {
    // compare-and-set: every isolate reads the same stored mode
    await db
      .update(schema.streams)
      .set({ playbackMode: decision.mode })
      .where(and(eq(schema.streams.id, stream.id), eq(schema.streams.playbackMode, stream.playbackMode)));
  }
  const base = publicBase(c.env, c.req.url);
  const url = decision.source === "origin" ? `${origin.baseUrl.replace(/\/+$/, "")}/hls/${stream.id}/master.m3u8` : playbackUrl(base, stream.id);
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
    { "Cache-Control": "no-store" },
  );
});

playApi.get("/:id/replay", async (c) => {
  const stream = await loadStreamRow(c.env.DB, c.req.param("id"));
  if (stream.status !== "ended") throw new HttpError(404, "replay_not_ready", "the stream has not ended yet");
  const head = await c.env.MEDIA.head(vodKey(stream.id, "index.m3u8"));
  if (head === null) throw new HttpError(404, "replay_not_ready", "the recording is not available (yet)");
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
    { "Cache-Control": "no-store" },
  );
});
