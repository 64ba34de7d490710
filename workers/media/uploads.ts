/**
 * Origin → R2 uploads through the Worker (HMAC-signed over the raw bytes):
 * recording objects and thumbnails. Mounted at /api/internal/streams.
 */
import { Hono, type Context } from "hono";
import { parseConfig } from "../config.js";
import type { AppEnv, Env } from "../env.js";
import { readBodyBytes } from "../lib/body.js";
import { HttpError } from "../lib/errors.js";
import { assertOriginSignature } from "../lib/origin-auth.js";
import { streamIdParam } from "../lib/params.js";
import { requireStream } from "../streams/repository.js";
import { publishThumbnail } from "../streams/thumbnails.js";
import { publicBase } from "../streams/views.js";
import { isThumbnailIndex, isVodName, thumbnailKey, vodContentType, vodKey, vodNameOf } from "./keys.js";

const MAX_VOD_OBJECT_BYTES = 32 * 1024 * 1024;
const MAX_THUMBNAIL_BYTES = 2 * 1024 * 1024;

/** The raw bytes, once their signature checks out (they are signed as they are, not as text). */
async function signedBytes(request: Request, env: Env, limit: number): Promise<Uint8Array<ArrayBuffer>> {
  const bytes = await readBodyBytes(request, limit);
  await assertOriginSignature(request, parseConfig(env).originSharedSecret, bytes, env.DB);
  return bytes;
}

export const mediaUploads = new Hono<AppEnv>();

async function putVodObject(c: Context<AppEnv>): Promise<Response> {
  const bytes = await signedBytes(c.req.raw, c.env, MAX_VOD_OBJECT_BYTES);
  const name = vodNameOf(c.req.param("dir"), c.req.param("name") ?? "");
  if (!isVodName(name)) throw new HttpError(400, "bad_name", "not a recording object name");
  const stream = await requireStream(c.env.DB, streamIdParam(c.req.param("id")));
  await c.env.MEDIA.put(vodKey(stream.id, name), bytes, {
    httpMetadata: { contentType: vodContentType(name) },
  });
  return c.json({ ok: true, key: vodKey(stream.id, name), bytes: bytes.byteLength }, 201);
}

mediaUploads.put("/:id/vod/:name", putVodObject);
mediaUploads.put("/:id/vod/:dir/:name", putVodObject);

mediaUploads.put("/:id/thumbnails/:index", async (c) => {
  const bytes = await signedBytes(c.req.raw, c.env, MAX_THUMBNAIL_BYTES);
  const index = c.req.param("index");
  if (!isThumbnailIndex(index)) throw new HttpError(400, "bad_index", "thumbnail index must be a number");
  // JPEG magic: a thumbnail that is not an image is refused, not stored.
  if (bytes.byteLength < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) {
    throw new HttpError(400, "not_jpeg", "thumbnail must be a JPEG");
  }
  const stream = await requireStream(c.env.DB, streamIdParam(c.req.param("id")));
  const key = thumbnailKey(stream.id, index);
  await c.env.MEDIA.put(key, bytes, { httpMetadata: { contentType: "image/jpeg" } });
  const path = `/thumbnails/${stream.id}/${index}.jpg`;
  // the stream row points at its latest thumbnail; a `thumbnail` system event carries it
  await publishThumbnail(c.env, stream, path, Number(index), publicBase(c.env, c.req.url));
  return c.json({ ok: true, key, url: path }, 201);
});
