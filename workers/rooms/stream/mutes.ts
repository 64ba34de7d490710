/** Muted users of a stream room (SQLite table `muted`), until a time or for good. */
import { isValidId } from "../../../common/ids.js";
import type { LoggedFrame } from "../frames.js";
import { fail, ok, type RoomResult } from "../result.js";
import type { StreamRoomServices } from "./services.js";

export class Mutes {
  private cache: Map<string, number | null> | null = null;

  constructor(
    private readonly room: StreamRoomServices,
    private readonly sql: SqlStorage,
  ) {
    sql.exec("CREATE TABLE IF NOT EXISTS muted (user_id TEXT PRIMARY KEY, until INTEGER, at INTEGER NOT NULL)");
  }

  private users(): Map<string, number | null> {
    if (this.cache === null) {
      const rows = this.sql.exec<{ user_id: string; until: number | null }>("SELECT user_id, until FROM muted").toArray();
      this.cache = new Map(rows.map((r) => [r.user_id, r.until] as const));
    }
    return this.cache;
  }

  isMuted(userId: string): boolean {
    const users = this.users();
    if (!users.has(userId)) return false;
    const until = users.get(userId) ?? null;
    return until === null || until > this.room.clock.now();
  }

  /** Mutes `userId` for `durationMs` (null: until unmuted); logs `system muted`. */
  mute(userId: string, durationMs: number | null, by: string): LoggedFrame {
    const now = this.room.clock.now();
    const until = durationMs === null ? null : now + durationMs;
    this.sql.exec(
      "INSERT INTO muted (user_id, until, at) VALUES (?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET until = excluded.until, at = excluded.at",
      userId,
      until,
      now,
    );
    this.users().set(userId, until);
    return this.room.record({ type: "system", event: "muted", userId, until, by });
  }

  /** A `muted` / `unmuted` system post from the origin or the API (`data.userId`, `data.durationMs`). */
  fromPost(event: "muted" | "unmuted", data: Record<string, unknown>): RoomResult<{ seq: number }> {
    const userId = data.userId;
    if (typeof userId !== "string" || (event === "muted" && !isValidId(userId)))
      return fail(400, "invalid_body", `${event} needs data.userId`);
    if (event === "unmuted") return ok({ seq: this.unmute(userId).seq });
    const duration = typeof data.durationMs === "number" && data.durationMs > 0 ? data.durationMs : null;
    return ok({ seq: this.mute(userId, duration, "system").seq });
  }

  unmute(userId: string): LoggedFrame {
    this.sql.exec("DELETE FROM muted WHERE user_id = ?", userId);
    this.users().delete(userId);
    return this.room.record({ type: "system", event: "unmuted", userId });
  }
}
