/**
 * A room's side of fan-out (docs/architecture.md, "Event fan-out shards";
 * the StreamRoom's are the same): which shards exist, how far each has acknowledged the log, how
 * many sockets each last reported; pushing frames to all of them.
 *
 * A shard is registered by its first call (a socket joining it) and stays
 * registered while the room lives: a shard that reported no sockets still
 * gets every push, so a socket joining it between a report and the next
 * push can never be missed (N is at most the peak audience / capacity).
 *
 * Every push goes through one cached stub per shard, so pushes to a shard
 * arrive in order (Durable Object stubs deliver calls in E-order); the shard
 * checks seqs anyway. A failed push drops the stub (a broken stub stays
 * broken) and leaves the shard behind its acknowledged seq; `resync` pushes
 * it what it lacks from the room's log (the room calls it from its poll and
 * from a retry timer). Registry rows are in the room's SQLite, so a room
 * that restarts still knows its shards and how far each got.
 */
import type { ShardDelivery, ShardPlan, ShardReport, ShardState, TargetedFrame } from "./shard-protocol.js";

/** What the room calls on a shard. */
export interface ShardTarget<S> {
  deliver(delivery: ShardDelivery<S>): Promise<ShardReport>;
  /** a direct frame for some of the shard's sockets; how many got it */
  sendDirect(frame: TargetedFrame): Promise<number>;
  /** the address fingerprint of one of the user's sockets on the shard */
  addressOf(userId: string): Promise<string | null>;
}

interface ShardEntry<S> {
  index: number;
  /** last seq the shard reported delivered (-1: nothing yet) */
  acked: number;
  sockets: number;
  report: number;
  inflight: number;
  failures: number;
  target: ShardTarget<S> | null;
}

/** Frames per push when a shard catches up. */
const RESYNC_BATCH = 1_000;

export class ShardFanout<S> {
  private readonly shards = new Map<number, ShardEntry<S>>();

  constructor(
    private readonly sql: SqlStorage,
    private readonly connect: (index: number) => ShardTarget<S>,
    /** a push failed: the room arms its retry timer */
    private readonly onLagging: () => void,
    private readonly log: (message: string, error?: unknown) => void = console.warn,
  ) {
    sql.exec(`CREATE TABLE IF NOT EXISTS fanout_shards (
      idx INTEGER PRIMARY KEY,
      acked INTEGER NOT NULL,
      sockets INTEGER NOT NULL,
      report INTEGER NOT NULL
    )`);
    for (const row of sql.exec<{ idx: number; acked: number; sockets: number; report: number }>("SELECT * FROM fanout_shards")) {
      this.shards.set(row.idx, {
        index: row.idx,
        acked: row.acked,
        sockets: row.sockets,
        report: row.report,
        inflight: 0,
        failures: 0,
        target: null,
      });
    }
  }

  /** A shard's report (its sync, a push's answer, its last socket leaving); an older report never overwrites a newer one. */
  record(report: ShardReport): void {
    if (!Number.isInteger(report.index) || report.index < 0) return;
    let entry = this.shards.get(report.index);
    let changed = false;
    if (entry === undefined) {
      entry = { index: report.index, acked: -1, sockets: 0, report: 0, inflight: 0, failures: 0, target: null };
      this.shards.set(report.index, entry);
      changed = true;
    }
    if (report.lastSeq !== null && report.lastSeq > entry.acked) {
      entry.acked = report.lastSeq;
      changed = true;
    }
    if (report.report >= entry.report && (report.sockets !== entry.sockets || report.report !== entry.report)) {
      entry.sockets = report.sockets;
      entry.report = report.report;
      changed = true;
    }
    if (changed) {
      this.sql.exec(
        `INSERT INTO fanout_shards (idx, acked, sockets, report) VALUES (?, ?, ?, ?)
         ON CONFLICT(idx) DO UPDATE SET acked = excluded.acked, sockets = excluded.sockets, report = excluded.report`,
        entry.index,
        entry.acked,
        entry.sockets,
        entry.report,
      );
    }
  }

  /** Pushes a delivery to every registered shard (not awaited: answers update the registry). */
  push(delivery: ShardDelivery<S>): void {
    for (const entry of this.shards.values()) this.send(entry, delivery);
  }

  /**
   * A direct frame to the matching sockets of every registered shard, on the
   * same stub as the pushes (so it reaches each shard after the log frames
   * pushed before it); resolves to how many sockets got it. A shard that
   * fails counts none (direct frames are never replayed).
   */
  async sendDirect(frame: TargetedFrame): Promise<number> {
    const sent = await Promise.all(
      [...this.shards.values()].map((entry) => {
        entry.target ??= this.connect(entry.index);
        return entry.target.sendDirect(frame).catch((error: unknown) => {
          entry.target = null;
          this.log(`fan-out shard ${entry.index}: direct frame lost`, error);
          return 0;
        });
      }),
    );
    return sent.reduce((a, b) => a + b, 0);
  }

  /** The first address fingerprint a shard knows for one of `userId`'s sockets (null: none does). */
  async addressOf(userId: string): Promise<string | null> {
    const found = await Promise.all(
      [...this.shards.values()].map((entry) => {
        entry.target ??= this.connect(entry.index);
        return entry.target.addressOf(userId).catch(() => null);
      }),
    );
    return found.find((address) => address !== null) ?? null;
  }

  /** Whether any shard is registered (no push to prepare otherwise). */
  get empty(): boolean {
    return this.shards.size === 0;
  }

  private send(entry: ShardEntry<S>, delivery: ShardDelivery<S>): void {
    entry.inflight++;
    entry.target ??= this.connect(entry.index);
    entry.target
      .deliver(delivery)
      .then(
        (report) => {
          entry.failures = 0;
          this.record(report);
        },
        (error: unknown) => {
          entry.failures++;
          entry.target = null;
          this.log(`fan-out shard ${entry.index}: push failed (${entry.failures} in a row)`, error);
          this.onLagging();
        },
      )
      .finally(() => {
        entry.inflight--;
      });
  }

  /**
   * Pushes to each shard behind `lastSeq` (with nothing in flight) what it
   * lacks, from the room's log; returns how many shards were behind.
   */
  resync(lastSeq: number, framesAfter: (seq: number, limit: number) => string[], state: ShardState<S>): number {
    let behind = 0;
    for (const entry of this.shards.values()) {
      if (entry.acked >= lastSeq || entry.inflight > 0) continue;
      behind++;
      // a shard that never acknowledged anything, or reported no sockets, needs no history: it
      // follows the room's seq (one that has sockets after all asks for the frames itself)
      const from = entry.acked < 0 || entry.sockets === 0 ? lastSeq : entry.acked;
      const frames = from < lastSeq ? framesAfter(from, RESYNC_BATCH) : [];
      this.send(entry, { first: from + 1, frames, lastSeq, state, truncated: from + frames.length < lastSeq });
    }
    return behind;
  }

  /** Whether a shard is behind `lastSeq` or a push failed last time. */
  lagging(lastSeq: number): boolean {
    for (const entry of this.shards.values()) if (entry.acked < lastSeq || entry.failures > 0) return true;
    return false;
  }

  totalSockets(): number {
    let total = 0;
    for (const entry of this.shards.values()) total += entry.sockets;
    return total;
  }

  plan(): ShardPlan {
    return { shards: [...this.shards.values()].map((e) => ({ index: e.index, sockets: e.sockets })) };
  }

  view() {
    return [...this.shards.values()]
      .sort((a, b) => a.index - b.index)
      .map((e) => ({ index: e.index, sockets: e.sockets, acked: e.acked, failures: e.failures }));
  }
}
