/**
 * What a stream room knows of its stream: owner, event, status, start and
 * end, and whether it announced them. D1 is the truth for the lifecycle
 * (workers/streams/lifecycle.ts writes it); the room keeps a copy, read from
 * D1 at most every few seconds, so a room that missed the "ended" call (or
 * was created after it) still announces the end when it sees it.
 */
import type { StreamStatus } from "../../../schema/index.js";
import type { StreamRowForRoom } from "../../streams/repository.js";
import type { AirTime } from "./audience.js";
import type { StreamRoomServices } from "./services.js";

/** How long the stream row read from D1 is trusted. */
const STREAM_META_TTL_MS = 10_000;
const KEY = "stream";

export interface StreamMeta {
  ownerId: string | null;
  eventId: string | null;
  status: StreamStatus;
  /** stream start: D1 startedAt, or the first stream_started */
  startedAt: number | null;
  endedAt: number | null;
  /** stream_started was published */
  startAnnounced: boolean;
  /** stream_ended was published */
  endAnnounced: boolean;
  loadedAt: number;
}

export type RefreshOutcome = {
  meta: StreamMeta | null;
  /** the start became known with this refresh (frames logged before it need offsets) */
  startLearned: number | null;
  /** D1 says ended and the room has not announced it yet */
  endedInD1: number | null;
};

export class StreamMetadata {
  /** undefined: not read from storage yet */
  private cached: StreamMeta | null | undefined;

  constructor(private readonly room: StreamRoomServices) {}

  get current(): StreamMeta | null {
    if (this.cached === undefined) this.cached = this.room.meta.get<StreamMeta>(KEY) ?? null;
    return this.cached;
  }

  get ended(): boolean {
    return this.current?.status === "ended";
  }

  /** The stream's broadcaster (null while the row is unknown). */
  get ownerId(): string | null {
    return this.current?.ownerId ?? null;
  }

  /** The window the audience is counted in (audience.ts). */
  get airTime(): AirTime {
    const meta = this.current;
    return { startedAt: meta?.startedAt ?? null, endedAt: meta?.endedAt ?? null };
  }

  /** Offset of `ts` from the stream's start (null while the start is unknown). */
  offsetAt(ts: number): number | null {
    const startedAt = this.current?.startedAt ?? null;
    return startedAt === null ? null : ts - startedAt;
  }

  update(changes: Partial<StreamMeta>): StreamMeta {
    const next: StreamMeta = { ...this.orEmpty(), ...changes };
    this.cached = next;
    this.room.meta.set(KEY, next);
    return next;
  }

  /** The current copy, or a blank one for a stream the room has not read yet. */
  orEmpty(): StreamMeta {
    return (
      this.current ?? {
        ownerId: null,
        eventId: null,
        status: "created",
        startedAt: null,
        endedAt: null,
        startAnnounced: false,
        endAnnounced: false,
        loadedAt: this.room.clock.now(),
      }
    );
  }

  /**
   * Re-reads the row when the copy is older than `maxAgeMs`. The room's own
   * knowledge wins where it is ahead of D1 (an end it announced, a start it saw).
   */
  async refresh(loadRow: () => Promise<StreamRowForRoom | undefined>, maxAgeMs = STREAM_META_TTL_MS): Promise<RefreshOutcome> {
    const cached = this.current;
    if (cached !== null && this.room.clock.now() - cached.loadedAt < maxAgeMs) {
      return { meta: cached, startLearned: null, endedInD1: null };
    }
    const row = await loadRow();
    if (row === undefined) return { meta: cached, startLearned: null, endedInD1: null };
    const current = this.current; // may have changed while D1 answered
    const roomEnded = current?.status === "ended";
    const next = this.update({
      ownerId: row.ownerId,
      eventId: row.eventId,
      // the end is announced by the room itself (stream_ended), not copied
      status: roomEnded ? "ended" : row.status === "ended" ? (current?.status ?? "live") : row.status,
      startedAt: current?.startedAt ?? row.startedAt ?? null,
      endedAt: current?.endedAt ?? null,
      startAnnounced: current?.startAnnounced ?? false,
      endAnnounced: current?.endAnnounced ?? false,
      loadedAt: this.room.clock.now(),
    });
    return {
      meta: next,
      startLearned: next.startedAt !== null && (current?.startedAt ?? null) === null ? next.startedAt : null,
      endedInD1: row.status === "ended" && !next.endAnnounced ? (row.endedAt ?? this.room.clock.now()) : null,
    };
  }
}
