/**
 * Muted users of a stream room (SQLite table `muted`), until a time or for
 * good. A mute also records the muted user's address (the keyed fingerprint
 * of connections.ts, never the IP) when it is known: anonymous sessions from
 * that address are muted too, so a new anonymous identity does not undo it.
 * Registered users are muted by account only.
 */
import { isValidId } from "../../../common/ids.js";
import type { LoggedFrame } from "../frames.js";
import { fail, ok, type RoomResult } from "../result.js";
import type { Sender } from "./limits.js";
import type { StreamRoomServices } from "./services.js";

interface MuteRow {
  until: number | null;
  address: string | null;
}

export class Mutes {
  private cache: Map<string, MuteRow> | null = null;

  constructor(
    private readonly room: StreamRoomServices,
    private readonly sql: SqlStorage,
  ) {
    sql.exec("CREATE TABLE IF NOT EXISTS muted (user_id TEXT PRIMARY KEY, until INTEGER, at INTEGER NOT NULL, address TEXT)");
    // rooms created before addresses were recorded
    const columns = sql.exec<{ name: string }>("PRAGMA table_info(muted)").toArray();
    if (!columns.some((c) => c.name === "address")) sql.exec("ALTER TABLE muted ADD COLUMN address TEXT");
  }

  private users(): Map<string, MuteRow> {
    if (this.cache === null) {
      const rows = this.sql
        .exec<{ user_id: string; until: number | null; address: string | null }>("SELECT user_id, until, address FROM muted")
        .toArray();
      this.cache = new Map(rows.map((r) => [r.user_id, { until: r.until, address: r.address }] as const));
    }
    return this.cache;
  }

  private active(row: MuteRow, now: number): boolean {
    return row.until === null || row.until > now;
  }

  /** Whether `who` may not chat: muted as a user, or an anonymous session from a muted address. */
  isMuted(who: Sender): boolean {
    const now = this.room.clock.now();
    const users = this.users();
    const own = users.get(who.userId);
    if (own !== undefined && this.active(own, now)) return true;
    const address = who.anon ? (who.address ?? null) : null;
    if (address === null) return false;
    for (const row of users.values()) if (row.address === address && this.active(row, now)) return true;
    return false;
  }

  /**
   * Mutes `userId` for `durationMs` (null: until unmuted), and anonymous
   * sessions from `address` with them; logs `system muted`.
   */
  mute(userId: string, durationMs: number | null, by: string, address: string | null = null): LoggedFrame {
    const now = this.room.clock.now();
    const until = durationMs === null ? null : now + durationMs;
    this.sql.exec(
      `INSERT INTO muted (user_id, until, at, address) VALUES (?, ?, ?, ?)
       ON CONFLICT(user_id) DO UPDATE SET until = excluded.until, at = excluded.at, address = COALESCE(excluded.address, muted.address)`,
      userId,
      until,
      now,
      address,
    );
    const previous = this.users().get(userId);
    this.users().set(userId, { until, address: address ?? previous?.address ?? null });
    return this.room.record({ type: "system", event: "muted", userId, until, by });
  }

  /** A `muted` / `unmuted` system post from the origin or the API (`data.userId`, `data.durationMs`). */
  fromPost(event: "muted" | "unmuted", data: Record<string, unknown>, address: string | null = null): RoomResult<{ seq: number }> {
    const userId = data.userId;
    if (typeof userId !== "string" || (event === "muted" && !isValidId(userId)))
      return fail(400, "invalid_body", `${event} needs data.userId`);
    if (event === "unmuted") return ok({ seq: this.unmute(userId).seq });
    const duration = typeof data.durationMs === "number" && data.durationMs > 0 ? data.durationMs : null;
    return ok({ seq: this.mute(userId, duration, "system", address).seq });
  }

  unmute(userId: string): LoggedFrame {
    this.sql.exec("DELETE FROM muted WHERE user_id = ?", userId);
    this.users().delete(userId);
    return this.room.record({ type: "system", event: "unmuted", userId });
  }
}
