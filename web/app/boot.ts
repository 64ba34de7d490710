/**
 * Runs first in every page bundle (import it before anything else): keeps the
 * CSP nonce of this response, which scripts/vendor.mjs makes media-chrome put
 * on its shadow-root <style> blocks (the CSP has no 'unsafe-inline').
 * `document.currentScript` is only set while the bundle's top level runs.
 * Also gives every <video> of the page its rendition list before media-chrome
 * looks at it (web/player/renditions.ts).
 */
declare global {
  // eslint-disable-next-line no-var
  var __edgeStyleNonce: string | undefined;
}

import { renditionsOf } from "../player/renditions.js";

const script = document.currentScript as HTMLScriptElement | null;
globalThis.__edgeStyleNonce = script?.nonce || document.querySelector<HTMLScriptElement>("script[nonce]")?.nonce || "";

// The quality menu reads video.videoRenditions when media-chrome first sees the element: put it there now.
for (const video of document.querySelectorAll("video")) renditionsOf(video);
