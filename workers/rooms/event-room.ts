/**
 * EventRoom: one per EventID (`/ws/events/<eventId>`), the single point of
 * entry of that event's information (docs/architecture.md, "Socket protocol"). While the
 * event is in progress the room polls the provider (EVENT_POLL_MS, default
 * 1 s) from its DO alarm, diffs against the last good state and publishes an
 * `event_update` with only what changed; every socket gets the same frames in
 * the same order. A joining socket gets `event_snapshot`.
 *
 * Sockets normally live on the event's fan-out shards (EventShard,
 * fanout/): the room pushes every log frame to each of them (fanout/fanout.ts)
 * and answers their syncs, replays and the Worker's placement (RPC below).
 * With EVENT_SHARD_SOCKETS=0 the sockets connect to the room itself.
 *
 * Provider failures (network, timeout, HTTP error, malformed answer) are
 * logged and counted; the last good state stays, polling backs off
 * exponentially (capped, EVENT_POLL_MAX_BACKOFF_MS) and resumes its cadence
 * once the feed answers again. Polling stops once a final has held for
 * EVENT_FINAL_GRACE_MS (a provider may say `final` for a moment and take it
 * back), or when no socket, no live stream and no recent `ensurePolling()`
 * (cron) needs it. A confirmed final is asked again, at most once per grace
 * period, when a socket joins and when the cron's monitor calls (it does so
 * when the provider's list says the event is in progress again), so a final
 * the provider takes back later revives the room.
 *
 * Each update is also recorded into the replay log of the streams about this
 * event (event/linked-streams.ts), and written back to D1's `events` row.
 * The feed's health (failures, last success) is event/feed-health.ts.
 */
import { parseConfig } from "../config.js";
import { pollDelayMs, nextPollAt, type PollCadence } from "../events/backoff.js";
import { diffEvents } from "../events/diff.js";
import { eventOfRow, getDb, getEventRow, upsertEvent } from "../events/event-store.js";
import { ProviderError } from "../events/provider.js";
import { providerFrom } from "../events/provider-factory.js";
import type { StandardEvent } from "../events/standard-event.js";
import type { Env } from "../env.js";
import { eventShard } from "../stubs.js";
import type { Connection } from "./connections.js";
import { FeedHealth } from "./event/feed-health.js";
import { LinkedStreams } from "./event/linked-streams.js";
import { RoomShards, SHARDS_TIMER } from "./fanout/room-shards.js";
import type { RoomFrames, ShardDelivery, ShardPlan, ShardReport, ShardSyncRequest } from "./fanout/shard-protocol.js";
import type { EventSnapshotFrame } from "./frames.js";
import type { Envelope } from "./protocol.js";
import { Room, type ConnectRequest } from "./room.js";

