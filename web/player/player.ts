/**
 * The one player every page uses: hls.js (the global `Hls` from
 * /vendor/hls.min.js, loaded before this bundle) in low-latency mode, plus
 * the sync controller (sync-controller.ts) fed from the server clock
 * (clock-offset.ts, `GET /api/time`) and the playhead's program time, plus
 * the reveal scheduler (reveal.ts) bound to that playhead.
 *
 * hls.js's own live catch-up is neutralised while sync is on, because two
 * controllers on one playhead fight (hls.js 1.7 latency-controller.ts):
 * - `maxLiveSyncPlaybackRate: 1`: hls.js never touches playbackRate (with a
 *   value > 1 it only speeds up, and resets any rate it did not set to 1);
 * - `liveSyncOnStallIncrease: 0`: hls.js raises its target latency by this
 *   much per stall (1 s by default), which would leave a permanent offset
 *   for its start and re-sync position;
 * - `liveMaxLatencyDuration(Count)` stays at its default (Infinity): hls.js
 *   only jumps when the playhead falls out of the playlist window; seeks are
 *   ours.
 * With `sync: false` hls.js runs with its stock low-latency behaviour (what
 * the benchmark compares against).
 */
import type Hls from "hls.js";
import type { ErrorData, HlsConfig, LevelUpdatedData } from "hls.js";
import { ServerClock, timeEndpoint } from "./clock-offset.js";
import { RevealScheduler, type RevealHandle, type RevealInfo, type RevealOptions } from "./reveal.js";
import { SyncController, targetDelayFromPlaylist, type SyncConfig, type SyncState } from "./sync-controller.js";

/** window.__player: plain, serializable values only (browser tests, telemetry). */
export interface PlayerState {
  streamId: string | null;
  src: string;
  engine: "hls.js" | "native" | null;
  /** video.currentTime, s. */
  currentTime: number;
  /** hls.js's latency estimate (s behind its estimated live edge), null when unknown. */
  latency: number | null;
  level: number;
  levels: number;
  playing: boolean;
  /** Seconds buffered ahead of the playhead. */
  buffered: number;
  /** Program time at the playhead, ms (EXT-X-PROGRAM-DATE-TIME, the server's clock domain). */
  programDateTime: number | null;
  errors: Array<{ type: string; details: string; fatal: boolean }>;
  /** Whether the sync controller is enabled (`?sync=0` turns it off on the watch page). */
  sync: boolean;
  syncState: SyncState;
  /** s, + ahead of / − behind the common target; null when unknown. */
  offsetToTarget: number | null;
  playbackRate: number;
  /** Playback stalls (hls.js BUFFER_STALLED_ERROR; `waiting` after start for native HLS). */
  stalls: number;
  /** Seeks issued by the sync controller. */
  seeks: number;
  /** Target delay behind the program clock, s (from the playlist), null until known. */
  targetDelay: number | null;
  /** Server − local clock, ms (NTP-style estimate), null until the first sample. */
  clockOffset: number | null;
  /** Round trip of the clock sample in use, ms (error bound ± rtt/2). */
  clockRtt: number | null;
  /** Local Date.now() when these fields were refreshed (to extrapolate programDateTime to one instant). */
  sampledAt: number;
}

export interface PlayerOptions {
  video: HTMLVideoElement;
  src: string;
  streamId?: string | null;
  /** Live stream (default true). VOD (the replay page): no clock, no sync. */
  live?: boolean;
  /** Run the sync controller (default true for live). */
  sync?: boolean;
  /** Server time endpoint (default /api/time). */
  timeUrl?: string;
  /** Margin added to the playlist's hold-back, s (default TARGET_DELAY_MARGIN). */
  targetMargin?: number;
  syncConfig?: Partial<SyncConfig>;
  /** Extra hls.js config, applied last. */
  hlsConfig?: Partial<HlsConfig>;
  /** Sync/sample period, ms (default 100). */
  tickMs?: number;
  /** Called after every tick with the refreshed state. */
  onTick?: (state: PlayerState) => void;
}

