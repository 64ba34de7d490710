/**
 * The HTML shells of the app pages: `/` (directory), `/studio`, and the
 * shared shell the watch page uses (workers/watch.ts). Each is a small static
 * document: the bundles (public/player/{directory,studio,watch}.js, built
 * from web/app/ by scripts/vendor.mjs) render everything from the API and the
 * sockets, and every user- or provider-supplied text goes in as text.
 *
 * CSP: no inline script (every script is 'self'); styles from 'self' plus a
 * per-response nonce, which the bundles put on media-chrome's shadow-root
 * <style> blocks (there is no 'unsafe-inline' anywhere).
 */
import type { Context } from "hono";
import type { AppEnv } from "./env.js";
import { randomString } from "./lib/random.js";

const NONCE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

export function newNonce(): string {
  return randomString(22, NONCE_ALPHABET);
}

export function pageCsp(nonce: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "worker-src 'self' blob:",
    "connect-src 'self'",
    "media-src 'self' blob:",
    "img-src 'self' data: blob:",
    `style-src 'self' 'nonce-${nonce}'`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

export function escapeText(value: string): string {
  return value.replace(/[&<>"'`=/]/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

export interface Shell {
  title: string;
  bodyClass: string;
  /** trusted markup: built here from constants and escaped values only */
  body: string;
  scripts: string[];
  nonce: string;
}

export function shell({ title, bodyClass, body, scripts, nonce }: Shell): string {
  // script paths are constants of this file and workers/watch.ts, never user input
  const tags = scripts.map((src) => `<script nonce="${nonce}" src="${src}"></script>`).join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="dark">
<title>${escapeText(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/app/app.css">
</head>
<body class="${bodyClass}">
${body}
${tags}
</body>
</html>
`;
}

export function htmlResponse(html: string, nonce: string, status = 200): Response {
  return new Response(html, {
    status,
    headers: {
      "Content-Type": "text/html; charset=utf-8",
      "Cache-Control": "no-store",
      "Content-Security-Policy": pageCsp(nonce),
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
    },
  });
}

const topbar = (extra = "") => `<header class="topbar">
<a class="brand" href="/"><span class="brand-dot" aria-hidden="true"></span>edge live</a>
<nav class="nav" aria-label="Main"><a href="/">Watch</a><a href="/studio">Studio</a></nav>${extra}
</header>`;

export function directoryPage(nonce: string): string {
  return shell({
    title: "Live now · edge live",
    bodyClass: "page directory",
    nonce,
    scripts: ["/player/directory.js"],
    body: `${topbar()}
<main id="directory" class="directory-main" data-page="directory">
<h1 class="page-title">Live now</h1>
<p id="dir-status" class="muted" role="status">Loading…</p>
<div id="live-groups" class="groups"></div>
<button id="more-live" class="button" type="button" hidden>More live streams</button>
<h2 class="section-title">Recent replays</h2>
<ul id="replays" class="cards" aria-label="Recent replays"></ul>
<button id="more-replays" class="button" type="button" hidden>More replays</button>
</main>`,
  });
}

export function studioPage(nonce: string): string {
  return shell({
    title: "Studio · edge live",
    bodyClass: "page studio",
    nonce,
    scripts: ["/vendor/hls.min.js", "/player/studio.js"],
    body: `${topbar('<span id="who" class="who"></span>')}
<main id="studio" class="studio-main" data-page="studio">
<h1 class="page-title">Studio</h1>
<section id="signin" class="card narrow" aria-labelledby="signin-title">
<h2 id="signin-title" class="panel-title">Sign in</h2>
<form id="signin-form" class="stack">
<label for="api-key">API key</label>
<input id="api-key" name="apiKey" type="password" autocomplete="off" required spellcheck="false">
<p class="muted">Kept in this tab only (session storage). <code>npm start</code> prints the dev broadcaster's key.</p>
<p id="signin-error" class="error" role="alert" hidden></p>
<button class="button primary" type="submit">Sign in</button>
</form>
</section>
<div id="workspace" hidden></div>
</main>`,
  });
}

export function handleDirectory(_c: Context<AppEnv>): Response {
  const nonce = newNonce();
  return htmlResponse(directoryPage(nonce), nonce);
}

export function handleStudio(_c: Context<AppEnv>): Response {
  const nonce = newNonce();
  return htmlResponse(studioPage(nonce), nonce);
}
