/**
 * FanoutShard: what every fan-out shard is (EventShard, StreamShard), a
 * Durable Object named `<roomId>#<index>` (stubs.ts) that holds sockets of
 * one room while the room stays the single point of entry (one seq, one
 * log): the room pushes every log frame, as the exact text it logged, to
 * every shard it knows (`deliver`), and direct frames for some sockets
 * (`sendDirect`). docs/architecture.md, "Event fan-out shards".
 *
 * Order and completeness, per shard: the shard delivers frame `seq` only
 * right after `seq - 1`. A duplicate is dropped; a hole (a push that failed,
 * or overtook another) makes it ask the room for everything after its last
 * seq (`shardSync`) before going on. A shard without sockets just follows
 * the room's seq. Its last seq and its last KEEP frames are in its SQLite
 * (shard-log.ts), so an evicted shard wakes where it was, and the room
 * re-pushes what a shard has not acknowledged.
 *
 * Joining: for a socket with `?since=` the shard replays from its own copy
 * when it reaches back that far, else from the room's log, then `hello`
 * (the subclass's fields and `shard`), then the subclass's `onConnect`, in
 * the turn that accepts it - the same frames, in the same order, as the room
 * itself would send. A socket whose `since` is ahead of the shard (it came
 * from a shard further along) waits until this shard has caught up, so it
 * gets nothing twice. The state (`ShardState`) is the room's as of the
 * shard's last frame; the shard asks the room again when it is older than
 * STATE_TTL_MS, or when its first socket joins (that call also registers
 * the shard and runs the room's own join work).
 *
 * The socket protocol is the room framework's (room.ts): same limits, flood
 * and token rules, `ping` answered by the runtime. Only the upgrade itself
 * (`fetch`) is the shard's own, because the replay source differs.
 */
import type { z } from "zod";
import type { Env } from "../../env.js";
import { errorResponse } from "../../lib/errors.js";
import type { DirectFrame } from "../frames.js";
import { CONNECT_HEADER, ConnectRequestSchema, Room } from "../room.js";
import { inGroup } from "../stream/groups.js";
import { ShardLog } from "./shard-log.js";
import {
  SHARD_CAPACITY_HEADER,
  SHARD_FULL_HEADER,
  type ShardDelivery,
  type ShardReport,
  type ShardRoomCalls,
  type ShardState,
  type TargetedFrame,
} from "./shard-protocol.js";

/** A state older than this is asked again from the room when a socket joins or asks for it. */
const STATE_TTL_MS = 2_000;
/** Frames replayed at most on one connect, as in room.ts. */
const MAX_REPLAY = 5_000;
/** The framework's token timer (room.ts handles it in alarm()). */
const TOKEN_TIMER = "token-expiry";
const RESYNC_TIMER = "resync";
const RESYNC_MAX_MS = 30_000;
/** rounds of one sync (each asks for everything after the shard's last seq, at most 5,000 frames) */
const SYNC_ROUNDS = 10;
const STATE_KEY = "state";

/**
 * The room's connect header (room.ts), with unknown fields of `info` kept, so
 * whatever the Worker adds reaches the connection as it does on a room.
 */
const ConnectSchema = ConnectRequestSchema.extend({ info: ConnectRequestSchema.shape.info.passthrough() });

function newer<S>(a: ShardState<S>, b: ShardState<S> | null): boolean {
  return b === null || a.seq > b.seq || (a.seq === b.seq && a.at >= b.at);
}

