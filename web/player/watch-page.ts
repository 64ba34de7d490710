/**
 * The watch page (/watch/<streamId>, HTML in workers/watch.ts): mounts the
 * shared player on `<main data-edge-player="watch" data-src data-stream-id>`,
 * publishes its state on `window.__player` (the Player on `window.__edgePlayer`)
 * and keeps a one-line status.
 * `?sync=0` turns the sync controller off (the benchmark compares both).
 */
import { createPlayer, type Player, type PlayerState } from "./player.js";

declare global {
  interface Window {
    /** Serializable state, refreshed every tick (tests, telemetry). */
    __player?: PlayerState;
    /** The watch page's Player itself (revealAt, programTime) for scripts on the page and browser tests. */
    __edgePlayer?: Player;
  }
}

export function mountWatchPage(root: HTMLElement, search: string): Player | null {
  const video = root.querySelector("video");
  const status = root.querySelector<HTMLElement>("[data-role=status]");
  const src = root.getAttribute("data-src");
  if (!video || !src) return null;
  const sync = new URLSearchParams(search).get("sync") !== "0";
  const player = createPlayer({
    video,
    src,
    streamId: root.getAttribute("data-stream-id"),
    sync,
    onTick: (state) => {
      if (status) status.textContent = statusLine(state);
    },
  });
  window.__player = player.state;
  window.__edgePlayer = player;
  if (!player.state.engine && status) status.textContent = "This browser cannot play HLS.";
  return player;
}

/** One line, e.g. "playing · sync locked +0.012 s · rate 1.000 · delay 1.25 s · level 0". */
export function statusLine(state: PlayerState): string {
  const parts = [state.playing ? "playing" : "waiting"];
  if (state.sync) {
    const offset = state.offsetToTarget;
    parts.push(`sync ${state.syncState}${offset === null ? "" : ` ${offset >= 0 ? "+" : "−"}${Math.abs(offset).toFixed(3)} s`}`);
    parts.push(`rate ${state.playbackRate.toFixed(3)}`);
  } else {
    parts.push("sync off");
  }
  if (state.targetDelay !== null) parts.push(`delay ${state.targetDelay.toFixed(2)} s`);
  if (state.level >= 0) parts.push(`level ${state.level}`);
  if (state.stalls > 0) parts.push(`stalls ${state.stalls}`);
  return parts.join(" · ");
}
