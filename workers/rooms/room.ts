/**
 * Room: the small base both socket rooms extend (in the spirit of
 * partyserver's `Server`). A room is a Durable Object on the WebSocket
 * Hibernation API with:
 *
 * - lifecycle hooks: `prepareConnect` (async work before a socket is
 *   accepted), `onConnect`, `onMessage` (a decoded JSON frame), `onClose`,
 *   `onTimer` (named timers on the DO alarm);
 * - a connection manager (connections.ts) with tags for targeted sends;
 * - a frame log (storage.ts): `publish()` persists a frame with the next
 *   room-monotonic `seq` BEFORE it is sent to anyone; `send()` / `sendToGroup()`
 *   are direct frames that carry the seq of the latest log frame and are not
 *   replayed;
 * - replay on reconnect (`?since=<seq>`): everything after seq, in order,
 *   then live frames, in the same synchronous turn as the accept, so there is
 *   no gap and no duplicate;
 * - the common protocol rules (protocol.ts): 4 KiB frames, JSON, flood → 1008,
 *   token expiry → 4001 (checked on every message and by a timer), `ping`
 *   answered `pong` by the runtime without waking the room.
 *
 * The Worker authenticates the upgrade and passes who connects in the
 * `x-room-connect` header (never the token). A room's identity (the StreamID
 * or EventID) is its Durable Object name, `ctx.id.name`: every stub comes
 * from stubs.ts, which addresses rooms by name, so no RPC carries the id.
 * Rooms read the time through `this.clock` (clock.ts).
 */
import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import type { Env } from "../env.js";
import { DEVICE_TYPES } from "../lib/client-info.js";
import { errorResponse } from "../lib/errors.js";
import { randomString } from "../lib/random.js";
import { TOKEN_ROLES } from "../lib/session-token.js";
import { systemClock, type Clock } from "./clock.js";
import { baseTags, type Connection, ConnectionManager, type FrameworkState } from "./connections.js";
import type { DirectFrame, LoggedFrame, LogFrame } from "./frames.js";
import { CLOSE_CODES, decodeEnvelope, FLOOD_LIMIT, FLOOD_WINDOW_MS, PING, PONG, type Envelope, type ErrorCode } from "./protocol.js";
import { FloodGuard } from "./rate-limit.js";
import { FrameLog, MetaStore, Timers } from "./storage.js";

export const CONNECT_HEADER = "x-room-connect";
/** Frames replayed at most on one connect; the rest needs another `since`. */
const MAX_REPLAY = 5_000;
const TOKEN_TIMER = "token-expiry";
const NAME_KEY = "name";
const ALARM_SLACK_MS = 5;

/** The Worker's description of who connects (a header on the upgrade); rooms and event shards read it. */
export const ConnectRequestSchema = z.object({
  since: z.number().int().min(0).nullable(),
  info: z.object({
    userId: z.string().min(1).max(64),
    role: z.enum(TOKEN_ROLES),
    anon: z.boolean(),
    exp: z.number().int().positive(),
    country: z
      .string()
      .regex(/^[A-Z]{2}$/)
      .nullable(),
    device: z.enum(DEVICE_TYPES),
    address: z
      .string()
      .regex(/^[0-9a-f]{16,64}$/)
      .nullable()
      .optional(),
  }),
});
export type ConnectRequest = z.infer<typeof ConnectRequestSchema>;

export type RoomKind = "stream" | "event";

/** `App` is what the room keeps per socket in the attachment's app half. */
export abstract class Room<App = unknown> extends DurableObject<Env> {
  protected abstract readonly kind: RoomKind;
  protected readonly clock: Clock;
  protected readonly sql: SqlStorage;
  protected readonly meta: MetaStore;
  protected readonly log: FrameLog;
  protected readonly connections: ConnectionManager<App>;
  protected readonly timers: Timers;
  private readonly floods = new Map<string, FloodGuard>();
  private knownName: string | undefined;

  constructor(ctx: DurableObjectState, env: Env, clock: Clock = systemClock) {
    super(ctx, env);
    this.clock = clock;
    this.sql = ctx.storage.sql;
    this.meta = new MetaStore(this.sql);
    this.log = new FrameLog(this.sql);
    this.timers = new Timers(ctx.storage, this.sql);
    this.connections = new ConnectionManager<App>(ctx);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
    if (ctx.id.name !== undefined) void this.name; // remember it while the runtime tells it
  }

