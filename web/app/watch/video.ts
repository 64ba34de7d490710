/**
 * The watch page's video: the shared player (web/player: hls.js LL-HLS + sync
 * controller) inside media-chrome's controls, a LIVE badge that shows when
 * the playhead is behind the common sync target and jumps back to it, the
 * quality list (web/player/renditions.ts) and the player's telemetry.
 */
import type Hls from "hls.js";
import { createPlayer, type Player, type PlayerState } from "../../player/player.js";
import { renditionsOf } from "../../player/renditions.js";

/** Within this of the sync target (s) the badge says LIVE; behind it, it offers to go back. */
const LIVE_BAND_S = 1.5;

export interface TelemetrySample {
  bitrateKbps?: number;
  stallMs?: number;
  bufferMs?: number;
  latencyMs?: number;
  droppedFrames?: number;
}

export class WatchVideo {
  player: Player | null = null;
  private stallStartedAt: number | null = null;
  private stallMs = 0;
  private readonly liveButton: HTMLButtonElement;

  constructor(
    readonly video: HTMLVideoElement,
    liveButton: HTMLButtonElement,
    private readonly sync: boolean,
    private readonly onTick: (state: PlayerState) => void,
  ) {
    this.liveButton = liveButton;
    liveButton.addEventListener("click", () => this.goLive());
    // a stall: waiting after playback has started, until it plays again; a seek's short wait
    // (the sync controller's join seek, the LIVE button) is not a stall
    video.addEventListener("waiting", () => {
      if (this.player && video.currentTime > 0 && !video.seeking) this.stallStartedAt ??= performance.now();
    });
    video.addEventListener("playing", () => this.endStall());
  }

  get renditions() {
    return renditionsOf(this.video);
  }

  /** Starts playing `src` (again after a switch of stream). */
  start(src: string, streamId: string): Player {
    this.stop();
    const player = createPlayer({ video: this.video, src, streamId, sync: this.sync, onTick: (s) => this.tick(s) });
    this.player = player;
    if (player.hls) this.renditions.attach(player.hls);
    window.__player = player.state;
    window.__edgePlayer = player;
    return player;
  }

  stop(): void {
    if (!this.player) return;
    this.player.destroy();
    this.renditions.detach();
    this.player = null;
    this.video.removeAttribute("src");
    this.video.load();
  }

  /** Calls `callback` once, when hls.js next switches level (a cap's effect), or after `timeoutMs`. */
  onceLevelSwitched(callback: () => void, timeoutMs = 8_000): void {
    const hls = this.player?.hls;
    const HlsCtor = (globalThis as { Hls?: typeof Hls }).Hls;
    if (!hls || !HlsCtor) return;
    let done = false;
    const fire = () => {
      if (done) return;
      done = true;
      hls.off(HlsCtor.Events.LEVEL_SWITCHED, fire);
      callback();
    };
    hls.on(HlsCtor.Events.LEVEL_SWITCHED, fire);
    setTimeout(fire, timeoutMs);
  }

  private endStall(): void {
    if (this.stallStartedAt !== null) this.stallMs += performance.now() - this.stallStartedAt;
    this.stallStartedAt = null;
  }

  private tick(state: PlayerState): void {
    const behind = state.sync ? state.offsetToTarget !== null && state.offsetToTarget < -LIVE_BAND_S : (state.latency ?? 0) > 6;
    const live = state.playing && !behind;
    this.liveButton.classList.toggle("behind", !live);
    this.liveButton.textContent = live ? "LIVE" : "GO LIVE";
    this.liveButton.setAttribute("aria-label", live ? "Live: at the live point" : "Behind live: jump to the live point");
    this.onTick(state);
  }

  /** Back to the common target: the server clock minus the playlist's target delay. */
  goLive(): void {
    const player = this.player;
    if (!player) return;
    void this.video.play().catch(() => {});
    const pt = player.programTime();
    const { clock, state } = player;
    if (pt !== null && clock?.offset != null && state.targetDelay !== null) {
      const target = clock.now() - state.targetDelay * 1000;
      this.video.currentTime += (target - pt) / 1000;
    } else if (player.hls?.liveSyncPosition) {
      this.video.currentTime = player.hls.liveSyncPosition;
    }
  }

  /** One telemetry report (the room aggregates per group; never broadcast). */
  telemetry(): TelemetrySample | null {
    const player = this.player;
    if (!player) return null;
    const s = player.state;
    if (this.stallStartedAt !== null) {
      // count the part of an ongoing stall that fell in this interval
      const now = performance.now();
      this.stallMs += now - this.stallStartedAt;
      this.stallStartedAt = now;
    }
    const sample: TelemetrySample = { stallMs: Math.round(this.stallMs), bufferMs: Math.round(s.buffered * 1000) };
    this.stallMs = 0;
    const level = player.hls && s.level >= 0 ? player.hls.levels[s.level] : undefined;
    if (level?.bitrate) sample.bitrateKbps = Math.round(level.bitrate / 1000);
    const pt = player.programTime();
    if (pt !== null && player.clock?.offset != null) sample.latencyMs = Math.max(0, Math.round(player.clock.now() - pt));
    const quality = this.video.getVideoPlaybackQuality?.();
    if (quality) sample.droppedFrames = quality.droppedVideoFrames;
    return sample;
  }
}
