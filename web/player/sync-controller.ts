/**
 * Sync controller: steers one viewer's playhead onto the program time every
 * viewer of the stream aims at, `targetProgramTime = serverNow − targetDelay`,
 * where program time is the stream's EXT-X-PROGRAM-DATE-TIME (the wall clock
 * of capture at ingest, in the server's clock domain).
 *
 * Pure: no DOM, no timers, no clock of its own. The caller feeds it, every
 * tick (≈100 ms), the server time, the playhead's program time, the forward
 * buffer and the target delay, and applies what comes back (a playback rate
 * and, rarely, a seek). The browser player (player.ts) and the Node simulated
 * viewers run this same code.
 *
 * Control law, offset e = programTime − targetProgramTime in seconds (+ ahead):
 *   - |e| > seekThreshold (1 s; 0.25 s until the first lock, so joiners get
 *     there at once instead of steering for seconds): seek to the target (plus `seekLead` when the target lies
 *     beyond the buffer, since loading takes time while the target keeps
 *     moving), then no other seek for `seekCooldownMs`.
 *   - converging: rate = 1 − sign(e)·clamp(gain·|e|, minStep, maxRate−1),
 *     until |e| ≤ lockBand → locked at rate 1.
 *   - locked: rate 1 while |e| ≤ deadBand (hysteresis: lockBand < deadBand,
 *     so the rate does not flap at the edge of the band).
 *   - never speeds up with less than `minBufferAhead` buffered (that would only
 *     buy a stall); slowing down is always safe;
 *   - while not playing (stalled, paused) it does not steer, but still seeks
 *     when far off, once playback has started at least once.
 * The target is absolute (server clock − delay), so a stall leaves the viewer
 * behind by the stall's length and the same law brings it back: there is no
 * per-stall target increase and no permanent drift.
 */

export type SyncState = "converging" | "locked" | "seeking" | "off";

export interface SyncConfig {
  /** Slowest playback rate used to fall back onto the target. */
  minRate: number;
  /** Fastest playback rate used to catch up. */
  maxRate: number;
  /** Rate change per second of offset (0.5: 0.1 s off → 5 %). */
  gain: number;
  /** Smallest rate change while converging (s/s), so the last ms do not take forever. */
  minStep: number;
  /** A locked viewer starts correcting again beyond this offset (s). */
  deadBand: number;
  /** A converging viewer locks (rate 1) within this offset (s). */
  lockBand: number;
  /**
   * Seek instead of steering beyond this offset (s), once locked at least once.
   * 1 s: at ±5 % a larger offset takes over 20 s to steer away (a 2 s stall
   * would leave the viewer out of sync for 40 s); a seek forward after a stall
   * lands in what was buffered meanwhile.
   */
  seekThreshold: number;
  /** Seek threshold (s) before the first lock: a joiner jumps to the target. */
  joinSeekThreshold: number;
  /** No second seek within this time (ms of `now`) after a seek. */
  seekCooldownMs: number;
  /** Extra lead (s) when seeking past the buffered range (loading takes time). */
  seekLead: number;
  /** Never speed up with less than this buffered ahead of the playhead (s). */
  minBufferAhead: number;
  /** Rates are rounded to this step, so tiny changes do not churn the media element. */
  rateStep: number;
}

export const DEFAULT_SYNC_CONFIG: Readonly<SyncConfig> = Object.freeze({
  minRate: 0.95,
  maxRate: 1.05,
  gain: 0.5,
  minStep: 0.01,
  deadBand: 0.04,
  lockBand: 0.008,
  seekThreshold: 1,
  joinSeekThreshold: 0.25,
  seekCooldownMs: 3000,
  seekLead: 0.2,
  minBufferAhead: 0.3,
  rateStep: 0.005,
});

export interface SyncInput {
  /** Server time now, ms (local clock + estimated offset). */
  now: number;
  /** Program time at the playhead, ms (EXT-X-PROGRAM-DATE-TIME domain); null when unknown. */
  programTime: number | null;
  /** Seconds buffered ahead of the playhead (contiguous). */
  bufferedAhead: number;
  /** Target delay behind the program clock, seconds; null when unknown. */
  targetDelay: number | null;
  /** False while paused, stalled or not started: no steering (rate 1); only a far-off playhead is sought, once it has played. */
  playing?: boolean;
}

export interface SyncDecision {
  /** Playback rate to apply. */
  rate: number;
  /** Program time (ms) to seek to, or null. */
  seekTo: number | null;
  /** Offset to the target, seconds, + ahead / − behind; null when unknown. */
  offset: number | null;
  /** Target program time, ms; null when unknown. */
  target: number | null;
  state: SyncState;
}

/** Timing fields of a media playlist (seconds); hls.js names them partHoldBack, holdBack, targetduration. */
export interface PlaylistTiming {
  partHoldBack?: number;
  holdBack?: number;
  targetDuration: number;
}

