/**
 * Presence of a stream room: joins and leaves coalesced into at most one
 * `member_added` / `member_removed` log frame per PRESENCE_INTERVAL_MS with
 * the current socket count, so sockets coming and going in bulk cost a few
 * frames a second, not one frame (logged and sent to everyone) per socket.
 * A lone change in a quiet room goes out at once and names who joined or
 * left; a window with several changes says how many joined and left, and
 * nothing goes out when the count is back where it was.
 */
import type { PublicUser } from "../frames.js";
import type { StreamRoomServices } from "./services.js";
import { ThrottledTimer } from "./throttled-timer.js";

export const PRESENCE_INTERVAL_MS = 250;
export const PRESENCE_TIMER = "presence";

export class Presence {
  private joined = 0;
  private left = 0;
  private lastChange: { event: "member_added" | "member_removed"; user: PublicUser } | null = null;
  /** the count the last presence frame carried (unknown after a restart) */
  private published: number | null = null;
  private readonly window: ThrottledTimer;

  constructor(
    private readonly room: StreamRoomServices,
    /** connected sockets right now */
    private readonly count: () => number,
    /** no presence frames once the stream has ended */
    private readonly ended: () => boolean,
  ) {
    this.window = new ThrottledTimer(room, PRESENCE_TIMER, PRESENCE_INTERVAL_MS, () => this.flush());
  }

  /** A socket joined (the count already includes it): published now or at the end of the window. */
  join(user: PublicUser): Promise<void> {
    this.joined++;
    this.lastChange = { event: "member_added", user };
    return this.window.request();
  }

  /** A socket left (the count no longer includes it). */
  leave(user: PublicUser): Promise<void> {
    this.left++;
    this.lastChange = { event: "member_removed", user };
    return this.window.request();
  }

  /** The window ended (the room's timer). */
  onTimer(): void {
    this.window.onTimer();
  }

  private flush(): void {
    const { joined, left, lastChange } = this;
    this.joined = 0;
    this.left = 0;
    this.lastChange = null;
    if (this.ended()) return;
    const viewerCount = this.count();
    if (viewerCount === this.published) return;
    this.published = viewerCount;
    if (joined + left === 1 && lastChange !== null) {
      this.room.record({ type: "system", event: lastChange.event, viewerCount, user: lastChange.user });
    } else {
      const event = left > joined ? "member_removed" : "member_added";
      this.room.record({ type: "system", event, viewerCount, joined, left });
    }
  }
}
