/**
 * StreamRoom: one per StreamID (`/ws/streams/<streamId>`): the chat/system
 * event channel of a broadcaster's live stream (seeds/000 II, III.5, IX) and
 * the bidirectional operational channel of seeds/001 (polls, telemetry,
 * groups).
 *
 * Log frames (persisted with seq and offsetMs from stream start, replayed):
 *   chat, system (member_added / member_removed with viewerCount,
 *   stream_started, stream_ended, new_follower, like, gift, thumbnail, muted,
 *   unmuted), poll_open, poll_results (≤ 4/s), poll_closed, event_update and
 *   event_snapshot of the stream's event.
 * Direct frames: hello, error, ack, telemetry_summary (owner), group messages.
 */
import { eq } from "drizzle-orm";
import type { StreamStatus } from "../../schema/index.js";
import type { EventChanges } from "../events/diff.js";
import type { DeviceType } from "../lib/client-info.js";
import { getDb, schema } from "../lib/db.js";
import { randomString } from "../lib/random.js";
import type { TokenRole } from "../lib/session-token.js";
import type { Connection, ConnectionState } from "./connections.js";
import { PollTally, validatePoll, type PollSpec } from "./poll.js";
import {
  CHAT_BURST,
  CHAT_RATE_PER_S,
  checkChatText,
  parseClientFrame,
  STREAM_CLIENT_TYPES,
  StreamClientFrameSchema,
  type Envelope,
  type ErrorCode,
  type StreamClientFrame,
} from "./protocol.js";
import { TokenBucket, Throttle } from "./rate-limit.js";
import { Room, type ConnectRequest } from "./room.js";
import { eventRoom } from "./stubs.js";
import type { LoggedFrame } from "./storage.js";
import { TelemetryAggregator, type TelemetrySample } from "./telemetry.js";

/** How long the stream row read from D1 is trusted. */
const STREAM_META_TTL_MS = 10_000;
/** poll_results at most 4 per second; like counts likewise. */
const RESULTS_INTERVAL_MS = 250;
const LIKES_INTERVAL_MS = 250;
/** telemetry summaries to the broadcaster at most this often */
const TELEMETRY_PUSH_MS = 5_000;
/** largest log window answered at once */
export const MAX_LOG_FRAMES = 5_000;

export interface StreamMeta {
  streamId: string;
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

export type RoomResult<T> = { ok: true; value: T } | { ok: false; status: number; code: string; message: string };

export interface GroupFilter {
  country?: string;
  device?: DeviceType;
  role?: TokenRole;
}

interface Limits {
  chat: TokenBucket;
  like: TokenBucket;
  telemetry: TokenBucket;
}

interface PollRow extends Record<string, SqlStorageValue> {
  id: string;
  question: string;
  choices: string;
  opened_at: number;
  opened_by: string;
  closed_at: number | null;
}

function fail<T>(status: number, code: string, message: string): RoomResult<T> {
  return { ok: false, status, code, message };
}

export class StreamRoom extends Room {
  protected readonly kind = "stream" as const;
  private stream: StreamMeta | null | undefined;
  private poll: PollTally | null | undefined;
  private readonly resultsThrottle = new Throttle(RESULTS_INTERVAL_MS);
  private resultsTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly likeThrottle = new Throttle(LIKES_INTERVAL_MS);
  private pendingLikes = 0;
  private readonly limits = new Map<string, Limits>();
  /** Rebuilt from the sockets' attachments after hibernation (see restoreTelemetry). */
  private telemetryState: TelemetryAggregator | null = null;
  private lastTelemetryPush = 0;
  private muted: Map<string, number | null> | null = null;

  constructor(ctx: DurableObjectState, env: import("../env.js").Env) {
    super(ctx, env);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS polls (
      id TEXT PRIMARY KEY, question TEXT NOT NULL, choices TEXT NOT NULL,
      opened_at INTEGER NOT NULL, opened_by TEXT NOT NULL, closed_at INTEGER, totals TEXT
    )`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS poll_votes (
      poll_id TEXT NOT NULL, voter TEXT NOT NULL, choice INTEGER NOT NULL, at INTEGER NOT NULL,
      PRIMARY KEY (poll_id, voter)
    )`);
    this.sql.exec("CREATE TABLE IF NOT EXISTS muted (user_id TEXT PRIMARY KEY, until INTEGER, at INTEGER NOT NULL)");
  }