export interface Player {
  readonly hls: Hls | null;
  readonly video: HTMLVideoElement;
  readonly state: PlayerState;
  readonly clock: ServerClock | null;
  readonly controller: SyncController | null;
  /** Program time at the playhead now, ms, or null. */
  programTime(): number | null;
  /** Fires `callback` when the playhead's program time reaches `stamp` (ms, server clock); see reveal.ts. */
  revealAt(stamp: number, callback: (info: RevealInfo) => void, options?: RevealOptions): RevealHandle;
  destroy(): void;
}

type HlsClass = typeof Hls;

export function createPlayer(options: PlayerOptions): Player {
  const { video, src } = options;
  const live = options.live !== false;
  const syncOn = live && options.sync !== false;
  const tickMs = options.tickMs ?? 100;
  const HlsCtor = (globalThis as { Hls?: HlsClass }).Hls;
  const state: PlayerState = {
    streamId: options.streamId ?? null,
    src,
    engine: null,
    currentTime: 0,
    latency: null,
    level: -1,
    levels: 0,
    playing: false,
    buffered: 0,
    programDateTime: null,
    errors: [],
    sync: syncOn,
    syncState: syncOn ? "converging" : "off",
    offsetToTarget: null,
    playbackRate: 1,
    stalls: 0,
    seeks: 0,
    targetDelay: null,
    clockOffset: null,
    clockRtt: null,
    sampledAt: Date.now(),
  };
  const localNow = () => performance.timeOrigin + performance.now();
  const clock = live ? new ServerClock({ fetchServerTime: timeEndpoint(options.timeUrl ?? "/api/time"), localNow }) : null;
  const controller = syncOn ? new SyncController(options.syncConfig) : null;
  const reveal = new RevealScheduler();
  let hls: Hls | null = null;
  let isLive: boolean | null = null;
  let revealTimer: ReturnType<typeof setTimeout> | null = null;
  const cleanups: Array<() => void> = [];

  const pushError = (type: string, details: string, fatal: boolean) => {
    state.errors.push({ type, details, fatal });
    if (state.errors.length > 50) state.errors.shift();
  };

  if (HlsCtor && HlsCtor.isSupported()) {
    state.engine = "hls.js";
    const base: Partial<HlsConfig> = live ? { lowLatencyMode: true, backBufferLength: 30 } : {};
    const neutralise: Partial<HlsConfig> = syncOn ? { maxLiveSyncPlaybackRate: 1, liveSyncOnStallIncrease: 0 } : {};
    const player = new HlsCtor({ ...base, ...neutralise, ...options.hlsConfig });
    hls = player;
    player.on(HlsCtor.Events.LEVEL_UPDATED, (_event: string, data: LevelUpdatedData) => {
      const d = data.details;
      isLive = d.live;
      state.targetDelay = d.live
        ? targetDelayFromPlaylist(
            { partHoldBack: d.partHoldBack, holdBack: d.holdBack, targetDuration: d.targetduration },
            options.targetMargin,
          )
        : null;
    });
    player.on(HlsCtor.Events.ERROR, (_event: string, data: ErrorData) => {
      if (data.details === HlsCtor.ErrorDetails.BUFFER_STALLED_ERROR) state.stalls++;
      pushError(data.type, data.details, !!data.fatal);
      if (data.fatal) {
        if (data.type === HlsCtor.ErrorTypes.NETWORK_ERROR) player.startLoad();
        else if (data.type === HlsCtor.ErrorTypes.MEDIA_ERROR) player.recoverMediaError();
      }
    });
    player.loadSource(src);
    player.attachMedia(video);
  } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
    // Native HLS (Safari): plays, program time via getStartDate(); the playlist's
    // hold-back is not exposed, so the sync controller stays off.
    state.engine = "native";
    state.syncState = "off";
    video.src = src;
    let started = false;
    const onPlaying = () => (started = true);
    const onWaiting = () => {
      if (started) state.stalls++;
    };
    video.addEventListener("playing", onPlaying);
    video.addEventListener("waiting", onWaiting);
    cleanups.push(
      () => video.removeEventListener("playing", onPlaying),
      () => video.removeEventListener("waiting", onWaiting),
    );
  }

  function programTime(): number | null {
    if (hls) return hls.playingDate?.getTime() ?? null;
    const start = (video as HTMLVideoElement & { getStartDate?: () => Date }).getStartDate?.();
    const ms = start?.getTime();
    return ms !== undefined && Number.isFinite(ms) ? ms + video.currentTime * 1000 : null;
  }

  function bufferedAhead(): number {
    const t = video.currentTime;
    const ranges = video.buffered;
    for (let i = 0; i < ranges.length; i++) {
      // small tolerance: the playhead can sit a few ms before a range start after a seek
      if (ranges.start(i) <= t + 0.05 && t <= ranges.end(i)) return ranges.end(i) - t;
    }
    return 0;
  }

  function steer(pt: number | null): void {
    if (!controller || state.engine !== "hls.js") return;
    if (isLive === false) {
      state.syncState = "off";
      return;
    }
    if (clock?.offset === null || clock === null) return; // converging: no server clock yet
    const decision = controller.update({
      now: clock.now(),
      programTime: pt,
      bufferedAhead: state.buffered,
      targetDelay: state.targetDelay,
      playing: state.playing,
    });
    state.syncState = decision.state;
    state.offsetToTarget = decision.offset === null ? null : Math.round(decision.offset * 1000) / 1000;
    if (decision.seekTo !== null && pt !== null) {
      video.currentTime = video.currentTime + (decision.seekTo - pt) / 1000;
    }
    if (Math.abs(video.playbackRate - decision.rate) > 1e-4) video.playbackRate = decision.rate;
    state.seeks = controller.seeks;
  }

  function fireReveals(): void {
    const pt = programTime();
    if (pt !== null) reveal.update(pt);
    armRevealTimer(pt);
  }

  // A timer for the next stamp due before the next tick, so reveals are on time, not a tick late.
  function armRevealTimer(pt: number | null): void {
    if (revealTimer !== null) clearTimeout(revealTimer);
    revealTimer = null;
    const next = reveal.nextStamp();
    if (next === null || pt === null || !state.playing || video.playbackRate <= 0) return;
    const dueIn = (next - pt) / video.playbackRate;
    if (dueIn < tickMs) revealTimer = setTimeout(fireReveals, Math.max(0, dueIn));
  }

  function tick(): void {
    state.currentTime = video.currentTime;
    state.playing = !video.paused && video.readyState > 2;
    state.buffered = Math.round(bufferedAhead() * 1000) / 1000;
    if (hls) {
      const latency = hls.latency;
      state.latency = typeof latency === "number" && Number.isFinite(latency) && latency > 0 ? latency : null;
      state.level = hls.currentLevel;
      state.levels = hls.levels ? hls.levels.length : 0;
    }
    const pt = programTime();
    state.programDateTime = pt;
    if (clock) {
      state.clockOffset = clock.offset === null ? null : Math.round(clock.offset * 10) / 10;
      state.clockRtt = clock.rtt;
    }
    steer(pt);
    fireReveals();
    state.playbackRate = video.playbackRate;
    state.sampledAt = Date.now();
    options.onTick?.(state);
  }

  const interval = setInterval(tick, tickMs);
  const playPromise = video.play();
  if (playPromise) playPromise.catch(() => {});

  return {
    get hls() {
      return hls;
    },
    video,
    state,
    clock,
    controller,
    programTime,
    revealAt(stamp, callback, revealOptions) {
      // Bring the scheduler to the playhead first, so "already past" is judged against now, not the last tick.
      const pt = programTime();
      if (pt !== null) reveal.update(pt);
      const handle = reveal.at(stamp, callback, revealOptions);
      armRevealTimer(pt);
      return handle;
    },
    destroy() {
      clearInterval(interval);
      if (revealTimer !== null) clearTimeout(revealTimer);
      reveal.clear();
      clock?.stop();
      hls?.destroy();
      for (const cleanup of cleanups) cleanup();
    },
  };
}
