/**
 * GET /watch/:streamId — minimal player page: the shared player bundle
 * (/player/player.js, built from web/player/ by scripts/vendor.mjs) drives
 * hls.js (/vendor/hls.min.js) in low-latency mode with the sync controller on
 * /live/<id>/master.m3u8 (`?sync=0` turns the controller off). The page has no
 * inline script: the bundle finds `data-edge-player="watch"` and reads the
 * stream id and source from data- attributes, so the CSP can forbid inline code.
 */
import type { Context } from "hono";
import { isValidStreamId } from "../common/hls-paths.js";
import type { AppEnv } from "./env.js";
import { errorResponse } from "./lib/errors.js";
import { streamExists } from "./lib/stream-directory.js";

export const WATCH_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "media-src 'self' blob:",
  "img-src 'self' data:",
  "style-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`=/]/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

export function watchPage(streamId: string): string {
  const id = escapeHtml(streamId);
  const src = escapeHtml(`/live/${streamId}/master.m3u8`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Live: ${id}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/watch/watch.css">
</head>
<body>
<main id="player" data-edge-player="watch" data-stream-id="${id}" data-src="${src}">
<video id="video" muted autoplay playsinline controls></video>
<p id="status" data-role="status" role="status">Loading…</p>
</main>
<script src="/vendor/hls.min.js"></script>
<script src="/player/player.js"></script>
</body>
</html>
`;
}

/**
 * Serves an HTML page about one known stream (watch, replay): 400 for a
 * malformed id, 404 for an unknown stream, strict CSP (no inline script).
 */
export async function servePlayerPage(c: Context<AppEnv>, render: (streamId: string) => string): Promise<Response> {
  const streamId = c.req.param("streamId") ?? "";
  if (!isValidStreamId(streamId)) return errorResponse(400, "bad_stream_id", "stream id must match [a-z0-9]{8,32}");
  if (!(await streamExists(c.env.DB, streamId))) return errorResponse(404, "unknown_stream", "no such stream");
  return new Response(render(streamId), {
    status: 200,
    headers: {
      "Content-Type": "text/html; charset=utf-8",
      "Cache-Control": "no-cache",
      "Content-Security-Policy": WATCH_CSP,
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
    },
  });
}

export function handleWatch(c: Context<AppEnv>): Promise<Response> {
  return servePlayerPage(c, watchPage);
}