  // ================================================================ stream metadata

  private get streamMeta(): StreamMeta | null {
    if (this.stream === undefined) this.stream = this.meta.get<StreamMeta>("stream") ?? null;
    return this.stream;
  }

  private saveStream(meta: StreamMeta): void {
    this.stream = meta;
    this.meta.set("stream", meta);
  }

  /**
   * The stream's row (owner, event, status, start), cached for a few seconds.
   * D1 is the truth for the lifecycle: a room that missed the origin's "ended"
   * (or that was created after it) announces stream_ended when it sees it.
   */
  private async loadStream(streamId: string, maxAgeMs = STREAM_META_TTL_MS): Promise<StreamMeta | null> {
    this.bindRoom(streamId);
    const cached = this.streamMeta;
    if (cached !== null && Date.now() - cached.loadedAt < maxAgeMs) return cached;
    const [row] = await getDb(this.env.DB)
      .select({
        ownerId: schema.streams.ownerId,
        eventId: schema.streams.eventId,
        status: schema.streams.status,
        startedAt: schema.streams.startedAt,
        endedAt: schema.streams.endedAt,
      })
      .from(schema.streams)
      .where(eq(schema.streams.id, streamId))
      .limit(1);
    if (row === undefined) return cached;
    const current = this.streamMeta; // may have changed while D1 answered
    const next: StreamMeta = {
      streamId,
      ownerId: row.ownerId,
      eventId: row.eventId,
      status: current?.status === "ended" ? "ended" : row.status === "ended" ? (current?.status ?? "live") : row.status,
      startedAt: current?.startedAt ?? row.startedAt ?? null,
      endedAt: current?.endedAt ?? null,
      startAnnounced: current?.startAnnounced ?? false,
      endAnnounced: current?.endAnnounced ?? false,
      loadedAt: Date.now(),
    };
    if (next.startedAt !== null && (current?.startedAt ?? null) === null) this.log.backfillOffsets(next.startedAt);
    this.saveStream(next);
    if (row.status === "ended" && !next.endAnnounced) this.announceEnd(row.endedAt ?? Date.now());
    return this.streamMeta;
  }

  /** stream_ended (once): closes the open poll, freezes the log. */
  private announceEnd(endedAt: number): LoggedFrame | null {
    const current = this.streamMeta;
    if (current === null || current.endAnnounced) return null;
    const poll = this.currentPoll();
    if (poll !== null) this.closePollNow(poll.spec.id);
    this.flushLikes();
    const logged = this.record({
      type: "system",
      event: "stream_ended",
      endedAt,
      durationMs: current.startedAt === null ? null : endedAt - current.startedAt,
      viewerCount: this.connections.count(),
      peakViewers: this.meta.get<number>("peakViewers") ?? 0,
      joins: this.meta.get<number>("joins") ?? 0,
      likes: this.meta.get<number>("likes") ?? 0,
    });
    this.saveStream({ ...current, status: "ended", endedAt, endAnnounced: true });
    if (current.eventId !== null) {
      const streamId = current.streamId;
      const eventId = current.eventId;
      this.ctx.waitUntil(
        eventRoom(this.env, eventId)
          .detachStream(eventId, streamId)
          .catch(() => {}),
      );
    }
    return logged;
  }

  private offsetAt(ts: number): number | null {
    const startedAt = this.streamMeta?.startedAt ?? null;
    return startedAt === null ? null : ts - startedAt;
  }

  /** Log frame of this stream: persisted with its offset from stream start, then broadcast. */
  private record(frame: { type: string; [key: string]: unknown }) {
    return this.publish(frame, this.offsetAt(Date.now()));
  }

  private get ended(): boolean {
    return this.streamMeta?.status === "ended";
  }

  private isOwner(connection: Connection): boolean {
    const owner = this.streamMeta?.ownerId ?? null;
    return (
      connection.state.role === "admin" ||
      (connection.state.role === "broadcaster" && owner !== null && connection.state.userId === owner)
    );
  }

  private publicUser(connection: Connection) {
    return { id: connection.state.userId, role: connection.state.role, anon: connection.state.anon };
  }

  // ================================================================ lifecycle hooks

