/**
 * StreamRoom: one per StreamID (`/ws/streams/<streamId>`), the chat, system
 * and interaction channel of a live stream (docs/architecture.md, "Socket
 * protocol"). This class is a facade: the hooks of Room, a map from client
 * frame type to handler (stream/frame-handlers.ts), and the RPC surface. The
 * state lives in components beside it (stream/): metadata (the stream's
 * row), polls, mutes, likes, presence, audience statistics, telemetry
 * reports, rate limits, system events.
 *
 * Log frames (persisted with seq and offsetMs from stream start, replayed):
 * chat, system, poll_open / poll_results / poll_closed, event_update and
 * event_snapshot of the stream's event. Direct frames: hello, error, ack,
 * telemetry_summary (owner), group messages.
 */
import type { StreamStatus } from "../../schema/index.js";
import type { Env } from "../env.js";
import type { EventChanges } from "../events/diff.js";
import type { Clock } from "./clock.js";
import type { FrameworkState } from "./connections.js";
import type { GroupFilter, PollView } from "./frames.js";
import {
  parseClientFrame,
  STREAM_CLIENT_TYPES,
  StreamClientFrameSchema,
  type Envelope,
  type PostableSystemEvent,
  type StreamClientFrame,
} from "./protocol.js";
import { fail, ok, type RoomResult } from "./result.js";
import { Room, type ConnectRequest } from "./room.js";
import { createStreamComponents } from "./stream/components.js";
import type { FrameTurn } from "./stream/frame-handlers.js";
import { groupTag, inGroup } from "./stream/groups.js";
import { LIKES_TIMER } from "./stream/likes.js";
import { muteAddressOf } from "./stream/mute-address.js";
import { RESULTS_TIMER } from "./stream/polls.js";
import { PRESENCE_TIMER } from "./stream/presence.js";
import { isBroadcaster, isOwner, publicUser } from "./stream/roles.js";
import type { StreamRoomServices } from "./stream/services.js";
import type { PostResult } from "./stream/system-posts.js";
import type { StreamConnection, StreamSocketState } from "./stream/telemetry-reports.js";

/** largest log window answered at once */
const MAX_LOG_FRAMES = 5_000;

export class StreamRoom extends Room<StreamSocketState> {
  protected readonly kind = "stream" as const;
  private readonly parts: ReturnType<typeof createStreamComponents>;

  constructor(ctx: DurableObjectState, env: Env, clock?: Clock) {
    super(ctx, env, clock);
    const services: StreamRoomServices = {
      meta: this.meta,
      clock: this.clock,
      record: (frame) => this.publish(frame, this.parts.metadata.offsetAt(this.clock.now())),
      schedule: (name, at) => this.timers.set(name, at),
      cancel: (name) => this.timers.clear(name),
    };
    this.parts = createStreamComponents(
      {
        services,
        sql: this.sql,
        log: this.log,
        env,
        streamId: () => this.name,
        sockets: () => this.connections.all(),
        waitUntil: (work) => this.ctx.waitUntil(work),
      },
      // what the frame handlers and system events ask of the room
      {
        sendToOwner: (summary) => this.sendToGroup("owner", summary),
        sendToGroup: (group, event, data) =>
          this.sendToGroup(groupTag(group), { type: "system", event, data, group }, ({ who }) => inGroup(group, who)),
        isOwner: (who) => isOwner(who, this.parts.metadata.ownerId),
        muteAddressOf: (userId) =>
          muteAddressOf({ socketsOf: (id) => this.connections.all(`user:${id}`), db: this.env.DB, roomName: () => this.name }, userId),
        applyStatus: (status, at) => this.applyStatus(status, at),
        openPoll: (openedBy, question, choices) => this.openPollNow(openedBy, question, choices),
      },
    );
  }

  // ================================================================ Room hooks

  protected override async prepareConnect(_request: ConnectRequest): Promise<void> {
    await this.parts.announcer.load();
  }

  protected override connectionTags(state: FrameworkState): string[] {
    return isBroadcaster(state.who, this.parts.metadata.ownerId) ? ["owner"] : [];
  }

  protected override helloFields(connection: StreamConnection): Record<string, unknown> {
    const meta = this.parts.metadata.current;
    return {
      streamId: this.name,
      status: meta?.status ?? null,
      startedAt: meta?.startedAt ?? null,
      eventId: meta?.eventId ?? null,
      viewerCount: this.connections.count(),
      you: { ...publicUser(connection.who), owner: isOwner(connection.who, this.parts.metadata.ownerId) },
      poll: this.parts.polls.view(),
    };
  }

  protected override onConnect(connection: StreamConnection): void {
    this.parts.audience.joined(this.connections.count(), this.parts.metadata.airTime);
    this.parts.presence.join(publicUser(connection.who)).catch((error: unknown) => this.presenceFailed(error));
  }

