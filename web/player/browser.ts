/**
 * Entry of the browser bundle public/player/player.js (esbuild, IIFE; built
 * by scripts/vendor.mjs). Load it after /vendor/hls.min.js. It exposes
 * `window.EdgePlayer` for pages that drive a player themselves (the replay
 * page, the benchmark page) and mounts the watch page when the document has
 * `<main data-edge-player="watch">` (the CSP forbids inline boot scripts).
 */
import { ClockOffsetEstimator, ServerClock, timeEndpoint } from "./clock-offset.js";
import { createPlayer } from "./player.js";
import { RevealScheduler } from "./reveal.js";
import { DEFAULT_SYNC_CONFIG, SyncController, TARGET_DELAY_MARGIN, targetDelayFromPlaylist } from "./sync-controller.js";
import { mountWatchPage } from "./watch-page.js";

const EdgePlayer = {
  createPlayer,
  mountWatchPage,
  SyncController,
  DEFAULT_SYNC_CONFIG,
  TARGET_DELAY_MARGIN,
  targetDelayFromPlaylist,
  RevealScheduler,
  ClockOffsetEstimator,
  ServerClock,
  timeEndpoint,
};

declare global {
  interface Window {
    EdgePlayer?: typeof EdgePlayer;
  }
}

window.EdgePlayer = EdgePlayer;

const watchRoot = document.querySelector<HTMLElement>("[data-edge-player=watch]");
if (watchRoot) mountWatchPage(watchRoot, location.search);
