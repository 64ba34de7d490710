/**
 * Origin → R2 uploads through the Worker (HMAC-signed over the raw bytes):
 * recording objects and thumbnails. Mounted at /api/internal/streams.
 */
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { isValidStreamId } from "../../common/hls-paths.js";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyRequest } from "../../common/signing.js";
import type { AppEnv } from "../env.js";
import { readBodyBytes } from "../lib/body.js";
import { getDb, schema } from "../lib/db.js";
import { HttpError } from "../lib/errors.js";
import { publishThumbnail } from "../control/thumbnails.js";
import { publicBase } from "../api/streams.js";
import { isThumbnailIndex, isVodName, thumbnailKey, vodContentType, vodKey } from "./keys.js";

const MAX_VOD_OBJECT_BYTES = 32 * 1024 * 1024;
const MAX_THUMBNAIL_BYTES = 2 * 1024 * 1024;

async function signedBytes(request: Request, secret: string, limit: number): Promise<Uint8Array<ArrayBuffer>> {
  const bytes = await readBodyBytes(request, limit);
  const url = new URL(request.url);
  const ok = await verifyRequest(
    secret,
    request.method,
    url.pathname + url.search,
    bytes,
    request.headers.get(TIMESTAMP_HEADER),
    request.headers.get(SIGNATURE_HEADER),
  );
  if (!ok) throw new HttpError(401, "bad_signature", "missing, stale or invalid request signature");
  return bytes;
}

async function requireStream(db: D1Database, streamId: string) {
  if (!isValidStreamId(streamId)) throw new HttpError(400, "bad_stream_id", "malformed stream id");
  const [stream] = await getDb(db).select().from(schema.streams).where(eq(schema.streams.id, streamId)).limit(1);
  if (!stream) throw new HttpError(404, "unknown_stream", "no such stream");
  return stream;
}

export const mediaUploads = new Hono<AppEnv>();

mediaUploads.put("/:id/vod/:name", async (c) => {
  const bytes = await signedBytes(c.req.raw, c.env.ORIGIN_SHARED_SECRET ?? "", MAX_VOD_OBJECT_BYTES);
  const name = c.req.param("name");
  if (!isVodName(name)) throw new HttpError(400, "bad_name", "not a recording object name");
  const stream = await requireStream(c.env.DB, c.req.param("id"));
  await c.env.MEDIA.put(vodKey(stream.id, name), bytes, {
    httpMetadata: { contentType: vodContentType(name) },
  });
  return c.json({ ok: true, key: vodKey(stream.id, name), bytes: bytes.byteLength }, 201);
});

mediaUploads.put("/:id/thumbnails/:index", async (c) => {
  const bytes = await signedBytes(c.req.raw, c.env.ORIGIN_SHARED_SECRET ?? "", MAX_THUMBNAIL_BYTES);
  const index = c.req.param("index");
  if (!isThumbnailIndex(index)) throw new HttpError(400, "bad_index", "thumbnail index must be a number");
  // JPEG magic: a thumbnail that is not an image is refused, not stored.
  if (bytes.byteLength < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) {
    throw new HttpError(400, "not_jpeg", "thumbnail must be a JPEG");
  }
  const stream = await requireStream(c.env.DB, c.req.param("id"));
  const key = thumbnailKey(stream.id, index);
  await c.env.MEDIA.put(key, bytes, { httpMetadata: { contentType: "image/jpeg" } });
  const path = `/thumbnails/${stream.id}/${index}.jpg`;
  // the stream row points at its latest thumbnail; a `thumbnail` system event carries it
  await publishThumbnail(c.env, stream, path, Number(index), publicBase(c.env, c.req.url));
  return c.json({ ok: true, key, url: path }, 201);
});