  protected override onClose(connection: StreamConnection): void {
    this.parts.limits.forget(connection.id);
    this.parts.telemetry.remove(connection.id);
    this.parts.audience.left(this.connections.count(), this.parts.metadata.airTime);
    this.parts.presence.leave(publicUser(connection.who)).catch((error: unknown) => this.presenceFailed(error));
  }

  protected override async onMessage(connection: StreamConnection, envelope: Envelope): Promise<void> {
    const parsed = parseClientFrame(envelope, STREAM_CLIENT_TYPES, StreamClientFrameSchema);
    if (!parsed.ok) return this.sendError(connection, parsed.code, parsed.message, envelope.ref);
    const frame = parsed.frame;
    const turn: FrameTurn = {
      connection,
      limits: this.parts.limits.of(connection.id, connection.who),
      error: (code, message) => this.sendError(connection, code, message, frame.ref),
      ack: (fields = {}) => {
        if (frame.ref !== undefined) this.send(connection, { type: "ack", ref: frame.ref, of: frame.type, ...fields });
      },
    };
    const handler = this.parts.handlers[frame.type] as (turn: FrameTurn, frame: StreamClientFrame) => void | Promise<void>;
    await handler(turn, frame);
  }

  protected override async onTimer(name: string): Promise<void> {
    if (name === LIKES_TIMER) this.parts.likes.onTimer();
    else if (name === RESULTS_TIMER) this.parts.polls.onTimer();
    else if (name === PRESENCE_TIMER) this.parts.presence.onTimer();
  }

  // ================================================================ RPC (Worker, EventRoom, lifecycle)

  /** Room state for the API (`GET /api/streams/:id`). */
  async info() {
    const meta = await this.parts.announcer.load();
    return {
      viewerCount: this.connections.count(),
      lastSeq: this.log.lastSeq,
      status: meta?.status ?? null,
      startedAt: meta?.startedAt ?? null,
      peakViewers: this.parts.audience.peak,
    };
  }

  /** A system event from the origin or the API (stream/system-events.ts); `group` sends it to that group only. */
  async postSystem(
    event: PostableSystemEvent,
    data: Record<string, unknown> = {},
    group?: GroupFilter,
    requestId?: string,
  ): Promise<RoomResult<PostResult>> {
    return this.parts.systemEvents.post(event, data, group, requestId);
  }

  /**
   * The stream's status changed (workers/streams/lifecycle.ts, after D1):
   * `live` announces stream_started once, `ended` stream_ended once.
   */
  async applyStatus(status: StreamStatus, at: number): Promise<RoomResult<{ seq?: number }>> {
    const logged = await this.parts.announcer.applyStatus(status, at);
    return ok(logged === null ? {} : { seq: logged.seq });
  }

  /** An update of the stream's event, from its EventRoom: logged with its offset and broadcast. */
  async recordEvent(eventId: string, changes: EventChanges): Promise<number | null> {
    const meta = await this.parts.announcer.load();
    if (meta === null || meta.status === "ended" || meta.eventId !== eventId) return null;
    return this.parts.services.record({ type: "event_update", eventId, changes }).seq;
  }

  /** The replay log window from ≤ offsetMs < to, in order. */
  async logWindow(fromMs: number, toMs: number) {
    const meta = await this.parts.announcer.load();
    const { frames, truncated } = this.log.window(fromMs, toMs, MAX_LOG_FRAMES);
    return { startedAt: meta?.startedAt ?? null, ended: meta?.status === "ended", truncated, frames };
  }

  async openPoll(userId: string, question: string, choices: string[]) {
    if ((await this.parts.announcer.load()) === null) return fail(404, "unknown_stream", "no such stream");
    return this.openPollNow(userId, question, choices);
  }

  async closePoll(pollId: string) {
    await this.parts.announcer.load();
    return this.parts.polls.closePoll(pollId);
  }

  async telemetrySummary() {
    const { reports, groups } = this.parts.telemetry.summary();
    return { reports, groups };
  }

  /** Final viewer statistics: duration, peak and average concurrent sockets, joins, leaves. */
  async finalStats() {
    await this.parts.announcer.load();
    return this.parts.audience.final(this.connections.count(), this.parts.metadata.airTime);
  }

  // ================================================================ internals

  private presenceFailed(error: unknown): void {
    console.error(`stream room ${this.name}: presence timer could not be set`, error);
  }

  private async openPollNow(openedBy: string, question: unknown, choices: unknown): Promise<RoomResult<PollView>> {
    if (this.parts.metadata.ended) return fail(409, "stream_ended", "the stream has ended");
    return this.parts.polls.openPoll(openedBy, question, choices);
  }
}
