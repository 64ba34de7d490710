/**
 * GET /replay/:streamId — replay page: hls.js plays the recording
 * (/vod/<id>/index.m3u8) and public/replay/replay.js recreates chat and the
 * scorebug from the stream's log, in time with the video (README "Replay").
 * Same strict CSP as the watch page (no inline script).
 */
import type { Context } from "hono";
import type { AppEnv } from "./env.js";
import { escapeHtml, servePlayerPage } from "./watch.js";

function replayPage(streamId: string): string {
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

export function handleReplay(c: Context<AppEnv>): Promise<Response> {
  return servePlayerPage(c, replayPage);
}
