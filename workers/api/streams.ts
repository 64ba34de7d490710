/** Public stream API: create (broadcasters) and read. */
import { and, asc, eq, gte, lt, sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { isValidStreamId } from "../../common/hls-paths.js";
import type { Stream } from "../../schema/index.js";
import type { AppEnv } from "../env.js";
import { parseJsonBody } from "../lib/body.js";
import { getDb, schema } from "../lib/db.js";
import { HttpError } from "../lib/errors.js";
import { hashSecret, newStreamId, newStreamKey } from "../lib/random.js";
import { forgetStream } from "../lib/stream-directory.js";
import { readBody, requireApiKey } from "./auth.js";

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

streamsApi.post("/", requireApiKey(["broadcaster"]), readBody, async (c) => {
  const body = parseJsonBody(c.get("rawBody"), CreateStreamBody, { emptyAsObject: true });
  const db = getDb(c.env.DB);
  const now = Date.now();

  // Least-loaded live origin of the standard pool that still has room.
  const [origin] = await db
    .select()
    .from(schema.origins)
    .where(
      and(
        eq(schema.origins.pool, "standard"),
        gte(schema.origins.lastHeartbeatAt, now - ORIGIN_LIVENESS_MS),
        lt(schema.origins.activeStreams, schema.origins.capacity),
      ),
    )
    .orderBy(
      asc(sql`CAST(${schema.origins.activeStreams} AS REAL) / ${schema.origins.capacity}`),
      asc(schema.origins.activeStreams),
    )
    .limit(1);
  if (origin === undefined) {
    throw new HttpError(503, "no_available_server", "no media server is available, try again shortly", {
      "Retry-After": "5",
    });
  }

  const streamId = newStreamId();
  const streamKey = newStreamKey();
  await db.batch([
    db.insert(schema.streams).values({
      id: streamId,
      keyHash: await hashSecret(streamKey),
      ownerId: c.get("user").id,
      originId: origin.id,
      status: "created",
      title: body.title ?? "",
      tags: JSON.stringify(body.tags ?? []),
      eventId: body.eventId ?? null,
      createdAt: now,
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
    },
    201,
    { "Cache-Control": "no-store" },
  );
});

streamsApi.get("/:id", async (c) => {
  const id = c.req.param("id");
  if (!isValidStreamId(id)) throw new HttpError(400, "bad_stream_id", "stream id must match [a-z0-9]{8,32}");
  const [stream] = await getDb(c.env.DB).select().from(schema.streams).where(eq(schema.streams.id, id)).limit(1);
  if (stream === undefined) throw new HttpError(404, "unknown_stream", "no such stream");
  return c.json(streamView(stream, publicBase(c.env, c.req.url)), 200, { "Cache-Control": "no-store" });
});
