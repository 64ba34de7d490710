/**
 * EventRoom: one per EventID (`/ws/events/<eventId>`), the single point of
 * entry of that event's information (docs/architecture.md, "Socket protocol"). While the
 * event is in progress the room polls the provider (EVENT_POLL_MS, default
 * 1 s) from its DO alarm, diffs against the last good state and publishes an
 * `event_update` with only what changed; every socket gets the same frames in
 * the same order. A joining socket gets `event_snapshot`.
 *
 * Provider failures (network, timeout, HTTP error, malformed answer) are
 * logged and counted; the last good state stays, polling backs off
 * exponentially (capped, EVENT_POLL_MAX_BACKOFF_MS) and resumes its cadence
 * once the feed answers again. Polling stops after the final update, or when
 * no socket, no live stream and no recent `ensurePolling()` (cron) needs it.
 *
 * Each update is also recorded into the replay log of the streams about this
 * event (StreamRoom.recordEvent), and written back to D1's `events` row.
 */
import { parseConfig } from "../config.js";
import { pollDelayMs, nextPollAt, type PollCadence } from "../events/backoff.js";
import { diffEvents, type EventChanges } from "../events/diff.js";
import { eventOfRow, getDb, getEventRow, liveStreamsForEvent, upsertEvent } from "../events/event-store.js";
import { ProviderError } from "../events/provider.js";
import { providerFrom } from "../events/provider-factory.js";
import type { StandardEvent } from "../events/standard-event.js";
import { streamRoom } from "../stubs.js";
import type { Connection } from "./connections.js";
import type { EventSnapshotFrame } from "./frames.js";
import type { Envelope } from "./protocol.js";
import { Room, type ConnectRequest } from "./room.js";

const POLL_TIMER = "poll";
/** How long the list of live streams about this event is trusted. */
const LINKED_STREAMS_TTL_MS = 5_000;

interface FeedStats {
  polls: number;
  updates: number;
  /** consecutive failures (0 = healthy) */
  failures: number;
  errors: number;
  malformed: number;
  lastPollAt: number | null;
  lastSuccessAt: number | null;
  lastErrorAt: number | null;
  lastError: string | null;
}

const EMPTY_FEED: FeedStats = {
  polls: 0,
  updates: 0,
  failures: 0,
  errors: 0,
  malformed: 0,
  lastPollAt: null,
  lastSuccessAt: null,
  lastErrorAt: null,
  lastError: null,
};

export class EventRoom extends Room {
  protected readonly kind = "event" as const;
  private event: StandardEvent | null | undefined;
  private feedStats: FeedStats | undefined;
  private refreshing: Promise<void> | null = null;
  /** a poll (alarm) is running: its end schedules the next one */
  private pollRunning = false;
  private linked: { ids: string[]; at: number } | null = null;

  // ================================================================ state

  private get state(): StandardEvent | null {
    if (this.event === undefined) this.event = this.meta.get<StandardEvent>("event") ?? null;
    return this.event;
  }

  private get feed(): FeedStats {
    if (this.feedStats === undefined) this.feedStats = { ...EMPTY_FEED, ...(this.meta.get<FeedStats>("feed") ?? {}) };
    return this.feedStats;
  }

  private saveFeed(): void {
    this.meta.set("feed", this.feed);
  }

  private cadence(): PollCadence {
    const { pollMs, maxBackoffMs } = parseConfig(this.env).events;
    return { pollMs, maxBackoffMs };
  }

  private snapshotFrame(): EventSnapshotFrame {
    return {
      type: "event_snapshot",
      eventId: this.name,
      event: this.state,
      feed: { ok: this.feed.failures === 0, lastSuccessAt: this.feed.lastSuccessAt },
    };
  }

  // ================================================================ lifecycle hooks

  protected override async prepareConnect(_request: ConnectRequest): Promise<void> {
    // Nothing yet, or polling had stopped (the state may be old): ask the
    // provider before the snapshot. Concurrent joins share the one request.
    const idle = this.timers.get(POLL_TIMER) === null && this.state?.status !== "final";
    if (this.state === null || idle) await this.refresh();
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
  }

  // ================================================================ polling

  private async ensureScheduled(): Promise<void> {
    if (this.state?.status === "final") return;
    if (this.timers.get(POLL_TIMER) === null) await this.timers.set(POLL_TIMER, this.clock.now());
  }

  private async needed(now: number): Promise<boolean> {
    if (this.connections.count() > 0) return true;
    if ((this.meta.get<number>("keepUntil") ?? 0) > now) return true;
    return (await this.linkedStreams(now)).length > 0;
  }

