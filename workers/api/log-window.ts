/**
 * GET /api/streams/:id/log?from&to: the stream's log frames with
 * from ≤ offsetMs < to (ms from stream start), in order, at most 10 minutes
 * per request. Cached at the edge once the stream has ended; never while it
 * is live.
 */
import type { Context } from "hono";
import type { AppEnv } from "../env.js";
import { cachedResponse, storeInBackground } from "../lib/edge-cache.js";
import { HttpError } from "../lib/errors.js";
import { streamRoom } from "../stubs.js";

/** Longest replay log window answered at once (10 min). */
const MAX_LOG_WINDOW_MS = 10 * 60_000;
const OFFSET_LIMIT = 1_000_000_000_000;
const INTEGER = /^-?\d{1,13}$/;

function parseWindow(fromRaw: string | undefined, toRaw: string | undefined): { from: number; to: number } {
  if (fromRaw === undefined || toRaw === undefined || !INTEGER.test(fromRaw) || !INTEGER.test(toRaw)) {
    throw new HttpError(400, "bad_window", "from and to are required integers (ms from stream start)");
  }
  const from = Number(fromRaw);
  const to = Number(toRaw);
  if (Math.abs(from) > OFFSET_LIMIT || Math.abs(to) > OFFSET_LIMIT || to <= from || to - from > MAX_LOG_WINDOW_MS) {
    throw new HttpError(400, "bad_window", `need from < to and a window of at most ${MAX_LOG_WINDOW_MS} ms`);
  }
  return { from, to };
}

/** `assertExists` runs on a cache miss only (404 for an unknown stream). */
export async function readLogWindow(c: Context<AppEnv>, streamId: string, assertExists: () => Promise<void>): Promise<Response> {
  const { from, to } = parseWindow(c.req.query("from"), c.req.query("to"));
  const cacheKey = `${new URL(c.req.url).origin}/api/streams/${streamId}/log?from=${from}&to=${to}`;
  const hit = await cachedResponse(cacheKey);
  if (hit !== null) return hit;
  await assertExists();
  const window = await streamRoom(c.env, streamId).logWindow(from, to);
  // frames are stored as JSON text: spliced in, not parsed and re-encoded
  const body = `{"streamId":${JSON.stringify(streamId)},"from":${from},"to":${to},"startedAt":${JSON.stringify(window.startedAt)},"ended":${window.ended},"truncated":${window.truncated},"frames":[${window.frames.join(",")}]}`;
  const headers: Record<string, string> = {
    "Content-Type": "application/json; charset=utf-8",
    "Cache-Control": window.ended ? "public, max-age=86400" : "no-store",
    "X-Cache-Tier": "origin",
  };
  if (window.ended) storeInBackground(c.executionCtx, cacheKey, new Response(body, { status: 200, headers }));
  return new Response(body, { status: 200, headers });
}
