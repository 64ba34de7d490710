/**
 * Live directory and stream-key rotation (mounted at /api/streams, before streams.ts):
 *
 *   GET  /api/streams[?status=live|created|reconnecting|ended|all][&eventId=][&broadcaster=][&limit=≤100][&cursor=]
 *        → { streams: [...], nextCursor }   default status: live + reconnecting
 *   POST /api/streams/:id/key/rotate       (Bearer, owner or admin) → { streamId, streamKey, ingestUrl }
 */
import { and, desc, eq, inArray, lt, or, type SQL } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { STREAM_STATUSES } from "../../schema/index.js";
import type { AppEnv } from "../env.js";
import { getDb, schema } from "../lib/db.js";
import { HttpError } from "../lib/errors.js";
import { rotateStreamKey } from "../streams/lifecycle.js";
import { requireApiKey } from "./auth.js";
import { loadStreamRow } from "./play.js";
import { absoluteUrl, publicBase, streamView } from "./streams.js";

const ListQuery = z
  .object({
    status: z.enum([...STREAM_STATUSES, "all"]).optional(),
    eventId: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/).optional(),
    broadcaster: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/).optional(),
    limit: z.coerce.number().int().min(1).max(100).optional(),
    cursor: z.string().regex(/^\d{1,15}_[a-z0-9]{8,32}$/, "malformed cursor").optional(),
  })
  .strict();

export const directoryApi = new Hono<AppEnv>();

directoryApi.get("/", async (c) => {
  const parsed = ListQuery.safeParse(c.req.query());
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join(".") || "query"}: ${i.message}`).join("; ");
    throw new HttpError(400, "bad_query", detail);
  }
  const q = parsed.data;
  const limit = q.limit ?? 20;
  const conditions: SQL[] = [];
  if (q.status === undefined) conditions.push(inArray(schema.streams.status, ["live", "reconnecting"]));
  else if (q.status !== "all") conditions.push(eq(schema.streams.status, q.status));
  if (q.eventId !== undefined) conditions.push(eq(schema.streams.eventId, q.eventId));
  if (q.broadcaster !== undefined) conditions.push(eq(schema.streams.ownerId, q.broadcaster));
  if (q.cursor !== undefined) {
    const [at, id] = q.cursor.split("_") as [string, string];
    const createdAt = Number(at);
    conditions.push(or(lt(schema.streams.createdAt, createdAt), and(eq(schema.streams.createdAt, createdAt), lt(schema.streams.id, id)))!);
  }
  const rows = await getDb(c.env.DB)
    .select()
    .from(schema.streams)
    .where(conditions.length ? and(...conditions) : undefined)
    .orderBy(desc(schema.streams.createdAt), desc(schema.streams.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  const base = publicBase(c.env, c.req.url);
  return c.json(
    {
      streams: page.map((s) => ({ ...streamView(s, base), ownerId: s.ownerId, thumbnailUrl: absoluteUrl(base, s.thumbnailUrl) })),
      nextCursor: rows.length > limit && last !== undefined ? `${last.createdAt}_${last.id}` : null,
    },
    200,
    { "Cache-Control": "no-store" },
  );
});

directoryApi.post("/:id/key/rotate", requireApiKey(["broadcaster", "vip", "admin"]), async (c) => {
  const stream = await loadStreamRow(c.env.DB, c.req.param("id"));
  const user = c.get("user");
  if (user.role !== "admin" && stream.ownerId !== user.id) throw new HttpError(403, "forbidden", "only the stream's broadcaster may rotate its key");
  if (stream.status === "ended") throw new HttpError(409, "stream_ended", "this stream has ended");
  const streamKey = await rotateStreamKey(c.env, stream.id);
  if (streamKey === null) throw new HttpError(409, "stream_ended", "this stream has ended");
  let ingestUrl: string | null = null;
  if (stream.originId !== null) {
    const [origin] = await getDb(c.env.DB).select().from(schema.origins).where(eq(schema.origins.id, stream.originId)).limit(1);
    if (origin !== undefined) ingestUrl = `${origin.rtmpUrl.replace(/\/+$/, "")}/${streamKey}`;
  }
  return c.json({ streamId: stream.id, streamKey, ingestUrl }, 200, { "Cache-Control": "no-store" });
});
