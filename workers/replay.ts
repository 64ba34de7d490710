/**
 * GET /replay/:streamId — replay page: hls.js plays the recording
 * (/vod/<id>/index.m3u8) and public/replay/replay.js recreates chat and the
 * scorebug from the stream's log, in time with the video (seeds/000 III.5).
 * Same strict CSP as the watch page (no inline script).
 */
import type { Context } from "hono";
import { isValidStreamId } from "../common/hls-paths.js";
import type { AppEnv } from "./env.js";
import { errorResponse } from "./lib/errors.js";
import { streamExists } from "./lib/stream-directory.js";
import { WATCH_CSP, escapeHtml } from "./watch.js";

export function replayPage(streamId: string): string {
  const id = escapeHtml(streamId);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Replay: ${id}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/replay/replay.css">
</head>
<body>
<main id="replay" data-stream-id="${id}">
<div id="scorebug" aria-live="polite"></div>
<video id="video" muted playsinline controls></video>
<p id="status" role="status">Loading…</p>
<ol id="chat" aria-label="chat"></ol>
</main>
<script src="/vendor/hls.min.js"></script>
<script src="/replay/replay.js"></script>
</body>
</html>
`;
}

export async function handleReplay(c: Context<AppEnv>): Promise<Response> {
  const streamId = c.req.param("streamId") ?? "";
  if (!isValidStreamId(streamId)) return errorResponse(400, "bad_stream_id", "stream id must match [a-z0-9]{8,32}");
  if (!(await streamExists(c.env.DB, streamId))) return errorResponse(404, "unknown_stream", "no such stream");
  return new Response(replayPage(streamId), {
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
