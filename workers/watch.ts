/**
 * GET /watch/:streamId — the viewer's page: the app bundle (/player/watch.js,
 * built from web/app/ and web/player/ by scripts/vendor.mjs) drives hls.js
 * (/vendor/hls.min.js) in low-latency mode with the sync controller on
 * /live/<id>/master.m3u8 (`?sync=0` turns the controller off), inside
 * media-chrome controls, with the stream's chat, poll and scorebug. No inline
 * script: the bundle finds `data-edge-player="watch"` and reads the stream id,
 * source, status and event from data- attributes. Also the CSP and the
 * player-page helper of the replay page.
 */
import type { Context } from "hono";
import { isValidStreamId } from "../common/hls-paths.js";
import type { AppEnv } from "./env.js";
import { errorResponse } from "./lib/errors.js";
import { streamExists } from "./lib/stream-directory.js";
import { escapeText, htmlResponse, newNonce, shell } from "./pages.js";
import { findStream } from "./streams/repository.js";

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

/** HTML-escapes text for attributes and content (also the replay page's). */
export const escapeHtml = escapeText;

export interface WatchPageData {
  streamId: string;
  title: string;
  status: string;
  eventId: string | null;
}

/**
 * The watch page's shell (web/app/watch/: controls, scorebug, chat, poll,
 * states). The player and sync behaviour are web/player's, unchanged: the
 * first <video> of the page, `window.__player` / `window.__edgePlayer`,
 * `?sync=0`.
 */
export function watchPage(data: WatchPageData, nonce: string): string {
  const id = escapeHtml(data.streamId);
  const src = escapeHtml(`/live/${data.streamId}/master.m3u8`);
  const title = data.title.trim() || "Live stream";
  return shell({
    title: `${title} · Live`,
    bodyClass: "page watch",
    nonce,
    scripts: ["/vendor/hls.min.js", "/player/watch.js"],
    body: `<header class="topbar">
<a class="brand" href="/"><span class="brand-dot" aria-hidden="true"></span>edge live</a>
<h1 id="title" class="stream-title">${escapeHtml(title)}</h1>
<span id="state-pill" class="pill" role="status">…</span>
<span id="viewers" class="viewers"></span>
</header>
<main id="player" class="watch-main" data-edge-player="watch" data-stream-id="${id}" data-src="${src}" data-status="${escapeHtml(data.status)}" data-event-id="${escapeHtml(data.eventId ?? "")}">
<section class="stage" aria-label="Video">
<div id="scorebug" class="scorebug" hidden></div>
<div class="video-wrap">
<media-controller class="mc" autohide="2">
<video id="video" muted autoplay playsinline slot="media" aria-label="Live video"></video>
<media-loading-indicator slot="centered-chrome" noautohide></media-loading-indicator>
<media-rendition-menu hidden anchor="auto"></media-rendition-menu>
<media-control-bar>
<media-play-button></media-play-button>
<media-mute-button></media-mute-button>
<media-volume-range></media-volume-range>
<button id="live" class="live-badge behind" type="button">GO LIVE</button>
<span class="bar-spacer"></span>
<media-rendition-menu-button aria-label="Quality"></media-rendition-menu-button>
<media-pip-button></media-pip-button>
<media-fullscreen-button></media-fullscreen-button>
</media-control-bar>
</media-controller>
<div id="overlay" class="overlay" hidden></div>
<div id="notice" class="notice" role="status" hidden><span id="notice-text"></span><button id="notice-close" type="button" aria-label="Dismiss notice">×</button></div>
<div id="floaters" class="floaters" aria-hidden="true"></div>
<div id="toasts" class="toasts" aria-live="polite"></div>
</div>
<div class="under-video">
<button id="like" class="button like" type="button" aria-label="Like"><span aria-hidden="true">♥</span> Like <span id="likes" class="count"></span></button>
<p id="status" data-role="status" class="status-line">Loading…</p>
</div>
<section id="also" class="also" hidden></section>
</section>
<aside class="side" aria-label="Chat and poll">
<section id="poll" class="card poll" aria-label="Poll" hidden></section>
<section id="chat" class="card chat" aria-label="Chat"></section>
</aside>
</main>`,
  });
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

export async function handleWatch(c: Context<AppEnv>): Promise<Response> {
  const streamId = c.req.param("streamId") ?? "";
  if (!isValidStreamId(streamId)) return errorResponse(400, "bad_stream_id", "stream id must match [a-z0-9]{8,32}");
  const stream = await findStream(c.env.DB, streamId);
  if (stream === undefined) return errorResponse(404, "unknown_stream", "no such stream");
  const nonce = newNonce();
  return htmlResponse(watchPage({ streamId, title: stream.title, status: stream.status, eventId: stream.eventId }, nonce), nonce);
}