  private async pollOnce(): Promise<void> {
    const started = this.clock.now();
    this.pollRunning = true;
    try {
      await this.refresh();
    } finally {
      try {
        if (this.state?.status !== "final" && (await this.needed(this.clock.now()))) {
          const delay = pollDelayMs(this.cadence(), this.feed.failures, this.state?.status ?? null);
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
    const feed = this.feed;
    const now = this.clock.now();
    feed.polls++;
    feed.lastPollAt = now;
    let next: StandardEvent | null;
    try {
      const provider = providerFrom(parseConfig(this.env).events);
      if (provider === null) throw new ProviderError("not_configured", "EVENT_PROVIDER_URL is not set");
      next = await provider.getEvent(eventId);
      if (next === null) throw new ProviderError("http", "the provider does not know this event", 404);
    } catch (error) {
      const kind = error instanceof ProviderError ? error.kind : "network";
      const message = error instanceof Error ? error.message : String(error);
      feed.failures++;
      feed.errors++;
      if (kind === "malformed") feed.malformed++;
      feed.lastErrorAt = this.clock.now();
      feed.lastError = `${kind}: ${message}`;
      this.saveFeed();
      console.warn(`event ${eventId}: provider ${kind} (${feed.failures} in a row): ${message}`);
      return;
    }
    feed.failures = 0;
    feed.lastSuccessAt = this.clock.now();
    this.saveFeed();
    await this.apply(next);
  }

  /** Diff, persist + broadcast only what changed, then tell streams and D1. */
  private async apply(next: StandardEvent): Promise<void> {
    const changes = diffEvents(this.state, next);
    if (changes === null) return;
    this.event = next;
    this.meta.set("event", next);
    this.feed.updates++;
    this.saveFeed();
    this.publish({ type: "event_update", eventId: next.eventId, changes });
    const [streams, stored] = await Promise.allSettled([this.notifyStreams(next.eventId, changes), upsertEvent(getDb(this.env.DB), next)]);
    if (streams.status === "rejected") console.warn(`event ${next.eventId}: streams not told`, streams.reason);
    if (stored.status === "rejected") console.warn(`event ${next.eventId}: D1 not updated`, stored.reason);
  }

  private async linkedStreams(now: number): Promise<string[]> {
    const eventId = this.name;
    if (this.linked === null || now - this.linked.at > LINKED_STREAMS_TTL_MS) {
      try {
        this.linked = { ids: await liveStreamsForEvent(getDb(this.env.DB), eventId), at: now };
      } catch (error) {
        console.warn(`event ${eventId}: could not list its streams`, error);
        return this.linked?.ids ?? [];
      }
    }
    return this.linked.ids;
  }

  private async notifyStreams(eventId: string, changes: EventChanges): Promise<void> {
    const streams = await this.linkedStreams(this.clock.now());
    const results = await Promise.allSettled(streams.map((streamId) => streamRoom(this.env, streamId).recordEvent(eventId, changes)));
    // a stream that missed an update still has the event room's next one; its replay log has a gap
    results.forEach((result, i) => {
      if (result.status === "rejected") console.warn(`event ${eventId}: stream ${streams[i]} did not log the update`, result.reason);
    });
  }

  // ================================================================ RPC

  /** Live monitor (cron): keep polling this event for a while, start now if idle. */
  async ensurePolling(leaseMs?: number) {
    const lease = leaseMs ?? parseConfig(this.env).events.pollLeaseMs;
    this.meta.set("keepUntil", this.clock.now() + lease);
    this.linked = null;
    await this.ensureScheduled();
    return this.stats();
  }

  /**
   * A stream about this event went live (StreamRoom): its log records the
   * updates from now on, without waiting for the next D1 lookup. Returns the
   * current state (the stream logs it as its starting snapshot).
   */
  async attachStream(streamId: string): Promise<StandardEvent | null> {
    const ids = new Set(this.linked?.ids ?? []);
    ids.add(streamId);
    this.linked = { ids: [...ids], at: this.linked?.at ?? this.clock.now() };
    if (this.state === null) await this.refresh();
    await this.ensureScheduled();
    return this.state;
  }

  /** The stream ended: no more updates into its log. */
  async detachStream(streamId: string): Promise<void> {
    if (this.linked !== null) this.linked = { ids: this.linked.ids.filter((id) => id !== streamId), at: this.linked.at };
  }

  async stats() {
    return {
      eventId: this.name,
      status: this.state?.status ?? null,
      event: this.state,
      sockets: this.connections.count(),
      lastSeq: this.log.lastSeq,
      polling: this.pollRunning || this.timers.get(POLL_TIMER) !== null,
      nextPollAt: this.timers.get(POLL_TIMER),
      feed: { ...this.feed },
    };
  }
}
