/**
 * Likes: aggregated into at most one `system like { count, total }` frame
 * per 250 ms, whatever the rate they arrive at. The total is persisted; the
 * likes waiting for the next frame are held in memory only (the window is a
 * quarter of a second, far shorter than the room's hibernation delay).
 */
import type { StreamRoomServices } from "./services.js";
import { ThrottledTimer } from "./throttled-timer.js";

export const LIKES_INTERVAL_MS = 250;
export const LIKES_TIMER = "likes";
const TOTAL_KEY = "likes";

/** The count a system post `like` stands for (`data.count`, 1 by default, capped). */
export function likeCountOf(data: Record<string, unknown>): number {
  const count = data.count;
  return typeof count === "number" && Number.isInteger(count) && count > 0 ? Math.min(count, 1_000_000) : 1;
}

export class Likes {
  private pending = 0;
  private readonly window: ThrottledTimer;

  constructor(private readonly room: StreamRoomServices) {
    this.window = new ThrottledTimer(room, LIKES_TIMER, LIKES_INTERVAL_MS, () => this.flush());
  }

  get total(): number {
    return this.room.meta.get<number>(TOTAL_KEY) ?? 0;
  }

  /** Counts `count` likes: published now, or at the end of the current window. */
  async add(count: number): Promise<void> {
    this.pending += count;
    await this.window.request();
  }

  /** The deferred window ended (timer). */
  onTimer(): void {
    this.window.onTimer();
  }

  /** Publishes what is pending (also right before stream_ended, so no like is lost). */
  flush(): void {
    if (this.pending === 0) return;
    const count = this.pending;
    const total = this.total + count;
    this.pending = 0;
    this.room.meta.set(TOTAL_KEY, total);
    this.room.record({ type: "system", event: "like", count, total });
  }
}
