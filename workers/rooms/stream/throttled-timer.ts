/**
 * "At most one frame per interval" for a stream room (like counts, poll
 * results): the first request in a window fires at once, later ones are
 * folded into one firing at the end of the window, on the room's timer.
 */
import { Throttle } from "../rate-limit.js";
import type { StreamRoomServices } from "./services.js";

export class ThrottledTimer {
  private readonly throttle: Throttle;

  constructor(
    private readonly room: StreamRoomServices,
    /** the room's timer name (its onTimer dispatches on it) */
    readonly timer: string,
    intervalMs: number,
    private readonly fire: () => void,
  ) {
    this.throttle = new Throttle(intervalMs);
  }

  /** Fires now, or makes sure one firing is due at the end of the current window. */
  async request(): Promise<void> {
    const decision = this.throttle.request(this.room.clock.now());
    if (decision.now) this.fire();
    else if (!decision.alreadyPending) await this.room.schedule(this.timer, decision.at);
  }

  /** The window ended (the room's timer). */
  onTimer(): void {
    this.throttle.fired(this.room.clock.now());
    this.fire();
  }

  /** Forgets a pending firing; `clearTimer` also drops the timer itself. */
  async cancel(clearTimer: boolean): Promise<void> {
    this.throttle.cancel();
    if (clearTimer) await this.room.cancel(this.timer);
  }
}
