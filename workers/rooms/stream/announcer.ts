/**
 * The stream's lifecycle as its room shows it: `stream_started` once (with
 * the event's snapshot when the stream is about one), `stream_ended` once
 * (closing the open poll and flushing likes first). The status itself is
 * decided and written to D1 by workers/streams/lifecycle.ts; the room is
 * told (`applyStatus`) or finds out when it re-reads its row.
 */
import type { StreamStatus } from "../../../schema/index.js";
import type { Env } from "../../env.js";
import { streamForRoom } from "../../streams/repository.js";
import { eventRoom } from "../../stubs.js";
import type { LoggedFrame } from "../frames.js";
import type { FrameLog } from "../storage.js";
import type { Audience } from "./audience.js";
import type { Likes } from "./likes.js";
import type { StreamMeta, StreamMetadata } from "./metadata.js";
import type { Polls } from "./polls.js";
import type { StreamRoomServices } from "./services.js";

export interface AnnouncerDeps {
  streamId: () => string;
  env: Pick<Env, "DB" | "EVENT_ROOM">;
  services: StreamRoomServices;
  log: FrameLog;
  metadata: StreamMetadata;
  polls: Polls;
  likes: Likes;
  audience: Audience;
  viewerCount: () => number;
  waitUntil: (work: Promise<unknown>) => void;
}

export class StreamAnnouncer {
  constructor(private readonly room: AnnouncerDeps) {}

  /** The row from D1 (cached a few seconds); announces an end D1 knows and the room missed. */
  async load(maxAgeMs?: number): Promise<StreamMeta | null> {
    const { env, metadata, log } = this.room;
    const streamId = this.room.streamId();
    const { meta, startLearned, endedInD1 } = await metadata.refresh(() => streamForRoom(env.DB, streamId), maxAgeMs);
    if (startLearned !== null) log.backfillOffsets(startLearned);
    if (endedInD1 !== null) await this.announceEnd(endedInD1);
    return metadata.current ?? meta;
  }

  /** `live` announces stream_started once, `ended` stream_ended once; other statuses are only kept. */
  async applyStatus(status: StreamStatus, at: number): Promise<LoggedFrame | null> {
    const { metadata, log, services } = this.room;
    const meta = (await this.load(0)) ?? metadata.update({});
    if (meta.endAnnounced) return null;
    if (status === "ended") return this.announceEnd(at);
    if (status !== "live" || meta.startAnnounced) {
      metadata.update({ status });
      return null;
    }
    const startedAt = meta.startedAt ?? at;
    if (meta.startedAt === null) log.backfillOffsets(startedAt);
    metadata.update({ status: "live", startedAt, startAnnounced: true });
    const logged = services.record({ type: "system", event: "stream_started", startedAt });
    if (meta.eventId !== null) await this.recordEventSnapshot(meta.eventId);
    return logged;
  }

  /** stream_ended (once): closes the open poll, flushes likes, freezes the log. */
  private async announceEnd(endedAt: number): Promise<LoggedFrame | null> {
    const { metadata, polls, likes, audience, services } = this.room;
    const meta = metadata.current;
    if (meta === null || meta.endAnnounced) return null;
    await polls.closeOpenPoll();
    likes.flush();
    const logged = services.record({
      type: "system",
      event: "stream_ended",
      endedAt,
      durationMs: meta.startedAt === null ? null : endedAt - meta.startedAt,
      viewerCount: this.room.viewerCount(),
      peakViewers: audience.peak,
      joins: audience.joins,
      likes: likes.total,
    });
    metadata.update({ status: "ended", endedAt, endAnnounced: true });
    if (meta.eventId !== null) this.detachFromEvent(meta.eventId);
    return logged;
  }

  /** Subscribes this stream's log to its event's updates and logs the event's state at the start. */
  private async recordEventSnapshot(eventId: string): Promise<void> {
    const streamId = this.room.streamId();
    try {
      const event = await eventRoom(this.room.env, eventId).attachStream(streamId);
      if (event !== null) this.room.services.record({ type: "event_snapshot", eventId, event });
    } catch (error) {
      console.warn(`stream ${streamId}: no snapshot of event ${eventId}`, error);
    }
  }

  private detachFromEvent(eventId: string): void {
    const streamId = this.room.streamId();
    this.room.waitUntil(
      eventRoom(this.room.env, eventId)
        .detachStream(streamId)
        .catch((error: unknown) => console.warn(`stream ${streamId}: event ${eventId} keeps logging into it until its next lookup`, error)),
    );
  }
}
