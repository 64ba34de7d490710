/**
 * The live streams about an event room's event: each update is also logged
 * into their replay logs (StreamRoom.recordEvent). The list comes from D1,
 * trusted for LINKED_STREAMS_TTL_MS; a stream going live or ending tells the
 * room at once (attach / detach) instead of waiting for the next lookup.
 */
import type { Env } from "../../env.js";
import type { EventChanges } from "../../events/diff.js";
import { getDb, liveStreamsForEvent } from "../../events/event-store.js";
import { streamRoom } from "../../stubs.js";

/** How long the list of live streams about this event is trusted. */
const LINKED_STREAMS_TTL_MS = 5_000;

export class LinkedStreams {
  private linked: { ids: string[]; at: number } | null = null;

  constructor(
    private readonly eventId: () => string,
    /** read at each use: a test may swap the room's env */
    private readonly env: () => Env,
  ) {}

  /** The stream ids, from D1 when the list is older than the TTL (the last known list if D1 fails). */
  async list(now: number): Promise<string[]> {
    if (this.linked === null || now - this.linked.at > LINKED_STREAMS_TTL_MS) {
      try {
        this.linked = { ids: await liveStreamsForEvent(getDb(this.env().DB), this.eventId()), at: now };
      } catch (error) {
        console.warn(`event ${this.eventId()}: could not list its streams`, error);
        return this.linked?.ids ?? [];
      }
    }
    return this.linked.ids;
  }

  /** Forget the list: the next `list` asks D1. */
  invalidate(): void {
    this.linked = null;
  }

  attach(streamId: string, now: number): void {
    const ids = new Set(this.linked?.ids ?? []);
    ids.add(streamId);
    this.linked = { ids: [...ids], at: this.linked?.at ?? now };
  }

  detach(streamId: string): void {
    if (this.linked !== null) this.linked = { ids: this.linked.ids.filter((id) => id !== streamId), at: this.linked.at };
  }

  /** Logs `changes` into every linked stream's replay log. */
  async notify(eventId: string, changes: EventChanges, now: number): Promise<void> {
    const streams = await this.list(now);
    const results = await Promise.allSettled(streams.map((streamId) => streamRoom(this.env(), streamId).recordEvent(eventId, changes)));
    // a stream that missed an update still has the event room's next one; its replay log has a gap
    results.forEach((result, i) => {
      if (result.status === "rejected") console.warn(`event ${eventId}: stream ${streams[i]} did not log the update`, result.reason);
    });
  }
}