  // ---------------------------------------------------------------- hooks

  /** Async work before a socket is accepted (load state, first snapshot ...). */
  protected async prepareConnect(_request: ConnectRequest): Promise<void> {}
  /** Extra tags for a new connection (at most 10 tags in all). */
  protected connectionTags(_state: FrameworkState): string[] {
    return [];
  }

  /** A new socket's framework state: a fresh id, and its tags (base ones plus the room's own). */
  protected connectionState(who: FrameworkState["who"]): FrameworkState {
    const state: FrameworkState = {
      who,
      id: randomString(12, "0123456789abcdefghijklmnopqrstuvwxyz"),
      joinedAt: this.clock.now(),
      tags: [],
    };
    state.tags = [...baseTags(state), ...this.connectionTags(state)];
    return state;
  }

  /** Fields of the `hello` frame a new connection gets after its replay. */
  protected helloFields(_connection: Connection<App>): Record<string, unknown> {
    return {};
  }
  /** Runs in the same synchronous turn as the accept, after replay and hello. */
  protected onConnect(_connection: Connection<App>): void {}
  protected abstract onMessage(connection: Connection<App>, frame: Envelope): void | Promise<void>;
  /** The connection is gone (closed by either side, or errored); runs once. */
  protected onClose(_connection: Connection<App>): void {}
  /** A timer set with `timers.set(name, at)` is due (the room's only way to run later). */
  protected async onTimer(_name: string): Promise<void> {}

  // ---------------------------------------------------------------- identity

  /**
   * The StreamID / EventID this room serves: its Durable Object name
   * (stubs.ts). Kept in storage the first time the runtime tells it, for an
   * instance that wakes without it (an alarm after eviction, on runtimes
   * that do not restore the name).
   */
  protected get name(): string {
    if (this.knownName === undefined) {
      const given = this.ctx.id.name;
      const stored = this.meta.get<string>(NAME_KEY);
      if (given !== undefined && given !== stored) this.meta.set(NAME_KEY, given);
      this.knownName = given ?? stored;
    }
    if (this.knownName === undefined)
      throw new Error(`${this.kind} room ${this.ctx.id.toString()} was never addressed by name (use stubs.ts)`);
    return this.knownName;
  }

  // ---------------------------------------------------------------- frames

  /** Persists a log frame (next seq), then sends it to every open connection. */
  protected publish(frame: LogFrame, offsetMs?: number | null): LoggedFrame {
    const logged = this.log.append(frame, { ts: this.clock.now(), offsetMs });
    for (const connection of this.connections.all()) connection.send(logged.text);
    return logged;
  }

  /** A direct frame (not logged, not replayed) carrying the latest seq. */
  protected directFrame(frame: DirectFrame): string {
    const { type, ...fields } = frame;
    return JSON.stringify({ type, seq: this.log.lastSeq, ts: this.clock.now(), ...fields });
  }

  protected send(connection: Connection<App>, frame: DirectFrame): void {
    connection.send(this.directFrame(frame));
  }

  protected sendError(connection: Connection<App>, code: ErrorCode, message: string, ref?: string): void {
    this.send(connection, { type: "error", code, message, ...(ref !== undefined ? { ref } : {}) });
  }

  /** Direct frame to the open connections with `tag` that pass `filter`; returns how many. */
  protected sendToGroup(tag: string | undefined, frame: DirectFrame, filter?: (c: Connection<App>) => boolean): number {
    const text = this.directFrame(frame);
    let sent = 0;
    for (const connection of this.connections.all(tag)) {
      if (filter !== undefined && !filter(connection)) continue;
      if (connection.send(text)) sent++;
    }
    return sent;
  }

  /** Closes a connection from the server side and runs onClose once. */
  protected closeConnection(connection: Connection<App>, code: number, reason: string): void {
    if (connection.framework.closed === true) return;
    connection.markClosed();
    connection.close(code, reason);
    this.gone(connection);
  }

  // ---------------------------------------------------------------- RPC

  /** Connected sockets right now. */
  async viewerCount(): Promise<number> {
    return this.connections.count();
  }

