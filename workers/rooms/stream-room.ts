/**
 * StreamRoom: one per StreamID (`/ws/streams/<streamId>`), the chat, system
 * and interaction channel of a live stream (docs/architecture.md, "Socket
 * protocol"). This class is a facade: the hooks of Room, a map from client
 * frame type to handler, and the RPC surface. The state lives in components
 * beside it (stream/): metadata (the stream's row), polls, mutes, likes,
 * audience statistics, telemetry reports, rate limits.
 *
 * Log frames (persisted with seq and offsetMs from stream start, replayed):
 * chat, system, poll_open / poll_results / poll_closed, event_update and
 * event_snapshot of the stream's event. Direct frames: hello, error, ack,
 * telemetry_summary (owner), group messages.
 */
import type { StreamStatus } from "../../schema/index.js";
import type { Env } from "../env.js";
import { anonymousFingerprint } from "../lib/users.js";
import type { EventChanges } from "../events/diff.js";
import type { Clock } from "./clock.js";
import type { ConnectionInfo, FrameworkState } from "./connections.js";
import type { GroupFilter, LoggedFrame, PollView, PublicUser, StreamLogFrame } from "./frames.js";
import {
  CHAT_BURST,
  CHAT_RATE_PER_S,
  checkChatText,
  parseClientFrame,
  STREAM_CLIENT_TYPES,
  StreamClientFrameSchema,
  type Envelope,
  type ErrorCode,
  type PostableSystemEvent,
  type StreamClientFrame,
} from "./protocol.js";
import { Room, type ConnectRequest } from "./room.js";
import { createStreamComponents } from "./stream/components.js";
import { LIKE_BURST, LIKE_RATE_PER_S, type SenderLimits } from "./stream/limits.js";
import { groupTag, inGroup } from "./stream/groups.js";
import { LIKES_TIMER, likeCountOf } from "./stream/likes.js";
import { RESULTS_TIMER } from "./stream/polls.js";
import { PRESENCE_TIMER } from "./stream/presence.js";
import { fail, ok, type RoomResult } from "./result.js";
import type { StreamRoomServices } from "./stream/services.js";
import type { PostResult } from "./stream/system-posts.js";
import type { StreamConnection, StreamSocketState } from "./stream/telemetry-reports.js";

/** largest log window answered at once */
const MAX_LOG_FRAMES = 5_000;

/** What a frame handler gets besides its frame. */
interface FrameTurn {
  connection: StreamConnection;
  limits: SenderLimits;
  error(code: ErrorCode, message: string): void;
  ack(fields?: Record<string, unknown>): void;
}
type FrameHandlers = {
  [T in StreamClientFrame["type"]]: (turn: FrameTurn, frame: Extract<StreamClientFrame, { type: T }>) => void | Promise<void>;
};

export class StreamRoom extends Room<StreamSocketState> {
  protected readonly kind = "stream" as const;
  private readonly parts: ReturnType<typeof createStreamComponents>;

  constructor(ctx: DurableObjectState, env: Env, clock?: Clock) {
    super(ctx, env, clock);
    const services: StreamRoomServices = {
      meta: this.meta,
      clock: this.clock,
      record: (frame) => this.record(frame),
      schedule: (name, at) => this.timers.set(name, at),
      cancel: (name) => this.timers.clear(name),
    };
    this.parts = createStreamComponents({
      services,
      sql: this.sql,
      log: this.log,
      env,
      streamId: () => this.name,
      sockets: () => this.connections.all(),
      waitUntil: (work) => this.ctx.waitUntil(work),
    });
  }

  // ================================================================ frame handlers