  protected override async prepareConnect(request: ConnectRequest): Promise<void> {
    await this.loadStream(request.roomId);
  }

  protected override connectionTags(state: ConnectionState): string[] {
    const owner = this.streamMeta?.ownerId ?? null;
    return state.role === "broadcaster" && owner !== null && state.userId === owner ? ["owner"] : [];
  }

  protected override helloFields(connection: Connection): Record<string, unknown> {
    const meta = this.streamMeta;
    return {
      streamId: this.roomId,
      status: meta?.status ?? null,
      startedAt: meta?.startedAt ?? null,
      eventId: meta?.eventId ?? null,
      viewerCount: this.connections.count(),
      you: { ...this.publicUser(connection), owner: this.isOwner(connection) },
      poll: this.currentPoll()?.view() ?? null,
    };
  }

  protected override onConnect(connection: Connection): void {
    const count = this.connections.count();
    const peak = this.meta.get<number>("peakViewers") ?? 0;
    if (count > peak) this.meta.set("peakViewers", count);
    this.meta.set("joins", (this.meta.get<number>("joins") ?? 0) + 1);
    this.accrueViewerTime(Date.now());
    if (!this.ended) {
      this.record({ type: "system", event: "member_added", viewerCount: count, user: this.publicUser(connection) });
    }
  }

  protected override onClose(connection: Connection): void {
    this.limits.delete(connection.id);
    this.telemetry.remove(connection.id);
    this.meta.set("leaves", (this.meta.get<number>("leaves") ?? 0) + 1);
    this.accrueViewerTime(Date.now());
    if (!this.ended) {
      this.record({
        type: "system",
        event: "member_removed",
        viewerCount: this.connections.count(),
        user: this.publicUser(connection),
      });
    }
  }

  protected override async onMessage(connection: Connection, envelope: Envelope): Promise<void> {
    const parsed = parseClientFrame(envelope, STREAM_CLIENT_TYPES, StreamClientFrameSchema);
    if (!parsed.ok) {
      this.sendError(connection, parsed.code, parsed.message, envelope.ref);
      return;
    }
    const frame: StreamClientFrame = parsed.frame;
    const now = Date.now();
    const limits = this.limitsFor(connection, now);
    const error = (code: ErrorCode, message: string) => this.sendError(connection, code, message, frame.ref);
    const ack = (fields: Record<string, unknown> = {}) => {
      if (frame.ref !== undefined) this.send(connection, { type: "ack", ref: frame.ref, of: frame.type, ...fields });
    };

    switch (frame.type) {
      case "chat": {
        if (this.ended) return error("stream_ended", "the stream has ended");
        if (this.isMuted(connection.state.userId, now)) return error("muted", "you are muted in this room");
        const text = checkChatText(frame.text);
        if (!text.ok) return error("bad_frame", text.message);
        if (!limits.chat.take(now)) return error("rate_limited", `chat is limited to ${CHAT_RATE_PER_S}/s (burst ${CHAT_BURST})`);
        const logged = this.record({ type: "chat", from: this.publicUser(connection), text: text.text });
        return ack({ seq: logged.seq });
      }
      case "like": {
        if (this.ended) return error("stream_ended", "the stream has ended");
        if (!limits.like.take(now)) return error("rate_limited", "likes are limited to 5/s (burst 10)");
        this.addLikes(1);
        return ack();
      }
      case "vote": {
        const poll = this.currentPoll();
        if (poll === null || poll.spec.id !== frame.pollId) {
          return this.pollExists(frame.pollId) ? error("poll_closed", "this poll is closed") : error("unknown_poll", "no such poll");
        }
        const outcome = poll.vote(connection.state.userId, frame.choice);
        if (outcome === "duplicate") return error("already_voted", "one vote per viewer");
        if (outcome === "bad_choice") return error("bad_choice", `choice must be 0..${poll.spec.choices.length - 1}`);
        if (outcome === "closed") return error("poll_closed", "this poll is closed");
        // persist the vote before anything acknowledges it
        this.sql.exec(
          "INSERT INTO poll_votes (poll_id, voter, choice, at) VALUES (?, ?, ?, ?)",
          poll.spec.id,
          connection.state.userId,
          frame.choice,
          now,
        );
        this.scheduleResults();
        return ack({ pollId: poll.spec.id, choice: frame.choice });
      }
      case "telemetry": {
        if (!limits.telemetry.take(now)) return error("rate_limited", "telemetry is limited to 1 report per second");
        const { type: _t, ref: _r, ...sample } = frame;
        const telemetry = this.telemetry;
        telemetry.report(connection.id, this.groupsOf(connection), sample as TelemetrySample);
        // Kept in the socket's attachment so aggregates survive the room hibernating.
        const latest = telemetry.latest(connection.id)!;
        connection.state.telemetry = { sample: latest.sample as Record<string, number>, reports: latest.reports };
        this.connections.save(connection);
        this.maybePushTelemetry(now);
        return ack();
      }
      case "poll_open": {
        if (!this.isOwner(connection)) return error("forbidden", "only the stream's broadcaster may open a poll");
        const result = this.openPollNow(connection.state.userId, frame.question, frame.choices);
        if (!result.ok) return error(result.code as ErrorCode, result.message);
        return ack({ pollId: result.value.pollId });
      }
      case "poll_close": {
        if (!this.isOwner(connection)) return error("forbidden", "only the stream's broadcaster may close a poll");
        const result = this.closePollNow(frame.pollId);
        if (!result.ok) return error(result.code as ErrorCode, result.message);
        return ack({ pollId: frame.pollId });
      }
      case "mute": {
        if (!this.isOwner(connection)) return error("forbidden", "only the stream's broadcaster may mute");
        this.mute(frame.userId, frame.durationMs ?? null, connection.state.userId);
        return ack();
      }
      case "unmute": {
        if (!this.isOwner(connection)) return error("forbidden", "only the stream's broadcaster may unmute");
        this.unmute(frame.userId);
        return ack();
      }
    }
  }