  // ---------------------------------------------------------------- runtime handlers

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return errorResponse(426, "upgrade_required", "expected a WebSocket upgrade", { Upgrade: "websocket" });
    }
    let connect: ConnectRequest;
    try {
      connect = ConnectRequestSchema.parse(JSON.parse(request.headers.get(CONNECT_HEADER) ?? ""));
    } catch {
      return errorResponse(400, "bad_connect", "missing or malformed connection description");
    }
    await this.prepareConnect(connect);

    const { 0: client, 1: server } = new WebSocketPair();
    const state = this.connectionState(connect.info);

    // One synchronous turn from the accept to the end of the replay: no
    // frame can be published in between, so replay + live has no gap and no
    // duplicate.
    const connection = this.connections.accept(server, state);
    let replayed = 0;
    let truncated = false;
    if (connect.since !== null && connect.since < this.log.lastSeq) {
      const frames = this.log.after(connect.since, MAX_REPLAY);
      for (const text of frames) connection.send(text);
      replayed = frames.length;
      truncated = connect.since + replayed < this.log.lastSeq;
    }
    if (truncated) {
      this.sendError(
        connection,
        "replay_truncated",
        `replayed ${replayed} frames; reconnect with since=${connect.since! + replayed} for the rest`,
      );
    }
    this.send(connection, {
      type: "hello",
      connectionId: state.id,
      room: { kind: this.kind, id: this.name },
      replayed,
      ...this.helloFields(connection),
    });
    this.onConnect(connection);

    await this.timers.setEarliest(TOKEN_TIMER, state.who.exp);
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const connection = this.connections.get(ws);
    if (connection === null || connection.framework.closed === true) return;
    const now = this.clock.now();
    if (now >= connection.who.exp) {
      this.closeConnection(connection, CLOSE_CODES.tokenExpired, "token expired");
      return;
    }
    let flood = this.floods.get(connection.id);
    if (flood === undefined) {
      flood = new FloodGuard(FLOOD_LIMIT, FLOOD_WINDOW_MS);
      this.floods.set(connection.id, flood);
    }
    if (flood.hit(now)) {
      this.closeConnection(connection, CLOSE_CODES.policyViolation, `more than ${FLOOD_LIMIT} frames per second`);
      return;
    }
    const decoded = decodeEnvelope(message);
    if (!decoded.ok) {
      this.sendError(connection, decoded.code, decoded.message, decoded.ref);
      return;
    }
    try {
      await this.onMessage(connection, decoded.frame);
    } catch (error) {
      console.error(`${this.kind} room ${this.name}: frame '${decoded.frame.type}' failed`, error);
      this.sendError(connection, "internal_error", "the room could not handle this frame", decoded.frame.ref);
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string, _wasClean: boolean): Promise<void> {
    const connection = this.connections.get(ws);
    if (connection === null || connection.framework.closed === true) return;
    connection.markClosed();
    // complete the closing handshake (1005/1006 cannot be sent back)
    connection.close(code === 1005 || code === 1006 || code < 1000 ? CLOSE_CODES.normal : code, reason);
    this.gone(connection);
  }

  override async webSocketError(ws: WebSocket, _error: unknown): Promise<void> {
    const connection = this.connections.get(ws);
    if (connection === null || connection.framework.closed === true) return;
    connection.markClosed();
    this.gone(connection);
  }

  override async alarm(): Promise<void> {
    // a few ms of slack: the clock the handler sees may trail the alarm's time
    const now = this.clock.now() + ALARM_SLACK_MS;
    for (const name of this.timers.takeDue(now)) {
      try {
        if (name === TOKEN_TIMER) await this.expireTokens(this.clock.now());
        else await this.onTimer(name);
      } catch (error) {
        console.error(`${this.kind} room ${this.name}: timer '${name}' failed`, error);
      }
    }
    await this.timers.sync(true);
  }

  // ---------------------------------------------------------------- internals

  private gone(connection: Connection<App>): void {
    this.floods.delete(connection.id);
    try {
      this.onClose(connection);
    } catch (error) {
      console.error(`${this.kind} room ${this.name}: onClose failed`, error);
    }
  }

  /** Closes sockets whose token expired (4001) and re-arms for the next expiry. */
  private async expireTokens(now: number): Promise<void> {
    let next = Infinity;
    for (const connection of this.connections.all()) {
      if (connection.who.exp <= now) this.closeConnection(connection, CLOSE_CODES.tokenExpired, "token expired");
      else next = Math.min(next, connection.who.exp);
    }
    if (next !== Infinity) await this.timers.set(TOKEN_TIMER, next);
  }
}
