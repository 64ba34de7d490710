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
 *
 * With STREAM_SHARD_SOCKETS > 0 the sockets live on the stream's fan-out
 * shards (fanout/stream-shard.ts): the room pushes every log frame and every
 * targeted direct frame to them, handles their sockets' frames (`shardFrame`)
 * exactly as its own, and counts their joins and leaves (`shardMembers`).
 */
import type { StreamStatus } from "../../schema/index.js";
import type { Env } from "../env.js";
import type { EventChanges } from "../events/diff.js";
import { streamShard } from "../stubs.js";
import type { Clock } from "./clock.js";
import type { FrameworkState } from "./connections.js";
import { RoomShards, SHARDS_TIMER } from "./fanout/room-shards.js";
import type {
  RoomFrames,
  ShardDelivery,
  ShardFrameAnswer,
  ShardFrameRequest,
  ShardMembers,
  ShardPlan,
  ShardReport,
  ShardSyncRequest,
} from "./fanout/shard-protocol.js";
import type { StreamShardView } from "./fanout/stream-shard.js";
import type { DirectFrame, GroupFilter, LoggedFrame, LogFrame, PollView } from "./frames.js";
import {
  type ErrorCode,
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
import { RemoteSocket } from "./stream/remote-socket.js";
import { isBroadcaster, isOwner, publicUser } from "./stream/roles.js";
import type { StreamRoomServices } from "./stream/services.js";
import type { PostResult } from "./stream/system-posts.js";
import type { StreamConnection, StreamSocket, StreamSocketState } from "./stream/telemetry-reports.js";

/** largest log window answered at once */
const MAX_LOG_FRAMES = 5_000;

export class StreamRoom extends Room<StreamSocketState> {
  protected readonly kind = "stream" as const;
  private readonly parts: ReturnType<typeof createStreamComponents>;
  private readonly shards: RoomShards<StreamShardView>;

  constructor(ctx: DurableObjectState, env: Env, clock?: Clock) {
    super(ctx, env, clock);
    this.shards = new RoomShards<StreamShardView>({
      sql: this.sql,
      log: this.log,
      timers: this.timers,
      clock: this.clock,
      label: () => `stream ${this.name}`,
      connect: (index) => streamShard(this.env, this.name, index),
      snapshot: () => this.shardView(),
    });
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
        viewerCount: () => this.sockets(),
        waitUntil: (work) => this.ctx.waitUntil(work),
      },
      // what the frame handlers and system events ask of the room
      {
        sendToOwner: (summary) => {
          this.sendEverywhere("owner", summary).catch((error: unknown) => console.warn(`stream ${this.name}: summary not sent`, error));
        },
        sendToGroup: (group, event, data) => this.sendEverywhere(groupTag(group), { type: "system", event, data, group }, group),
        isOwner: (who) => isOwner(who, this.parts.metadata.ownerId),
        muteAddressOf: (userId) =>
          muteAddressOf(
            {
              socketsOf: (id) => this.connections.all(`user:${id}`),
              onShards: (id) => this.shards.addressOf(id),
              db: this.env.DB,
              roomName: () => this.name,
            },
            userId,
          ),
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
      viewerCount: this.sockets(),
      you: { ...publicUser(connection.who), owner: isOwner(connection.who, this.parts.metadata.ownerId) },
      poll: this.parts.polls.view(),
    };
  }

  protected override onConnect(connection: StreamConnection): void {
    this.parts.audience.joined(this.sockets(), this.parts.metadata.airTime);
    this.parts.presence.join(publicUser(connection.who)).catch((error: unknown) => this.presenceFailed(error));
  }

  protected override onClose(connection: StreamConnection): void {
    this.parts.limits.forget(connection.id);
    this.parts.telemetry.remove(connection.id);
    this.parts.audience.left(this.sockets(), this.parts.metadata.airTime);
    this.parts.presence.leave(publicUser(connection.who)).catch((error: unknown) => this.presenceFailed(error));
  }

  protected override async onMessage(connection: StreamConnection, envelope: Envelope): Promise<void> {
    await this.handleFrame(connection, envelope, (frame) => this.send(connection, frame));
  }

  /** A client frame of a socket of the room or of a shard; `reply` answers that socket only. */
  private async handleFrame(connection: StreamSocket, envelope: Envelope, reply: (frame: DirectFrame) => void): Promise<void> {
    const error = (code: ErrorCode, message: string, ref: string | undefined) =>
      reply({ type: "error", code, message, ...(ref !== undefined ? { ref } : {}) });
    const parsed = parseClientFrame(envelope, STREAM_CLIENT_TYPES, StreamClientFrameSchema);
    if (!parsed.ok) return error(parsed.code, parsed.message, envelope.ref);
    const frame = parsed.frame;
    const turn: FrameTurn = {
      connection,
      limits: this.parts.limits.of(connection.id, connection.who),
      error: (code, message) => error(code, message, frame.ref),
      ack: (fields = {}) => {
        if (frame.ref !== undefined) reply({ type: "ack", ref: frame.ref, of: frame.type, ...fields });
      },
    };
    const handler = this.parts.handlers[frame.type] as (turn: FrameTurn, frame: StreamClientFrame) => void | Promise<void>;
    await handler(turn, frame);
  }

  protected override async onTimer(name: string): Promise<void> {
    if (name === LIKES_TIMER) this.parts.likes.onTimer();
    else if (name === RESULTS_TIMER) this.parts.polls.onTimer();
    else if (name === PRESENCE_TIMER) this.parts.presence.onTimer();
    else if (name === SHARDS_TIMER) await this.shards.onTimer();
  }

  /** Every log frame also goes to the fan-out shards, in seq order. */
  protected override publish(frame: LogFrame, offsetMs?: number | null): LoggedFrame {
    const logged = super.publish(frame, offsetMs);
    this.shards.push([logged]);
    return logged;
  }

  // ================================================================ RPC (Worker, EventRoom, lifecycle)

  /** Room state for the API (`GET /api/streams/:id`). */
  async info() {
    const meta = await this.parts.announcer.load();
    return {
      viewerCount: this.sockets(),
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
    return this.parts.audience.final(this.sockets(), this.parts.metadata.airTime);
  }

  /** Sockets on this room and on every shard (as they last reported). */
  override async viewerCount(): Promise<number> {
    return this.sockets();
  }

  // ================================================================ RPC (fan-out shards, the Worker's placement)

  /** The Worker's view of the shards, to place a new socket (fanout/placement.ts). */
  async shardPlan(): Promise<ShardPlan> {
    return this.shards.plan();
  }

  /** A shard catches up (and registers); `joining`: what the room does before its own joiners (its row loaded). */
  async shardSync(request: ShardSyncRequest): Promise<ShardDelivery<StreamShardView>> {
    if (request.joining) await this.parts.announcer.load();
    return this.shards.sync(request);
  }

  /** Log frames after `since` for a socket reconnecting on a shard whose own copy does not reach back that far. */
  async replayFrames(since: number, limit: number): Promise<RoomFrames> {
    return this.shards.replay(since, limit);
  }

  async shardReport(report: ShardReport): Promise<void> {
    this.shards.record(report);
  }

  /**
   * A frame from a shard's socket: the same validation, roles, mutes and
   * limits as for a socket of the room (the sender is who the shard says:
   * shards are reached only through stubs.ts); the answer to that socket
   * comes back for the shard to send.
   */
  async shardFrame(request: ShardFrameRequest<StreamSocketState>): Promise<ShardFrameAnswer<StreamSocketState>> {
    const socket = new RemoteSocket(request.connection, request.app);
    const replies: string[] = [];
    const reply = (frame: DirectFrame) => replies.push(this.directFrame(frame));
    try {
      await this.handleFrame(socket, request.frame, reply);
    } catch (error) {
      console.error(`stream room ${this.name}: frame '${request.frame.type}' from shard ${request.index} failed`, error);
      reply({ type: "error", code: "internal_error", message: "the room could not handle this frame", ...refOf(request.frame) });
    }
    return { replies, lastSeq: this.log.lastSeq, ...(socket.changed && socket.app !== null ? { app: socket.app } : {}) };
  }

  /** Sockets that joined and left a shard: presence, audience and counts as for the room's own. */
  async shardMembers(members: ShardMembers): Promise<void> {
    this.shards.record(members);
    const { audience, presence, limits, telemetry, metadata } = this.parts;
    const count = this.sockets();
    const changes: Promise<void>[] = [];
    for (const user of members.joined) {
      audience.joined(count, metadata.airTime);
      changes.push(presence.join(user));
    }
    for (const { user, connectionId } of members.left) {
      limits.forget(connectionId);
      telemetry.remove(connectionId);
      audience.left(count, metadata.airTime);
      changes.push(presence.leave(user));
    }
    await Promise.all(changes).catch((error: unknown) => this.presenceFailed(error));
  }

  // ================================================================ internals

  /** Sockets on the room and on its shards. */
  private sockets(): number {
    return this.connections.count() + this.shards.totalSockets();
  }

  /** What a shard greets a joining socket with (the room's own hello fields, as of now). */
  private shardView(): StreamShardView {
    const meta = this.parts.metadata.current;
    return {
      status: meta?.status ?? null,
      startedAt: meta?.startedAt ?? null,
      eventId: meta?.eventId ?? null,
      viewerCount: this.sockets(),
      poll: this.parts.polls.view(),
      ownerId: this.parts.metadata.ownerId,
    };
  }

  /**
   * A direct frame to the sockets with `tag` in `group` (every socket: no
   * tag, no group), here and on every shard: one text, so every recipient
   * gets the same bytes; how many got it.
   */
  private async sendEverywhere(tag: string | undefined, frame: DirectFrame, group?: GroupFilter): Promise<number> {
    const text = this.directFrame(frame);
    let sent = 0;
    for (const connection of this.connections.all(tag)) {
      if (group !== undefined && !inGroup(group, connection.who)) continue;
      if (connection.send(text)) sent++;
    }
    return (
      sent + (await this.shards.sendDirect({ text, ...(tag !== undefined ? { tag } : {}), ...(group !== undefined ? { group } : {}) }))
    );
  }

  private presenceFailed(error: unknown): void {
    console.error(`stream room ${this.name}: presence timer could not be set`, error);
  }

  private async openPollNow(openedBy: string, question: unknown, choices: unknown): Promise<RoomResult<PollView>> {
    if (this.parts.metadata.ended) return fail(409, "stream_ended", "the stream has ended");
    return this.parts.polls.openPoll(openedBy, question, choices);
  }
}

function refOf(frame: { ref?: unknown }): { ref?: string } {
  return typeof frame.ref === "string" ? { ref: frame.ref } : {};
}