export abstract class FanoutShard<S, App = unknown> extends Room<App> {
  protected readonly recent: ShardLog;
  private stateCache: ShardState<S> | null | undefined;
  private stateReceivedAt = 0;
  private syncing: Promise<void> | null = null;
  /** a hole was seen while a sync was running: run it once more */
  private syncAgain = false;
  private lastReport = 0;
  /** upgrades between the capacity check and the accept: counted in reports (the room must not stop polling for them) */
  private joining = 0;
  private resyncDelayMs = 1_000;
  /**
   * Whether reports count the sockets still joining: the EventRoom must not
   * stop polling for them; a StreamRoom's viewer count and presence read the
   * reports, and a join refused at capacity must not inflate them.
   */
  protected readonly reportsJoining: boolean = true;
  /** callers waiting until the shard has delivered a seq (`delivered`) */
  private readonly waiters = new Set<{ seq: number; done: () => void }>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.recent = new ShardLog(this.sql);
  }

  /** The room's side of the sync / replay / report calls. */
  protected abstract roomCalls(): ShardRoomCalls<S>;

  // ================================================================ identity

  /** The room's id (the event's or stream's): the shard's name without `#<index>`. */
  protected get roomId(): string {
    const name = this.name;
    return name.slice(0, name.lastIndexOf("#"));
  }

  protected get index(): number {
    const name = this.name;
    return Number(name.slice(name.lastIndexOf("#") + 1));
  }

  protected get state(): ShardState<S> | null {
    if (this.stateCache === undefined) this.stateCache = this.meta.get<ShardState<S>>(STATE_KEY) ?? null;
    return this.stateCache;
  }

  // ================================================================ RPC (from the room)

  /** The room pushes frames (and its state after them). */
  async deliver(delivery: ShardDelivery<S>): Promise<ShardReport> {
    // the sockets take() just wrote to are the count to report: no second walk over every socket
    const open = this.take(delivery);
    return this.report(open);
  }

  /** A direct frame for this shard's sockets with the frame's tag that match its group; how many got it. */
  async sendDirect(frame: TargetedFrame): Promise<number> {
    let sent = 0;
    for (const connection of this.connections.all(frame.tag)) {
      if (frame.group !== undefined && !inGroup(frame.group, connection.who)) continue;
      if (connection.send(frame.text)) sent++;
    }
    return sent;
  }

  // ================================================================ frames in

  /** Delivers what is next in `delivery` to every socket, keeps the state; a hole triggers a sync. Returns the open sockets. */
  private take(delivery: ShardDelivery<S>): number {
    const sockets = this.connections.all();
    let last = this.recent.lastSeq;
    let hole = false;
    if (delivery.frames.length > 0) {
      if (last === null || (delivery.first > last + 1 && sockets.length === 0)) {
        this.recent.reset(delivery.first - 1);
        last = delivery.first - 1;
      }
      // Sent before the shard's own copy is written: a storage write holds every message sent
      // after it until it is durable (output gate), and this copy is a cache of the room's log,
      // which was durable before the push left the room. An evicted shard has written it (it is
      // only evicted when idle); a restarted one has lost its sockets, which reconnect with since.
      const fresh: [number, string][] = [];
      for (let i = 0; i < delivery.frames.length; i++) {
        const seq = delivery.first + i;
        if (seq <= last) continue;
        if (seq !== last + 1) {
          hole = true;
          break;
        }
        const text = delivery.frames[i]!;
        for (const connection of sockets) connection.send(text);
        fresh.push([seq, text]);
        last = seq;
      }
      for (const [seq, text] of fresh) this.recent.append(seq, text);
    } else if (last === null || (last < delivery.lastSeq && sockets.length === 0)) {
      this.recent.reset(delivery.lastSeq);
      last = delivery.lastSeq;
    }
    if (delivery.state.seq <= last && newer(delivery.state, this.state)) {
      this.stateCache = delivery.state;
      this.stateReceivedAt = this.clock.now();
      this.meta.set(STATE_KEY, delivery.state);
    }
    for (const waiter of this.waiters) if (waiter.seq <= last) waiter.done();
    if (hole || last < delivery.lastSeq) {
      if (this.syncing !== null) this.syncAgain = true;
      else void this.sync(false).catch(() => {});
    }
    return sockets.length;
  }

  /**
   * Resolves once this shard has delivered `seq` to its sockets; after
   * `waitMs` without it (a push lost on the way), the shard asks the room.
   */
  protected async delivered(seq: number, waitMs = 1_000): Promise<void> {
    if ((this.recent.lastSeq ?? -1) >= seq) return;
    const reached = await new Promise<boolean>((resolve) => {
      const waiter = {
        seq,
        done: () => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        resolve(false);
      }, waitMs);
      this.waiters.add(waiter);
    });
    if (!reached) await this.sync(false).catch(() => {});
  }

  /**
   * Asks the room for every frame after this shard's last (and its state);
   * one at a time, joiners share it. `joining`: a socket is joining (the
   * room does its own join work: a fresh state, polling on ...).
   */
  private sync(joining: boolean): Promise<void> {
    this.syncing ??= (async () => {
      try {
        let rounds = 0;
        do {
          this.syncAgain = false;
          const delivery = await this.roomCalls().shardSync({ ...this.report(), after: this.recent.lastSeq, joining });
          this.take(delivery);
        } while (this.syncAgain && ++rounds < SYNC_ROUNDS);
        this.resyncDelayMs = 1_000;
      } catch (error) {
        console.warn(`${this.kind} shard ${this.name}: sync with the room failed`, error);
        // tried again while the shard has sockets (onTimer)
        await this.timers.set(RESYNC_TIMER, this.clock.now() + this.resyncDelayMs);
        this.resyncDelayMs = Math.min(RESYNC_MAX_MS, this.resyncDelayMs * 2);
        throw error;
      } finally {
        this.syncing = null;
      }
    })();
    return this.syncing;
  }

  /** This shard's report: last seq, sockets (with those joining), a number newer than any before. */
  protected report(open = this.connections.count()): ShardReport {
    // increasing across evictions too: a restarted shard's clock is past its last report
    this.lastReport = Math.max(this.lastReport + 1, Date.now());
    const sockets = open + (this.reportsJoining ? this.joining : 0);
    return { index: this.index, lastSeq: this.recent.lastSeq, sockets, report: this.lastReport };
  }

  protected stale(): boolean {
    return this.state === null || this.clock.now() - this.stateReceivedAt > STATE_TTL_MS;
  }

  /** A fresh enough state (asked of the room when stale); a failing room leaves the one the shard has. */
  protected async freshState(): Promise<void> {
    if (this.stale()) await this.sync(false).catch(() => {});
  }

  // ================================================================ sockets

  protected override directFrame(frame: DirectFrame): string {
    const { type, ...fields } = frame;
    return JSON.stringify({ type, seq: this.recent.lastSeq ?? 0, ts: this.clock.now(), ...fields });
  }

  private full(capacity: number): boolean {
    return this.ctx.getWebSockets().length >= capacity;
  }

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return errorResponse(426, "upgrade_required", "expected a WebSocket upgrade", { Upgrade: "websocket" });
    }
    const parsed = (() => {
      try {
        return ConnectSchema.safeParse(JSON.parse(request.headers.get(CONNECT_HEADER) ?? ""));
      } catch {
        return null;
      }
    })();
    if (parsed === null || !parsed.success) return errorResponse(400, "bad_connect", "missing or malformed connection description");
    const connect = parsed.data;
    const capacity = Number(request.headers.get(SHARD_CAPACITY_HEADER)) || Infinity;
    const refuse = () => new Response(null, { status: 503, headers: { [SHARD_FULL_HEADER]: "1" } });
    if (this.full(capacity)) return refuse();
    this.joining++;
    try {
      return await this.join(connect, capacity, refuse);
    } finally {
      this.joining--;
      this.upgradeDone();
    }
  }

  /** An upgrade is over (accepted or not): the shard's count no longer includes it as joining. */
  protected upgradeDone(): void {}

  private async join(connect: z.infer<typeof ConnectSchema>, capacity: number, refuse: () => Response): Promise<Response> {
    // Before the accept: a state fresh enough, this shard at least as far as
    // the socket's `since`, and the replay the shard's copy cannot serve.
    const since = connect.since;
    const behind = since !== null && (this.recent.lastSeq === null || since > this.recent.lastSeq);
    if (this.stale() || behind || this.connections.count() === 0) {
      try {
        await this.sync(true);
      } catch {
        // a shard that has a state and the socket's frames serves it; the resync timer keeps trying
        if (this.state === null || behind) return errorResponse(503, "internal_error", `the ${this.kind} room did not answer; try again`);
      }
    }
    let fromRoom: { first: number; frames: string[] } | null = null;
    if (since !== null && since < (this.recent.lastSeq ?? 0) && !this.recent.covers(since)) {
      try {
        fromRoom = await this.roomCalls().replayFrames(since, MAX_REPLAY);
      } catch (error) {
        console.warn(`${this.kind} shard ${this.name}: no replay from the room`, error);
        return errorResponse(503, "internal_error", `the ${this.kind} room did not answer; try again`);
      }
    }
    if (this.full(capacity)) return refuse();

    // One synchronous turn from the accept to onConnect: no frame is
    // delivered in between, so replay + live has no gap and no duplicate.
    const { 0: client, 1: server } = new WebSocketPair();
    const state = this.connectionState(connect.info);
    const connection = this.connections.accept(server, state);
    const { replay, truncatedAt } = this.replay(connect.since, fromRoom);
    for (const text of replay) connection.send(text);
    if (truncatedAt !== null) {
      this.sendError(connection, "replay_truncated", `replayed ${replay.length} frames; reconnect with since=${truncatedAt} for the rest`);
    }
    this.send(connection, {
      type: "hello",
      connectionId: state.id,
      room: { kind: this.kind, id: this.roomId },
      replayed: replay.length,
      ...this.helloFields(connection),
      shard: this.index,
    });
    this.onConnect(connection);

    await this.timers.setEarliest(TOKEN_TIMER, state.who.exp);
    return new Response(null, { status: 101, webSocket: client });
  }

  /**
   * Frames after `since` up to this shard's last: the room's answer first
   * (never past the shard's last: later frames reach the socket live), then
   * the shard's own copy. Stops at a hole or MAX_REPLAY; `truncatedAt` is
   * the `since` to continue from.
   */
  private replay(since: number | null, fromRoom: { first: number; frames: string[] } | null) {
    const last = this.recent.lastSeq ?? 0;
    const replay: string[] = [];
    if (since === null || since >= last) return { replay, truncatedAt: null };
    let at = since;
    if (fromRoom !== null) {
      for (let i = 0; i < fromRoom.frames.length && replay.length < MAX_REPLAY; i++) {
        const seq = fromRoom.first + i;
        if (seq <= at) continue;
        if (seq !== at + 1 || seq > last) break;
        replay.push(fromRoom.frames[i]!);
        at = seq;
      }
    }
    if (at < last && replay.length < MAX_REPLAY && this.recent.covers(at)) {
      for (const [seq, text] of this.recent.after(at, MAX_REPLAY - replay.length)) {
        if (seq !== at + 1) break;
        replay.push(text);
        at = seq;
      }
    }
    return { replay, truncatedAt: at < last ? at : null };
  }

  /** The address fingerprint of one of `userId`'s sockets here (a mute also covers it), null if none has one. */
  async addressOf(userId: string): Promise<string | null> {
    for (const connection of this.connections.all(`user:${userId}`)) if (connection.who.address) return connection.who.address;
    return null;
  }

  /** Tells the room this shard's count (its polling and the Worker's placement read it). */
  protected reportToRoom(): void {
    this.roomCalls()
      .shardReport(this.report())
      .catch((error: unknown) => console.warn(`${this.kind} shard ${this.name}: could not report to the room`, error));
  }

  protected override async onTimer(name: string): Promise<void> {
    if (name === RESYNC_TIMER && this.connections.count() > 0) await this.sync(false).catch(() => {});
  }
}
