/**
 * A fan-out shard's own bounded copy of the room's log (SQLite, so it
 * survives eviction): the last KEEP frames it delivered, with the room's seq
 * and exact text, contiguous from `oldest` to `lastSeq`. Replays that start
 * inside it are served by the shard; older ones ask the room.
 *
 * `lastSeq` is the last frame the shard delivered to its sockets (null: it
 * has delivered nothing yet). A shard without sockets may jump ahead
 * (`reset`): nobody there needs the frames in between, and the copy starts
 * again empty from the new seq.
 */
const KEEP = 1_000;
/** trimmed in batches: one DELETE per TRIM_EVERY frames */
const TRIM_EVERY = 100;

export class ShardLog {
  private last: number | null;
  private first: number | null;
  private rows: number;

  constructor(private readonly sql: SqlStorage) {
    sql.exec("CREATE TABLE IF NOT EXISTS shard_frames (seq INTEGER PRIMARY KEY, body TEXT NOT NULL)");
    sql.exec("CREATE TABLE IF NOT EXISTS shard_base (id INTEGER PRIMARY KEY CHECK (id = 0), seq INTEGER NOT NULL)");
    const range = sql
      .exec<{ lo: number | null; hi: number | null; n: number }>("SELECT MIN(seq) AS lo, MAX(seq) AS hi, COUNT(*) AS n FROM shard_frames")
      .one();
    const base = sql.exec<{ seq: number }>("SELECT seq FROM shard_base WHERE id = 0").toArray()[0]?.seq ?? null;
    this.rows = range.n;
    this.last = range.hi ?? base;
    this.first = range.lo ?? (base === null ? null : base + 1);
  }

  /** Last seq delivered (null: none yet). */
  get lastSeq(): number | null {
    return this.last;
  }

  /** Appends the frame after lastSeq (the caller checks seq === lastSeq + 1). */
  append(seq: number, text: string): void {
    this.sql.exec("INSERT OR REPLACE INTO shard_frames (seq, body) VALUES (?, ?)", seq, text);
    this.last = seq;
    this.first ??= seq;
    this.rows++;
    if (this.rows >= KEEP + TRIM_EVERY) {
      const keepFrom = seq - KEEP + 1;
      this.sql.exec("DELETE FROM shard_frames WHERE seq < ?", keepFrom);
      this.rows = KEEP;
      this.first = keepFrom;
    }
  }

  /** Starts over at `seq` (nothing kept before it). */
  reset(seq: number): void {
    this.sql.exec("DELETE FROM shard_frames");
    this.sql.exec("INSERT INTO shard_base (id, seq) VALUES (0, ?) ON CONFLICT(id) DO UPDATE SET seq = excluded.seq", seq);
    this.last = seq;
    this.first = seq + 1;
    this.rows = 0;
  }

  /** Whether every frame after `since` up to lastSeq is here. */
  covers(since: number): boolean {
    return this.last !== null && this.first !== null && since >= this.first - 1;
  }

  /** Frames after `since` (at most `limit`), in order, as [seq, text]. */
  after(since: number, limit: number): [number, string][] {
    return this.sql
      .exec<{ seq: number; body: string }>("SELECT seq, body FROM shard_frames WHERE seq > ? ORDER BY seq LIMIT ?", since, limit)
      .toArray()
      .map((r) => [r.seq, r.body]);
  }
}