  private limitsFor(connection: Connection, now: number): Limits {
    let limits = this.limits.get(connection.id);
    if (limits === undefined) {
      limits = {
        chat: new TokenBucket(CHAT_RATE_PER_S, CHAT_BURST, now),
        like: new TokenBucket(5, 10, now),
        telemetry: new TokenBucket(1, 3, now),
      };
      this.limits.set(connection.id, limits);
    }
    return limits;
  }

  private groupsOf(connection: Connection): string[] {
    const groups = [`device:${connection.state.device}`];
    if (connection.state.country !== null) groups.push(`country:${connection.state.country}`);
    return groups;
  }

  // ================================================================ likes

  private addLikes(count: number): void {
    this.pendingLikes += count;
    const decision = this.likeThrottle.request(Date.now());
    if (decision.now) {
      this.flushLikes();
    } else if (!decision.alreadyPending) {
      setTimeout(() => {
        this.likeThrottle.fired(Date.now());
        this.flushLikes();
      }, Math.max(0, decision.at - Date.now()));
    }
  }

  private flushLikes(): void {
    if (this.pendingLikes === 0) return;
    const total = (this.meta.get<number>("likes") ?? 0) + this.pendingLikes;
    this.meta.set("likes", total);
    const count = this.pendingLikes;
    this.pendingLikes = 0;
    this.record({ type: "system", event: "like", count, total });
  }

  // ================================================================ polls

  private currentPoll(): PollTally | null {
    if (this.poll === undefined) {
      const row = this.sql
        .exec<PollRow>("SELECT id, question, choices, opened_at, opened_by, closed_at FROM polls WHERE closed_at IS NULL ORDER BY opened_at DESC LIMIT 1")
        .toArray()[0];
      if (row === undefined) {
        this.poll = null;
      } else {
        const spec: PollSpec = {
          id: row.id,
          question: row.question,
          choices: JSON.parse(row.choices) as string[],
          openedAt: row.opened_at,
          openedBy: row.opened_by,
        };
        const votes = this.sql
          .exec<{ voter: string; choice: number }>("SELECT voter, choice FROM poll_votes WHERE poll_id = ?", row.id)
          .toArray()
          .map((v) => [v.voter, v.choice] as const);
        this.poll = new PollTally(spec, votes);
      }
    }
    return this.poll;
  }

  private pollExists(pollId: string): boolean {
    return this.sql.exec("SELECT 1 FROM polls WHERE id = ?", pollId).toArray().length > 0;
  }

