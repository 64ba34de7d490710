/**
 * Public reads of recordings and thumbnails from R2, through the edge cache:
 *   GET /vod/<streamId>/<name>              VOD HLS: master.m3u8 (= index.m3u8)
 *   GET /vod/<streamId>/<rendition>/<name>  a recorded rendition's playlist, inits, segments
 *   GET /thumbnails/<streamId>/<n>.jpg
 * Everything here is written once and never changes, so it is cached long,
 * validated by its R2 ETag (304) and readable by byte range (206): players
 * seek in recordings with ranges. CORS and 405s: edge.ts's media middleware.
 */
import type { Context } from "hono";
import { isValidStreamId } from "../../common/hls-paths.js";
import type { AppEnv } from "../env.js";
import { cachedResponse, storeInBackground } from "../lib/edge-cache.js";
import { conditionalAnswer } from "../lib/byte-range.js";
import { HttpError } from "../lib/errors.js";
import { isThumbnailIndex, isVodName, thumbnailKey, vodContentType, vodKey, vodNameOf } from "./keys.js";

const IMMUTABLE = "public, max-age=31536000, immutable";
const VOD_PLAYLIST = "public, max-age=86400";

async function serveFromR2(c: Context<AppEnv>, key: string, contentType: string, cacheControl: string): Promise<Response> {
  const cacheKey = new Request(new URL(c.req.url).origin + "/" + key);
  const hit = await cachedResponse(cacheKey);
  if (hit !== null) return conditionalAnswer(c.req.raw, await hit.arrayBuffer(), hit.headers);
  const object = await c.env.MEDIA.get(key);
  if (!object) throw new HttpError(404, "not_found", "no such recording object");
  const headers = new Headers({
    "Content-Type": contentType,
    "Cache-Control": cacheControl,
    ETag: object.httpEtag,
    "Access-Control-Allow-Origin": "*",
    "X-Cache-Tier": "r2",
  });
  const body = await object.arrayBuffer();
  storeInBackground(c.executionCtx, cacheKey, new Response(body, { headers }));
  return conditionalAnswer(c.req.raw, body, headers);
}

export function handleVod(c: Context<AppEnv>): Promise<Response> | Response {
  const streamId = c.req.param("streamId") ?? "";
  const name = vodNameOf(c.req.param("dir"), c.req.param("name") ?? "");
  if (!isValidStreamId(streamId) || !isVodName(name)) throw new HttpError(400, "bad_path", "not a recording path");
  const cacheControl = name.endsWith(".m3u8") ? VOD_PLAYLIST : IMMUTABLE;
  return serveFromR2(c, vodKey(streamId, name), vodContentType(name), cacheControl);
}

export function handleThumbnail(c: Context<AppEnv>): Promise<Response> | Response {
  const streamId = c.req.param("streamId") ?? "";
  const file = c.req.param("file") ?? "";
  const index = file.replace(/\.jpg$/, "");
  if (!isValidStreamId(streamId) || !file.endsWith(".jpg") || !isThumbnailIndex(index)) {
    throw new HttpError(400, "bad_path", "not a thumbnail path");
  }
  return serveFromR2(c, thumbnailKey(streamId, index), "image/jpeg", IMMUTABLE);
}