const POLL_TIMER = "poll";
const FINAL_SINCE_KEY = "finalSince";
export class EventRoom extends Room {
  protected readonly kind = "event" as const;
  private event: StandardEvent | null | undefined;
  private readonly feed: FeedHealth;
  private refreshing: Promise<void> | null = null;
  /** a poll (alarm) is running: its end schedules the next one */
  private pollRunning = false;
  private readonly linked: LinkedStreams;
  private readonly shards: RoomShards<EventSnapshotFrame>;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.feed = new FeedHealth(this.meta);
    this.linked = new LinkedStreams(
      () => this.name,
      () => this.env,
    );
    this.shards = new RoomShards<EventSnapshotFrame>({
      sql: this.sql,
      log: this.log,
      timers: this.timers,
      clock: this.clock,
      label: () => `event ${this.name}`,
      connect: (index) => eventShard(this.env, this.name, index),
      snapshot: () => this.snapshotFrame(),
    });
  }

  // ================================================================ state

  private get state(): StandardEvent | null {
    if (this.event === undefined) this.event = this.meta.get<StandardEvent>("event") ?? null;
    return this.event;
  }

  private cadence(): PollCadence {
    const { pollMs, maxBackoffMs } = parseConfig(this.env).events;
    return { pollMs, maxBackoffMs };
  }

  /** Final, and held for the grace period (or older than this build's grace bookkeeping). */
  private finalConfirmed(now: number): boolean {
    if (this.state?.status !== "final") return false;
    const since = this.meta.get<number>(FINAL_SINCE_KEY);
    return since === undefined || now - since >= parseConfig(this.env).events.finalGraceMs;
  }

  /** A confirmed final whose last provider answer is older than the grace period: worth asking again. */
  private finalWorthRechecking(now: number): boolean {
    const last = this.feed.stats.lastPollAt ?? 0;
    return this.finalConfirmed(now) && now - last >= parseConfig(this.env).events.finalGraceMs;
  }

  private snapshotFrame(): EventSnapshotFrame {
    return {
      type: "event_snapshot",
      eventId: this.name,
      event: this.state,
      feed: { ok: this.feed.ok, lastSuccessAt: this.feed.stats.lastSuccessAt },
    };
  }

  // ================================================================ lifecycle hooks

  protected override async prepareConnect(_request: ConnectRequest): Promise<void> {
    await this.prepareJoin();
  }

  /** A socket joins (here, or on a shard): a fresh enough state, polling on. */
  private async prepareJoin(): Promise<void> {
    // Nothing yet, or polling had stopped (the state may be old), or a final
    // not asked for a while: ask the provider before the snapshot.
    // Concurrent joins share the one request.
    const now = this.clock.now();
    const polling = this.pollRunning || this.timers.get(POLL_TIMER) !== null;
    const idle = !polling && !this.finalConfirmed(now);
    if (this.state === null || idle || (!polling && this.finalWorthRechecking(now))) await this.refresh();
    if (this.state === null) {
      // the feed is down: start from what the cron stored
      const row = await getEventRow(getDb(this.env.DB), this.name);
      const stored = row === null ? null : eventOfRow(row);
      if (stored !== null && this.state === null) {
        this.event = stored;
        this.meta.set("event", stored);
      }
    }
    await this.ensureScheduled();
  }

  protected override helloFields(): Record<string, unknown> {
    return { eventId: this.name };
  }

  protected override onConnect(connection: Connection): void {
    this.send(connection, this.snapshotFrame());
  }

  protected override onMessage(connection: Connection, frame: Envelope): void {
    if (frame.type === "snapshot") {
      this.send(connection, this.snapshotFrame());
      return;
    }
    this.sendError(connection, "unknown_type", `event rooms take no '${frame.type.slice(0, 32)}' frames (only snapshot)`, frame.ref);
  }

  protected override async onTimer(name: string): Promise<void> {
    if (name === POLL_TIMER) await this.pollOnce();
    else if (name === SHARDS_TIMER) await this.shards.onTimer();
  }

  // ================================================================ fan-out shards

  private pushToShards(frames: { seq: number; text: string }[]): void {
    this.shards.push(frames);
  }

  private sockets(): number {
    return this.connections.count() + this.shards.totalSockets();
  }

  // ================================================================ polling

  private async ensureScheduled(): Promise<void> {
    if (this.finalConfirmed(this.clock.now())) return;
    if (this.timers.get(POLL_TIMER) === null) await this.timers.set(POLL_TIMER, this.clock.now());
  }

  private async needed(now: number): Promise<boolean> {
    if (this.sockets() > 0) return true;
    if ((this.meta.get<number>("keepUntil") ?? 0) > now) return true;
    return (await this.linked.list(now)).length > 0;
  }

  private async pollOnce(): Promise<void> {
    const started = this.clock.now();
    this.pollRunning = true;
    try {
      await this.refresh();
      // a shard that missed a push gets it now (without waiting for the retry timer)
      this.shards.catchUp();
    } finally {
      try {
        if (!this.finalConfirmed(this.clock.now()) && (await this.needed(this.clock.now()))) {
          const delay = pollDelayMs(this.cadence(), this.feed.stats.failures, this.state?.status ?? null);
          await this.timers.set(POLL_TIMER, nextPollAt(started, delay, this.clock.now()));
        }
      } finally {
        this.pollRunning = false;
      }
    }
  }

  /** One provider request at a time; concurrent callers share it. */
  private refresh(): Promise<void> {
    if (this.refreshing === null) {
      this.refreshing = this.doRefresh().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    const eventId = this.name;
    this.feed.polled(this.clock.now());
    let next: StandardEvent | null;
    try {
      const provider = providerFrom(parseConfig(this.env).events);
      if (provider === null) throw new ProviderError("not_configured", "EVENT_PROVIDER_URL is not set");
      next = await provider.getEvent(eventId);
      if (next === null) throw new ProviderError("http", "the provider does not know this event", 404);
    } catch (error) {
      const kind = error instanceof ProviderError ? error.kind : "network";
      const message = error instanceof Error ? error.message : String(error);
      const wasOk = this.feed.failed(kind, message, this.clock.now());
      // shards show feed.ok in their snapshots: tell them when it turns false
      if (wasOk) this.pushToShards([]);
      console.warn(`event ${eventId}: provider ${kind} (${this.feed.stats.failures} in a row): ${message}`);
      return;
    }
    if (this.feed.succeeded(this.clock.now())) this.pushToShards([]);
    await this.apply(next);
  }

  /** Diff, persist + broadcast only what changed, then tell streams and D1. */
  private async apply(next: StandardEvent): Promise<void> {
    const changes = diffEvents(this.state, next);
    if (changes === null) return;
    if (next.status !== "final") this.meta.delete(FINAL_SINCE_KEY);
    else if (this.state?.status !== "final") this.meta.set(FINAL_SINCE_KEY, this.clock.now());
    this.event = next;
    this.meta.set("event", next);
    this.feed.updated();
    const logged = this.publish({ type: "event_update", eventId: next.eventId, changes });
    this.pushToShards([logged]);
    const [streams, stored] = await Promise.allSettled([
      this.linked.notify(next.eventId, changes, this.clock.now()),
      upsertEvent(getDb(this.env.DB), next),
    ]);
    if (streams.status === "rejected") console.warn(`event ${next.eventId}: streams not told`, streams.reason);
    if (stored.status === "rejected") console.warn(`event ${next.eventId}: D1 not updated`, stored.reason);
  }

  // ================================================================ RPC

  /**
   * Live monitor (cron): keep polling this event for a while, start now if
   * idle. The monitor calls it for events D1 says are in progress, so a room
   * that holds a confirmed final asks the provider again (at most once per
   * grace period): if the final was taken back, polling resumes.
   */
  async ensurePolling(leaseMs?: number) {
    const lease = leaseMs ?? parseConfig(this.env).events.pollLeaseMs;
    this.meta.set("keepUntil", this.clock.now() + lease);
    this.linked.invalidate();
    if (this.finalWorthRechecking(this.clock.now())) await this.refresh();
    await this.ensureScheduled();
    return this.stats();
  }

  /** Sockets on this room and on every shard (as they last reported). */
  override async viewerCount(): Promise<number> {
    return this.sockets();
  }

  /** The Worker's view of the shards, to place a new socket (fanout/placement.ts). */
  async shardPlan(): Promise<ShardPlan> {
    return this.shards.plan();
  }

  /**
   * A shard catches up (and registers): every frame after `after` (at most
   * SHARD_SYNC_LIMIT; `truncated` says more follow) and the state. With
   * `joining`, what a joining socket needs first (fresh state, polling on).
   */
  async shardSync(request: ShardSyncRequest): Promise<ShardDelivery<EventSnapshotFrame>> {
    if (request.joining) await this.prepareJoin();
    return this.shards.sync(request);
  }

  /** Log frames after `since` for a socket reconnecting on a shard whose own copy does not reach back that far. */
  async replayFrames(since: number, limit: number): Promise<RoomFrames> {
    return this.shards.replay(since, limit);
  }

  /** A shard's socket count changed (its last socket left). */
  async shardReport(report: ShardReport): Promise<void> {
    this.shards.record(report);
  }

  /**
   * A stream about this event went live (StreamRoom): its log records the
   * updates from now on, without waiting for the next D1 lookup. Returns the
   * current state (the stream logs it as its starting snapshot).
   */
  async attachStream(streamId: string): Promise<StandardEvent | null> {
    this.linked.attach(streamId, this.clock.now());
    if (this.state === null) await this.refresh();
    await this.ensureScheduled();
    return this.state;
  }

  /** The stream ended: no more updates into its log. */
  async detachStream(streamId: string): Promise<void> {
    this.linked.detach(streamId);
  }

  async stats() {
    return {
      eventId: this.name,
      status: this.state?.status ?? null,
      event: this.state,
      sockets: this.sockets(),
      lastSeq: this.log.lastSeq,
      polling: this.pollRunning || this.timers.get(POLL_TIMER) !== null,
      nextPollAt: this.timers.get(POLL_TIMER),
      finalSince: this.meta.get<number>(FINAL_SINCE_KEY) ?? null,
      feed: { ...this.feed.stats },
      /** fan-out shards: sockets each last reported, last seq each acknowledged */
      shards: this.shards.view(),
    };
  }
}