  private openPollNow(openedBy: string, question: unknown, choices: unknown): RoomResult<ReturnType<PollTally["view"]>> {
    if (this.ended) return fail(409, "stream_ended", "the stream has ended");
    const valid = validatePoll(question, choices);
    if (!valid.ok) return fail(400, "bad_frame", valid.message);
    if (this.currentPoll() !== null) return fail(409, "poll_already_open", "close the open poll first");
    const spec: PollSpec = {
      id: randomString(12, "0123456789abcdefghijklmnopqrstuvwxyz"),
      question: valid.question,
      choices: valid.choices,
      openedAt: Date.now(),
      openedBy,
    };
    this.sql.exec(
      "INSERT INTO polls (id, question, choices, opened_at, opened_by) VALUES (?, ?, ?, ?, ?)",
      spec.id,
      spec.question,
      JSON.stringify(spec.choices),
      spec.openedAt,
      spec.openedBy,
    );
    this.poll = new PollTally(spec);
    this.resultsThrottle.cancel();
    this.record({ type: "poll_open", pollId: spec.id, question: spec.question, choices: spec.choices, openedBy });
    return { ok: true, value: this.poll.view() };
  }

  private closePollNow(pollId: string): RoomResult<ReturnType<PollTally["view"]>> {
    const poll = this.currentPoll();
    if (poll === null || poll.spec.id !== pollId) {
      return this.pollExists(pollId) ? fail(409, "poll_closed", "this poll is already closed") : fail(404, "unknown_poll", "no such poll");
    }
    const now = Date.now();
    poll.close(now);
    if (this.resultsTimer !== null) clearTimeout(this.resultsTimer);
    this.resultsTimer = null;
    this.resultsThrottle.cancel();
    const view = poll.view();
    this.sql.exec("UPDATE polls SET closed_at = ?, totals = ? WHERE id = ?", now, JSON.stringify(view.totals), pollId);
    this.poll = null;
    this.record({ type: "poll_closed", pollId, question: view.question, choices: view.choices, totals: view.totals, total: view.total });
    return { ok: true, value: view };
  }

  /** poll_results now, or at the end of the current 250 ms window. */
  private scheduleResults(): void {
    const decision = this.resultsThrottle.request(Date.now());
    if (decision.now) {
      this.publishResults();
    } else if (!decision.alreadyPending) {
      this.resultsTimer = setTimeout(() => {
        this.resultsTimer = null;
        this.resultsThrottle.fired(Date.now());
        this.publishResults();
      }, Math.max(0, decision.at - Date.now()));
    }
  }

  private publishResults(): void {
    const poll = this.currentPoll();
    if (poll === null) return;
    const view = poll.view();
    this.record({ type: "poll_results", pollId: view.pollId, totals: view.totals, total: view.total });
  }

  // ================================================================ mutes

  private mutedUsers(): Map<string, number | null> {
    if (this.muted === null) {
      this.muted = new Map(
        this.sql
          .exec<{ user_id: string; until: number | null }>("SELECT user_id, until FROM muted")
          .toArray()
          .map((r) => [r.user_id, r.until] as const),
      );
    }
    return this.muted;
  }

  private isMuted(userId: string, now: number): boolean {
    const users = this.mutedUsers();
    if (!users.has(userId)) return false;
    const until = users.get(userId) ?? null;
    return until === null || until > now;
  }

  private mute(userId: string, durationMs: number | null, by: string) {
    const now = Date.now();
    const until = durationMs === null ? null : now + durationMs;
    this.sql.exec(
      "INSERT INTO muted (user_id, until, at) VALUES (?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET until = excluded.until, at = excluded.at",
      userId,
      until,
      now,
    );
    this.mutedUsers().set(userId, until);
    return this.record({ type: "system", event: "muted", userId, until, by });
  }

  private unmute(userId: string) {
    this.sql.exec("DELETE FROM muted WHERE user_id = ?", userId);
    this.mutedUsers().delete(userId);
    return this.record({ type: "system", event: "unmuted", userId });
  }

  // ================================================================ telemetry

