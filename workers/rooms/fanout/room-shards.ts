/**
 * What a room does for its fan-out shards, whatever its kind (EventRoom,
 * StreamRoom; docs/architecture.md, "Event fan-out shards"): push every log
 * frame to them (fanout.ts), answer their syncs and replays from the room's
 * log, keep their reports (sockets, acknowledged seq), and push lagging
 * shards what they lack on a retry timer until none is behind.
 */
import type { Clock } from "../clock.js";
import type { FrameLog, Timers } from "../storage.js";
import { ShardFanout, type ShardTarget } from "./fanout.js";
import type { RoomFrames, ShardDelivery, ShardPlan, ShardReport, ShardState, ShardSyncRequest, TargetedFrame } from "./shard-protocol.js";

/** The room's timer that retries pushes to shards that missed one (its onTimer hands it to `onTimer`). */
export const SHARDS_TIMER = "shards";
const SHARD_RETRY_MS = 1_000;
const SHARD_RETRY_MAX_MS = 30_000;
/** frames per sync answer / replay answer to a shard */
const SHARD_SYNC_LIMIT = 5_000;

export interface ShardHost<S> {
  sql: SqlStorage;
  log: FrameLog;
  timers: Timers;
  clock: Clock;
  /** for log lines: "event <id>", "stream <id>" */
  label: () => string;
  connect: (index: number) => ShardTarget<S>;
  /** what a joining socket is told besides the log, as of now */
  snapshot: () => S;
}

export class RoomShards<S> {
  private readonly fanout: ShardFanout<S>;
  private retryMs = SHARD_RETRY_MS;

  constructor(private readonly host: ShardHost<S>) {
    this.fanout = new ShardFanout<S>(
      host.sql,
      host.connect,
      () => {
        this.armRetry().catch((error: unknown) => console.error(`${host.label()}: shard retry not armed`, error));
      },
      (message, error) => console.warn(`${host.label()}: ${message}`, error),
    );
  }

  state(): ShardState<S> {
    return { snapshot: this.host.snapshot(), seq: this.host.log.lastSeq, at: this.host.clock.now() };
  }

  /** Pushes logged frames (none: only the state) to every shard. */
  push(frames: { seq: number; text: string }[]): void {
    if (this.fanout.empty) return;
    const lastSeq = this.host.log.lastSeq;
    this.fanout.push({
      first: frames[0]?.seq ?? lastSeq + 1,
      frames: frames.map((f) => f.text),
      lastSeq,
      state: this.state(),
      truncated: false,
    });
  }

  /** A direct frame to the matching sockets on every shard; how many got it. */
  async sendDirect(frame: TargetedFrame): Promise<number> {
    return this.fanout.empty ? 0 : this.fanout.sendDirect(frame);
  }

  /** The address fingerprint of one of `userId`'s sockets on a shard, null if no shard has one. */
  async addressOf(userId: string): Promise<string | null> {
    return this.fanout.empty ? null : this.fanout.addressOf(userId);
  }

  /**
   * A shard catches up (and registers): every frame after `after` (at most
   * SHARD_SYNC_LIMIT; `truncated` says more follow) and the state.
   */
  sync(request: ShardSyncRequest): ShardDelivery<S> {
    // registration and the answer in one turn: no frame can be published between them
    this.fanout.record(request);
    const { log } = this.host;
    const lastSeq = log.lastSeq;
    const after = request.after === null ? lastSeq : Math.min(request.after, lastSeq);
    const frames = after < lastSeq ? log.after(after, SHARD_SYNC_LIMIT) : [];
    return { first: after + 1, frames, lastSeq, state: this.state(), truncated: after + frames.length < lastSeq };
  }

  /** Log frames after `since` for a socket reconnecting on a shard whose own copy does not reach back that far. */
  replay(since: number, limit: number): RoomFrames {
    const frames = this.host.log.after(since, Math.max(0, Math.min(limit, SHARD_SYNC_LIMIT)));
    return { first: since + 1, frames, lastSeq: this.host.log.lastSeq };
  }

  record(report: ShardReport): void {
    this.fanout.record(report);
  }

  totalSockets(): number {
    return this.fanout.totalSockets();
  }

  plan(): ShardPlan {
    return this.fanout.plan();
  }

  view() {
    return this.fanout.view();
  }

  /** A shard that missed a push gets it now (without waiting for the retry timer). */
  catchUp(): void {
    const { log } = this.host;
    if (this.fanout.lagging(log.lastSeq)) this.fanout.resync(log.lastSeq, (seq, limit) => log.after(seq, limit), this.state());
  }

  /** The retry timer: pushes lagging shards what they lack; again later while one stays behind. */
  async onTimer(): Promise<void> {
    const { log } = this.host;
    this.fanout.resync(log.lastSeq, (seq, limit) => log.after(seq, limit), this.state());
    if (this.fanout.lagging(log.lastSeq)) {
      this.retryMs = Math.min(SHARD_RETRY_MAX_MS, this.retryMs * 2);
      await this.armRetry();
    } else {
      this.retryMs = SHARD_RETRY_MS;
    }
  }

  private async armRetry(): Promise<void> {
    await this.host.timers.setEarliest(SHARDS_TIMER, this.host.clock.now() + this.retryMs);
  }
}
