/**
 * Persistence helpers of a room, on the Durable Object's SQLite storage
 * (`ctx.storage.sql`, synchronous; outgoing messages are held by the output
 * gate until the write is durable, so "persist, then send" holds):
 *
 * - FrameLog: every log frame with its room-monotonic `seq`, server `ts` and
 *   (stream rooms) its offset from stream start. `seq` survives restarts.
 * - MetaStore: small JSON values by key.
 * - Timers: named deadlines multiplexed onto the one DO alarm.
 */
export interface OutgoingFrame {
  type: string;
  [key: string]: unknown;
}

import type { LoggedFrame } from "./frames.js";

export type { LoggedFrame };

export class FrameLog {
  private last: number;

  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS frames (
      seq INTEGER PRIMARY KEY,
      type TEXT NOT NULL,
      ts INTEGER NOT NULL,
      offset_ms INTEGER,
      body TEXT NOT NULL
    )`);
    sql.exec("CREATE INDEX IF NOT EXISTS frames_offset_idx ON frames (offset_ms)");
    this.last = sql.exec<{ s: number | null }>("SELECT MAX(seq) AS s FROM frames").one().s ?? 0;
  }

  get lastSeq(): number {
    return this.last;
  }

  /**
   * Persists a frame as `{ type, seq, ts, [offsetMs], ...fields }` and returns
   * its text. `offsetMs` undefined: the room has no offsets (not written).
   */
  append(frame: OutgoingFrame, { ts = Date.now(), offsetMs }: { ts?: number; offsetMs?: number | null } = {}): LoggedFrame {
    const seq = this.last + 1;
    const { type, ...fields } = frame;
    const full = offsetMs === undefined ? { type, seq, ts, ...fields } : { type, seq, ts, offsetMs, ...fields };
    const text = JSON.stringify(full);
    this.sql.exec("INSERT INTO frames (seq, type, ts, offset_ms, body) VALUES (?, ?, ?, ?, ?)", seq, type, ts, offsetMs ?? null, text);
    this.last = seq;
    return { seq, ts, type, text };
  }

  /** Frames after `seq`, in order, at most `limit`. */
  after(seq: number, limit: number): string[] {
    return this.sql
      .exec<{ body: string }>("SELECT body FROM frames WHERE seq > ? ORDER BY seq LIMIT ?", seq, limit)
      .toArray()
      .map((r) => r.body);
  }

  /** Frames with from ≤ offset < to, in order (seq), at most `limit`. */
  window(fromMs: number, toMs: number, limit: number): { frames: string[]; truncated: boolean } {
    const rows = this.sql
      .exec<{ body: string }>(
        "SELECT body FROM frames WHERE offset_ms >= ? AND offset_ms < ? ORDER BY seq LIMIT ?",
        fromMs,
        toMs,
        limit + 1,
      )
      .toArray();
    const truncated = rows.length > limit;
    return { frames: rows.slice(0, limit).map((r) => r.body), truncated };
  }

  /**
   * Gives frames logged before the start was known their offset (negative
   * for frames before the start).
   */
  backfillOffsets(startMs: number): number {
    const rows = this.sql
      .exec<{ seq: number; ts: number; body: string }>("SELECT seq, ts, body FROM frames WHERE offset_ms IS NULL")
      .toArray();
    for (const row of rows) {
      const offsetMs = row.ts - startMs;
      let body = row.body;
      try {
        const parsed = JSON.parse(row.body) as Record<string, unknown>;
        if ("offsetMs" in parsed) {
          parsed.offsetMs = offsetMs;
          body = JSON.stringify(parsed);
        }
      } catch {
        // keep the body as it was
      }
      this.sql.exec("UPDATE frames SET offset_ms = ?, body = ? WHERE seq = ?", offsetMs, body, row.seq);
    }
    return rows.length;
  }
}

export class MetaStore {
  constructor(private readonly sql: SqlStorage) {
    sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  }

  get<T>(key: string): T | undefined {
    const row = this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0];
    return row === undefined ? undefined : (JSON.parse(row.value) as T);
  }

  set(key: string, value: unknown): void {
    this.sql.exec(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      key,
      JSON.stringify(value),
    );
  }

  delete(key: string): void {
    this.sql.exec("DELETE FROM meta WHERE key = ?", key);
  }
}

/** Named deadlines on the single DO alarm (persisted, so they survive eviction). */
export class Timers {
  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly sql: SqlStorage = storage.sql,
  ) {
    sql.exec("CREATE TABLE IF NOT EXISTS timers (name TEXT PRIMARY KEY, at INTEGER NOT NULL)");
  }

  get(name: string): number | null {
    const row = this.sql.exec<{ at: number }>("SELECT at FROM timers WHERE name = ?", name).toArray()[0];
    return row?.at ?? null;
  }

  async set(name: string, at: number): Promise<void> {
    this.sql.exec("INSERT INTO timers (name, at) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET at = excluded.at", name, Math.floor(at));
    await this.sync();
  }

  /** Sets the timer unless it is already due earlier. */
  async setEarliest(name: string, at: number): Promise<void> {
    const current = this.get(name);
    if (current !== null && current <= at) return;
    await this.set(name, at);
  }

  async clear(name: string): Promise<void> {
    this.sql.exec("DELETE FROM timers WHERE name = ?", name);
    await this.sync();
  }

  /** Removes and returns the timers due at `now`. */
  takeDue(now: number): string[] {
    const due = this.sql
      .exec<{ name: string }>("SELECT name FROM timers WHERE at <= ? ORDER BY at", now)
      .toArray()
      .map((r) => r.name);
    if (due.length > 0) this.sql.exec("DELETE FROM timers WHERE at <= ?", now);
    return due;
  }

  /**
   * Points the DO alarm at the earliest timer (or removes it). `force` sets
   * it even when getAlarm() already reports that time: inside alarm() the
   * running alarm may still be reported, and it is gone once the handler
   * returns unless set again.
   */
  async sync(force = false): Promise<void> {
    const next = this.sql.exec<{ at: number | null }>("SELECT MIN(at) AS at FROM timers").one().at;
    const current = await this.storage.getAlarm();
    if (next === null) {
      if (current !== null) await this.storage.deleteAlarm();
    } else if (force || current !== next) {
      await this.storage.setAlarm(next);
    }
  }
}