  /** The aggregator, rebuilt from the open sockets' attachments when the room wakes from hibernation. */
  private get telemetry(): TelemetryAggregator {
    if (this.telemetryState === null) {
      const restored = new TelemetryAggregator();
      for (const connection of this.connections.all()) {
        const kept = connection.state.telemetry;
        if (kept) restored.restore(connection.id, this.groupsOf(connection), kept.sample as TelemetrySample, kept.reports);
      }
      this.telemetryState = restored;
    }
    return this.telemetryState;
  }

  private maybePushTelemetry(now: number): void {
    if (now - this.lastTelemetryPush < TELEMETRY_PUSH_MS) return;
    this.lastTelemetryPush = now;
    this.sendToGroup("owner", { type: "telemetry_summary", reports: this.telemetry.reports, groups: this.telemetry.summary() });
  }

  // ================================================================ final statistics (control plane)

  /**
   * Viewer-time integral for the average concurrent audience: the count that
   * held since the last change, counted only between stream start and end.
   * Runs after every connect/close (the count is already the new one).
   */
  private accrueViewerTime(now: number): void {
    const meta = this.streamMeta;
    const lastAt = this.meta.get<number>("countAt");
    const lastCount = this.meta.get<number>("countPrev") ?? 0;
    if (meta?.startedAt != null && lastAt !== undefined) {
      const from = Math.max(lastAt, meta.startedAt);
      const to = meta.endedAt != null ? Math.min(now, meta.endedAt) : now;
      if (to > from) this.meta.set("viewerMs", (this.meta.get<number>("viewerMs") ?? 0) + lastCount * (to - from));
    }
    this.meta.set("countAt", now);
    this.meta.set("countPrev", this.connections.count());
  }

  /** Final viewer statistics (seeds/000 VIII.1): duration, peak and average concurrent sockets, joins, leaves. */
  async finalStats(streamId: string) {
    const meta = await this.loadStream(streamId);
    const endedAt = meta?.endedAt ?? Date.now();
    this.accrueViewerTime(endedAt);
    const startedAt = meta?.startedAt ?? null;
    const durationMs = startedAt === null ? 0 : Math.max(0, endedAt - startedAt);
    const viewerMs = this.meta.get<number>("viewerMs") ?? 0;
    return {
      startedAt,
      endedAt,
      durationMs,
      peakViewers: this.meta.get<number>("peakViewers") ?? 0,
      avgViewers: durationMs > 0 ? viewerMs / durationMs : 0,
      joins: this.meta.get<number>("joins") ?? 0,
      leaves: this.meta.get<number>("leaves") ?? 0,
    };
  }

  // ================================================================ RPC (Worker, EventRoom)

  /** Room state for the API (`GET /api/streams/:id`). */
  async info(streamId: string) {
    const meta = await this.loadStream(streamId);
    return {
      viewerCount: this.connections.count(),
      lastSeq: this.log.lastSeq,
      status: meta?.status ?? null,
      startedAt: meta?.startedAt ?? null,
      peakViewers: this.meta.get<number>("peakViewers") ?? 0,
    };
  }

  /** A system event from the origin or the API; `group` makes it a direct frame to that group only. */
  async postSystem(
    streamId: string,
    event: string,
    data: Record<string, unknown> = {},
    group?: GroupFilter,
  ): Promise<RoomResult<{ seq?: number; recipients?: number }>> {
    await this.loadStream(streamId);
    if (group !== undefined && Object.keys(group).length > 0) {
      const tag = group.country ? `country:${group.country}` : group.device ? `device:${group.device}` : group.role ? `role:${group.role}` : undefined;
      const recipients = this.sendToGroup(tag, { type: "system", event, data, group }, (c) => {
        if (group.country !== undefined && c.state.country !== group.country) return false;
        if (group.device !== undefined && c.state.device !== group.device) return false;
        if (group.role !== undefined && c.state.role !== group.role) return false;
        return true;
      });
      return { ok: true, value: { recipients } };
    }
    switch (event) {
      case "stream_started":
        return this.streamStatus(streamId, "live", typeof data.startedAt === "number" ? data.startedAt : Date.now());
      case "stream_ended":
        return this.streamStatus(streamId, "ended", typeof data.endedAt === "number" ? data.endedAt : Date.now());
      case "muted": {
        if (typeof data.userId !== "string" || !/^[A-Za-z0-9_.:-]{1,64}$/.test(data.userId)) {
          return fail(400, "invalid_body", "muted needs data.userId");
        }
        const duration = typeof data.durationMs === "number" && data.durationMs > 0 ? data.durationMs : null;
        return { ok: true, value: { seq: this.mute(data.userId, duration, "system").seq } };
      }
      case "unmuted": {
        if (typeof data.userId !== "string") return fail(400, "invalid_body", "unmuted needs data.userId");
        return { ok: true, value: { seq: this.unmute(data.userId).seq } };
      }
      case "like": {
        const count = typeof data.count === "number" && Number.isInteger(data.count) && data.count > 0 ? Math.min(data.count, 1_000_000) : 1;
        this.addLikes(count);
        return { ok: true, value: {} };
      }
      default:
        return { ok: true, value: { seq: this.record({ type: "system", event, data }).seq } };
    }
  }

