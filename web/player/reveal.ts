/**
 * Reveal timed data at the playhead: `at(stamp, callback)` fires when the
 * playhead's program time reaches `stamp` (ms, server clock: the time an
 * event update or chat message was observed/sent). Program time is the
 * stream's EXT-X-PROGRAM-DATE-TIME, which is the server's clock at capture,
 * so stamps and program time are compared directly, without any clock
 * offset: a score change shows when the commentator's video reaches it.
 *
 * Pure: the owner calls `update(programTime)` on every tick (the player does,
 * and also arms a timer for the next stamp so firing is not late by a tick).
 *
 * Semantics:
 * - already past (a program time is known and ≥ stamp): fires synchronously
 *   inside `at()`;
 * - several due at once fire in stamp order (ties: in the order scheduled);
 * - a forward seek fires everything it skipped over (`late` tells by how
 *   much, so a page may skip an animation);
 * - a backward seek does not fire again what already fired, unless the item
 *   was scheduled with `{ refireOnSeekBack: true }`: then it re-arms when the
 *   playhead goes back before its stamp and fires again when reaching it;
 * - `cancel()` on the handle removes it, fired or not.
 */

export interface RevealInfo {
  stamp: number;
  /** Program time when it fired, ms. */
  programTime: number;
  /** programTime − stamp, ms (0 when exactly on time). */
  late: number;
}

export interface RevealOptions {
  /** Fire again after a seek back before the stamp (default false). */
  refireOnSeekBack?: boolean;
}

export interface RevealHandle {
  readonly stamp: number;
  /** Times it has fired. */
  readonly fired: number;
  readonly canceled: boolean;
  cancel(): void;
}

interface Item {
  stamp: number;
  order: number;
  callback: (info: RevealInfo) => void;
  refire: boolean;
  armed: boolean;
  fired: number;
  canceled: boolean;
}

export class RevealScheduler {
  private items: Item[] = [];
  private order = 0;
  private last: number | null = null;

  /** `onError` gets what a callback throws, so one bad callback does not stop the others (default: rethrown asynchronously). */
  constructor(
    private readonly onError: (error: unknown) => void = (error) =>
      queueMicrotask(() => {
        throw error;
      }),
  ) {}

  /** Program time of the latest update, ms. */
  get programTime(): number | null {
    return this.last;
  }

  /** Items waiting to fire. */
  get pending(): number {
    return this.items.filter((i) => i.armed).length;
  }

  /** The earliest stamp still waiting, or null. */
  nextStamp(): number | null {
    let next: number | null = null;
    for (const item of this.items) if (item.armed && (next === null || item.stamp < next)) next = item.stamp;
    return next;
  }

  at(stamp: number, callback: (info: RevealInfo) => void, options: RevealOptions = {}): RevealHandle {
    if (!Number.isFinite(stamp)) throw new TypeError("reveal: stamp must be a finite number (ms)");
    const item: Item = { stamp, order: this.order++, callback, refire: !!options.refireOnSeekBack, armed: true, fired: 0, canceled: false };
    this.items.push(item);
    const handle: RevealHandle = {
      stamp,
      get fired() {
        return item.fired;
      },
      get canceled() {
        return item.canceled;
      },
      cancel: () => {
        if (item.canceled) return;
        item.canceled = true;
        item.armed = false;
        this.items = this.items.filter((i) => i !== item);
      },
    };
    if (this.last !== null && this.last >= stamp) this.fire([item], this.last);
    return handle;
  }

  /** Feeds the playhead's program time (ms); fires what is due. Returns how many fired. */
  update(programTime: number): number {
    if (!Number.isFinite(programTime)) return 0;
    if (this.last !== null && programTime < this.last) {
      for (const item of this.items) if (item.refire && !item.armed && item.stamp > programTime) item.armed = true;
    }
    this.last = programTime;
    const due = this.items.filter((i) => i.armed && i.stamp <= programTime).sort((a, b) => a.stamp - b.stamp || a.order - b.order);
    return this.fire(due, programTime);
  }

  /** Cancels everything. */
  clear(): void {
    for (const item of this.items) {
      item.canceled = true;
      item.armed = false;
    }
    this.items = [];
  }

  private fire(due: Item[], programTime: number): number {
    let count = 0;
    for (const item of due) {
      if (item.canceled || !item.armed) continue; // canceled by an earlier callback
      item.armed = false;
      item.fired++;
      count++;
      // One-shot items leave; re-firing ones stay, disarmed, for a seek back.
      if (!item.refire) this.items = this.items.filter((i) => i !== item);
      try {
        item.callback({ stamp: item.stamp, programTime, late: programTime - item.stamp });
      } catch (error) {
        this.onError(error);
      }
    }
    return count;
  }
}