/**
 * Added to the playlist's hold-back: PART-HOLD-BACK is measured from the end
 * of the playlist, which itself trails the capture clock by the encoder's
 * latency and up to one part still being cut (~0.2-0.4 s here with x264
 * zerolatency). 0.25 s keeps ≥ ~0.5 s buffered at the target with LL-HLS parts
 * of 1/3 s and keeps the LL target delay at ~1.25 s.
 */
export const TARGET_DELAY_MARGIN = 0.25;

/**
 * The stream's target delay (s) behind the program clock: PART-HOLD-BACK
 * (LL-HLS), else HOLD-BACK, else 3 target durations (the RFC's minimum for a
 * plain playlist), plus `margin`. Every viewer reads the same playlist, so
 * every viewer gets the same number.
 */
export function targetDelayFromPlaylist(timing: PlaylistTiming, margin: number = TARGET_DELAY_MARGIN): number | null {
  const holdBack =
    timing.partHoldBack && timing.partHoldBack > 0
      ? timing.partHoldBack
      : timing.holdBack && timing.holdBack > 0
        ? timing.holdBack
        : timing.targetDuration > 0
          ? 3 * timing.targetDuration
          : 0;
  if (!(holdBack > 0)) return null;
  return Math.round((holdBack + margin) * 1000) / 1000;
}

export class SyncController {
  readonly config: SyncConfig;
  private state: SyncState = "converging";
  private everLocked = false;
  private hasPlayed = false;
  private lastSeekAt: number | null = null;
  private seekCount = 0;

  constructor(config: Partial<SyncConfig> = {}) {
    this.config = { ...DEFAULT_SYNC_CONFIG, ...config };
    if (!(this.config.lockBand < this.config.deadBand)) throw new Error("sync config: lockBand must be < deadBand");
    if (!(this.config.minRate < 1 && this.config.maxRate > 1)) throw new Error("sync config: minRate < 1 < maxRate");
  }

  /** Seeks issued so far. */
  get seeks(): number {
    return this.seekCount;
  }

  /** Forget the history (e.g. a new source): the next lock is a first lock again. */
  reset(): void {
    this.state = "converging";
    this.everLocked = false;
    this.hasPlayed = false;
    this.lastSeekAt = null;
  }

  update(input: SyncInput): SyncDecision {
    const c = this.config;
    if (input.programTime === null || input.targetDelay === null || !Number.isFinite(input.programTime)) {
      return { rate: 1, seekTo: null, offset: null, target: null, state: this.state };
    }
    const target = input.now - input.targetDelay * 1000;
    const offset = (input.programTime - target) / 1000;
    const hold = (state: SyncState): SyncDecision => {
      this.state = state;
      return { rate: 1, seekTo: null, offset, target, state };
    };

    const coolingDown = this.lastSeekAt !== null && input.now - this.lastSeekAt < c.seekCooldownMs;
    if (this.state === "seeking") {
      // The seek has landed once the playhead is back within the seek range and plays.
      if (input.playing !== false && Math.abs(offset) < this.seekLimit()) this.state = "converging";
      else if (coolingDown) return hold("seeking");
      else this.state = "converging";
    }
    if (input.playing !== false) this.hasPlayed = true;
    // Far off: seek, even while stalled (a playhead stuck past the live edge or
    // on data that is gone only recovers by moving) — but not before playback
    // has started: the player is still settling its start position (hls.js
    // moves the playhead to its own start position and would undo the seek).
    if (Math.abs(offset) > this.seekLimit() && !coolingDown && this.hasPlayed) {
      const distance = -offset; // seconds the playhead must move
      const beyondBuffer = distance > 0 && distance > input.bufferedAhead;
      this.lastSeekAt = input.now;
      this.seekCount++;
      this.state = "seeking";
      return { rate: 1, seekTo: target + (beyondBuffer ? c.seekLead * 1000 : 0), offset, target, state: "seeking" };
    }

    // Not playing (paused, stalled, starting): no steering; the rate means nothing now.
    if (input.playing === false) {
      return hold(this.state === "locked" && Math.abs(offset) <= c.deadBand ? "locked" : "converging");
    }

    const magnitude = Math.abs(offset);
    if (this.state === "locked" ? magnitude <= c.deadBand : magnitude <= c.lockBand) {
      this.everLocked = true;
      return hold("locked");
    }
    this.state = "converging";
    const behind = offset < 0;
    const room = behind ? c.maxRate - 1 : 1 - c.minRate;
    const step = Math.min(room, Math.max(c.minStep, c.gain * magnitude));
    if (behind && input.bufferedAhead < c.minBufferAhead) return hold("converging");
    const raw = behind ? 1 + step : 1 - step;
    const rate = clamp(Math.round(raw / c.rateStep) * c.rateStep, c.minRate, c.maxRate);
    return { rate: Math.round(rate * 10000) / 10000, seekTo: null, offset, target, state: "converging" };
  }

  private seekLimit(): number {
    return this.everLocked ? this.config.seekThreshold : this.config.joinSeekThreshold;
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
