/**
 * Bundle entry of the watch page (public/player/watch.js, scripts/vendor.mjs).
 * Load after /vendor/hls.min.js. boot.ts first: the CSP nonce and the
 * rendition list must be in place before media-chrome defines its elements.
 */
import "./boot.js";
import "./media-chrome.js";
import { WatchApp } from "./watch/app.js";

declare global {
  interface Window {
    __watch?: WatchApp;
  }
}

const root = document.querySelector<HTMLElement>("[data-edge-player=watch]");
if (root) window.__watch = new WatchApp(root);