  private readonly handlers: FrameHandlers = {
    chat: (turn, frame) => {
      if (this.parts.metadata.ended) return turn.error("stream_ended", "the stream has ended");
      if (this.parts.mutes.isMuted(turn.connection.who)) return turn.error("muted", "you are muted in this room");
      const text = checkChatText(frame.text);
      if (!text.ok) return turn.error("bad_frame", text.message);
      if (!turn.limits.chat.take(this.clock.now()))
        return turn.error("rate_limited", `chat is limited to ${CHAT_RATE_PER_S}/s (burst ${CHAT_BURST})`);
      const logged = this.record({ type: "chat", from: publicUser(turn.connection.who), text: text.text });
      turn.ack({ seq: logged.seq });
    },
    like: async (turn) => {
      if (this.parts.metadata.ended) return turn.error("stream_ended", "the stream has ended");
      if (!turn.limits.like.take(this.clock.now()))
        return turn.error("rate_limited", `likes are limited to ${LIKE_RATE_PER_S}/s (burst ${LIKE_BURST})`);
      await this.parts.likes.add(1);
      turn.ack();
    },
    vote: async (turn, frame) => {
      const result = await this.parts.polls.vote(turn.connection.who.userId, frame.pollId, frame.choice);
      if (result.ok) return turn.ack({ pollId: result.pollId, choice: frame.choice });
      if (result.outcome === "unknown_poll") return turn.error("unknown_poll", "no such poll");
      if (result.outcome === "duplicate") return turn.error("already_voted", "one vote per viewer");
      if (result.outcome === "bad_choice") return turn.error("bad_choice", `choice must be 0..${result.choices - 1}`);
      turn.error("poll_closed", "this poll is closed");
    },
    telemetry: (turn, frame) => {
      if (!turn.limits.telemetry.take(this.clock.now())) return turn.error("rate_limited", "telemetry is limited to 1 report per second");
      const { type: _type, ref: _ref, ...sample } = frame;
      const summary = this.parts.telemetry.report(turn.connection, sample);
      if (summary !== null) this.sendToGroup("owner", summary);
      turn.ack();
    },
    poll_open: this.ownerOnly("open a poll", async (turn, frame) => {
      const result = await this.openPollNow(turn.connection.who.userId, frame.question, frame.choices);
      if (!result.ok) return turn.error(result.code as ErrorCode, result.message);
      turn.ack({ pollId: result.value.pollId });
    }),
    poll_close: this.ownerOnly("close a poll", async (turn, frame) => {
      const result = await this.parts.polls.closePoll(frame.pollId);
      if (!result.ok) return turn.error(result.code as ErrorCode, result.message);
      turn.ack({ pollId: frame.pollId });
    }),
    mute: this.ownerOnly("mute", async (turn, frame) => {
      const address = await this.addressOf(frame.userId);
      this.parts.mutes.mute(frame.userId, frame.durationMs ?? null, turn.connection.who.userId, address);
      turn.ack();
    }),
    unmute: this.ownerOnly("unmute", (turn, frame) => {
      this.parts.mutes.unmute(frame.userId);
      turn.ack();
    }),
  };

  /** A handler only the stream's broadcaster (or an admin) may run; `forbidden` for anyone else. */
  private ownerOnly<F>(action: string, handler: (turn: FrameTurn, frame: F) => void | Promise<void>) {
    return (turn: FrameTurn, frame: F) =>
      this.isOwner(turn.connection.who) ? handler(turn, frame) : turn.error("forbidden", `only the stream's broadcaster may ${action}`);
  }

  // ================================================================ Room hooks

  protected override async prepareConnect(_request: ConnectRequest): Promise<void> {
    await this.parts.announcer.load();
  }

  protected override connectionTags(state: FrameworkState): string[] {
    const owner = this.parts.metadata.current?.ownerId ?? null;
    return state.who.role === "broadcaster" && owner !== null && state.who.userId === owner ? ["owner"] : [];
  }

  protected override helloFields(connection: StreamConnection): Record<string, unknown> {
    const meta = this.parts.metadata.current;
    return {
      streamId: this.name,
      status: meta?.status ?? null,
      startedAt: meta?.startedAt ?? null,
      eventId: meta?.eventId ?? null,
      viewerCount: this.connections.count(),
      you: { ...publicUser(connection.who), owner: this.isOwner(connection.who) },
      poll: this.parts.polls.view(),
    };
  }

  protected override onConnect(connection: StreamConnection): void {
    this.parts.audience.joined(this.connections.count(), this.airTime());
    this.parts.presence.join(publicUser(connection.who)).catch((error: unknown) => this.presenceFailed(error));
  }

