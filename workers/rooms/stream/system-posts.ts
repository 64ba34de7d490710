/**
 * System posts keyed by their request id (SQLite table `system_posts`): a
 * signed post the room has applied answers the same result again instead of
 * delivering a second gift. The Worker already refuses a replayed signature
 * (workers/lib/origin-auth.ts); this makes the state change itself
 * idempotent, whatever path a duplicate takes. Rows are kept for
 * RETAIN_MS, far longer than a signature is accepted.
 */
import type { StreamRoomServices } from "./services.js";

const RETAIN_MS = 10 * 60_000;

/** What a system post answered (`seq` of its log frame, or `recipients` of a group post). */
export type PostResult = { seq?: number; recipients?: number };

export class SystemPosts {
  constructor(
    private readonly room: StreamRoomServices,
    private readonly sql: SqlStorage,
  ) {
    sql.exec("CREATE TABLE IF NOT EXISTS system_posts (request_id TEXT PRIMARY KEY, result TEXT, at INTEGER NOT NULL)");
  }

  /**
   * Claims `requestId` for a post about to be applied: null if it is new
   * (claimed now, synchronously, so a duplicate arriving while the first is
   * still being applied sees the claim), else what the first one answered
   * ({} while it is still being applied).
   */
  claim(requestId: string): PostResult | null {
    const now = this.room.clock.now();
    const row = this.sql.exec<{ result: string | null }>("SELECT result FROM system_posts WHERE request_id = ?", requestId).toArray()[0];
    if (row !== undefined) return row.result === null ? {} : (JSON.parse(row.result) as PostResult);
    this.sql.exec("DELETE FROM system_posts WHERE at < ?", now - RETAIN_MS);
    this.sql.exec("INSERT INTO system_posts (request_id, result, at) VALUES (?, NULL, ?)", requestId, now);
    return null;
  }

  /** The claimed post was applied: its answer, for duplicates. */
  applied(requestId: string, result: PostResult): void {
    this.sql.exec("UPDATE system_posts SET result = ? WHERE request_id = ?", JSON.stringify(result), requestId);
  }

  /** The claimed post failed: a retry with the same id may try again. */
  failed(requestId: string): void {
    this.sql.exec("DELETE FROM system_posts WHERE request_id = ?", requestId);
  }
}
