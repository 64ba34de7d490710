/**
 * Audience statistics of a stream room: peak concurrent sockets, joins,
 * leaves, and the viewer-time integral behind the average audience. All in
 * the room's meta store, so they survive restarts; `final()` is what the
 * lifecycle stores in D1 `stream_stats` once the stream ended.
 */
import type { StreamRoomServices } from "./services.js";

const KEYS = {
  peak: "peakViewers",
  joins: "joins",
  leaves: "leaves",
  /** when the count last changed, and the count that held since */
  countAt: "countAt",
  countPrev: "countPrev",
  viewerMs: "viewerMs",
} as const;

/** The window the audience is counted in: from stream start to its end (if any). */
export interface AirTime {
  startedAt: number | null;
  endedAt: number | null;
}

export interface AudienceStats {
  startedAt: number | null;
  endedAt: number;
  durationMs: number;
  peakViewers: number;
  avgViewers: number;
  joins: number;
  leaves: number;
}

export class Audience {
  constructor(private readonly room: StreamRoomServices) {}

  private read(key: (typeof KEYS)[keyof typeof KEYS]): number {
    return this.room.meta.get<number>(key) ?? 0;
  }

  get peak(): number {
    return this.read(KEYS.peak);
  }

  get joins(): number {
    return this.read(KEYS.joins);
  }

  /** A socket joined; `count` already includes it. */
  joined(count: number, air: AirTime): void {
    if (count > this.peak) this.room.meta.set(KEYS.peak, count);
    this.room.meta.set(KEYS.joins, this.joins + 1);
    this.accrue(count, air, this.room.clock.now());
  }

  /** A socket left; `count` no longer includes it. */
  left(count: number, air: AirTime): void {
    this.room.meta.set(KEYS.leaves, this.read(KEYS.leaves) + 1);
    this.accrue(count, air, this.room.clock.now());
  }

  /** Duration, peak and time-weighted average concurrent sockets, joins, leaves. */
  final(count: number, air: AirTime): AudienceStats {
    const endedAt = air.endedAt ?? this.room.clock.now();
    this.accrue(count, air, endedAt);
    const durationMs = air.startedAt === null ? 0 : Math.max(0, endedAt - air.startedAt);
    return {
      startedAt: air.startedAt,
      endedAt,
      durationMs,
      peakViewers: this.peak,
      avgViewers: durationMs > 0 ? this.read(KEYS.viewerMs) / durationMs : 0,
      joins: this.joins,
      leaves: this.read(KEYS.leaves),
    };
  }

  /**
   * Viewer-time integral: the count that held since the last change, counted
   * only between stream start and end. Runs after every change, with the new count.
   */
  private accrue(count: number, air: AirTime, now: number): void {
    const lastAt = this.room.meta.get<number>(KEYS.countAt);
    const lastCount = this.read(KEYS.countPrev);
    if (air.startedAt !== null && lastAt !== undefined) {
      const from = Math.max(lastAt, air.startedAt);
      const to = air.endedAt !== null ? Math.min(now, air.endedAt) : now;
      if (to > from) this.room.meta.set(KEYS.viewerMs, this.read(KEYS.viewerMs) + lastCount * (to - from));
    }
    this.room.meta.set(KEYS.countAt, now);
    this.room.meta.set(KEYS.countPrev, count);
  }
}