  protected override onClose(connection: StreamConnection): void {
    this.parts.limits.forget(connection.id);
    this.parts.telemetry.remove(connection.id);
    this.parts.audience.left(this.connections.count(), this.airTime());
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
    const handler = this.handlers[frame.type] as (turn: FrameTurn, frame: StreamClientFrame) => void | Promise<void>;
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

  /**
   * A system event from the origin or the API; `group` makes it a direct frame
   * to that group only. With a `requestId` (signed posts) it is applied once:
   * the same id again answers what the first one did.
   */
  async postSystem(
    event: PostableSystemEvent,
    data: Record<string, unknown> = {},
    group?: GroupFilter,
    requestId?: string,
  ): Promise<RoomResult<PostResult>> {
    if (requestId === undefined) return this.applySystemPost(event, data, group);
    const earlier = this.parts.systemPosts.claim(requestId);
    if (earlier !== null) return ok(earlier);
    let result: RoomResult<PostResult>;
    try {
      result = await this.applySystemPost(event, data, group);
    } catch (error) {
      this.parts.systemPosts.failed(requestId);
      throw error;
    }
    if (result.ok) this.parts.systemPosts.applied(requestId, result.value);
    else this.parts.systemPosts.failed(requestId);
    return result;
  }

  private async applySystemPost(
    event: PostableSystemEvent,
    data: Record<string, unknown>,
    group?: GroupFilter,
  ): Promise<RoomResult<PostResult>> {
    await this.parts.announcer.load();
    if (group !== undefined && Object.keys(group).length > 0) {
      return ok({
        recipients: this.sendToGroup(groupTag(group), { type: "system", event, data, group }, ({ who }) => inGroup(group, who)),
      });
    }
    const now = this.clock.now();
    switch (event) {
      case "stream_started":
        return this.applyStatus("live", typeof data.startedAt === "number" ? data.startedAt : now);
      case "stream_ended":
        return this.applyStatus("ended", typeof data.endedAt === "number" ? data.endedAt : now);
      case "muted":
      case "unmuted":
        return this.parts.mutes.fromPost(event, data, event === "muted" ? await this.addressOf(data.userId) : null);
      case "like":
        await this.parts.likes.add(likeCountOf(data));
        return ok({});
      default:
        return ok({ seq: this.record({ type: "system", event, data }).seq });
    }
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
    return this.record({ type: "event_update", eventId, changes }).seq;
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
    return this.parts.audience.final(this.connections.count(), this.airTime());
  }

  // ================================================================ internals

  /** Log frame of this stream: persisted with its offset from stream start, then broadcast. */
  private record(frame: StreamLogFrame): LoggedFrame {
    return this.publish(frame, this.parts.metadata.offsetAt(this.clock.now()));
  }

  private presenceFailed(error: unknown): void {
    console.error(`stream room ${this.name}: presence timer could not be set`, error);
  }

  private airTime() {
    const meta = this.parts.metadata.current;
    return { startedAt: meta?.startedAt ?? null, endedAt: meta?.endedAt ?? null };
  }

  /**
   * The address fingerprint a mute of `userId` also covers: from one of the
   * user's open sockets, else the one their anonymous account was minted
   * from (D1); null when neither is known.
   */
  private async addressOf(userId: unknown): Promise<string | null> {
    if (typeof userId !== "string") return null;
    for (const connection of this.connections.all(`user:${userId}`)) if (connection.who.address) return connection.who.address;
    try {
      return (await anonymousFingerprint(this.env.DB, userId)) ?? null;
    } catch (error) {
      console.error(`stream room ${this.name}: the muted user's address could not be looked up`, error);
      return null;
    }
  }

  private isOwner(who: ConnectionInfo): boolean {
    const owner = this.parts.metadata.current?.ownerId ?? null;
    return who.role === "admin" || (who.role === "broadcaster" && owner !== null && who.userId === owner);
  }

  private async openPollNow(openedBy: string, question: unknown, choices: unknown): Promise<RoomResult<PollView>> {
    if (this.parts.metadata.ended) return fail(409, "stream_ended", "the stream has ended");
    return this.parts.polls.openPoll(openedBy, question, choices);
  }
}

function publicUser(who: ConnectionInfo): PublicUser {
  return { id: who.userId, role: who.role, anon: who.anon };
}