  /** Stream lifecycle from the origin (status / publish routes) or a system post. */
  async streamStatus(streamId: string, status: StreamStatus, at: number): Promise<RoomResult<{ seq?: number }>> {
    const meta = await this.loadStream(streamId, 0);
    const current: StreamMeta = meta ?? {
      streamId,
      ownerId: null,
      eventId: null,
      status: "created",
      startedAt: null,
      endedAt: null,
      startAnnounced: false,
      endAnnounced: false,
      loadedAt: Date.now(),
    };
    if (meta === null) this.saveStream(current);
    if (current.endAnnounced) return { ok: true, value: {} };
    if (status === "ended") {
      const logged = this.announceEnd(at);
      return { ok: true, value: logged === null ? {} : { seq: logged.seq } };
    }
    if (status === "live") {
      if (current.startAnnounced) {
        this.saveStream({ ...current, status: "live" });
        return { ok: true, value: {} };
      }
      const startedAt = current.startedAt ?? at;
      if (current.startedAt === null) this.log.backfillOffsets(startedAt);
      this.saveStream({ ...current, status: "live", startedAt, startAnnounced: true });
      const logged = this.record({ type: "system", event: "stream_started", startedAt });
      if (current.eventId !== null) await this.recordEventSnapshot(current.eventId);
      return { ok: true, value: { seq: logged.seq } };
    }
    this.saveStream({ ...current, status });
    return { ok: true, value: {} };
  }

  /** Subscribes this stream's log to its event's updates and logs the event's state at the start. */
  private async recordEventSnapshot(eventId: string): Promise<void> {
    const streamId = this.roomId;
    if (streamId === null) return;
    try {
      const event = await eventRoom(this.env, eventId).attachStream(eventId, streamId);
      if (event !== null) this.record({ type: "event_snapshot", eventId, event });
    } catch (error) {
      console.warn(`stream ${streamId}: no snapshot of event ${eventId}`, error);
    }
  }

  /** An update of the stream's event, from its EventRoom: logged with its offset and broadcast. */
  async recordEvent(streamId: string, eventId: string, changes: EventChanges): Promise<number | null> {
    const meta = await this.loadStream(streamId);
    if (meta === null || meta.status === "ended" || meta.eventId !== eventId) return null;
    return this.record({ type: "event_update", eventId, changes }).seq;
  }

  /** The replay log window from ≤ offsetMs < to, in order. */
  async logWindow(streamId: string, fromMs: number, toMs: number, limit = MAX_LOG_FRAMES) {
    const meta = await this.loadStream(streamId);
    const { frames, truncated } = this.log.window(fromMs, toMs, Math.min(limit, MAX_LOG_FRAMES));
    return {
      status: meta?.status ?? null,
      startedAt: meta?.startedAt ?? null,
      ended: meta?.status === "ended",
      truncated,
      frames,
    };
  }

  async openPoll(streamId: string, userId: string, question: string, choices: string[]) {
    const meta = await this.loadStream(streamId);
    if (meta === null) return fail(404, "unknown_stream", "no such stream");
    return this.openPollNow(userId, question, choices);
  }

  async closePoll(streamId: string, pollId: string) {
    await this.loadStream(streamId);
    return this.closePollNow(pollId);
  }

  async pollView(streamId: string) {
    await this.loadStream(streamId);
    return this.currentPoll()?.view() ?? null;
  }

  async telemetrySummary(streamId: string) {
    await this.loadStream(streamId);
    return { reports: this.telemetry.reports, groups: this.telemetry.summary() };
  }
}
