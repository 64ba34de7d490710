/**
 * Which origin box serves a stream, as the mother sees it: D1's
 * streams.originId → origins.baseUrl, memoized briefly, one query at a time.
 * A change of box is reported (the mother then drops the old box's
 * playlists); a lookup failure is not memoized.
 */
import { eq } from "drizzle-orm";
import { schema, type Db } from "../lib/db.js";

export type OriginResolution = { ok: true; baseUrl: string } | { ok: false; status: number; code: string; message: string };

/** How long a resolved origin is trusted before asking D1 again. */
const ORIGIN_MEMO_MS = 5_000;
/** How long "unknown stream" / "no origin yet" is remembered. */
const ORIGIN_MISS_MEMO_MS = 1_000;

export class OriginDirectory {
  private memo: { resolution: OriginResolution; expiresAt: number } | null = null;
  private lookup: Promise<OriginResolution> | null = null;
  /** The last box that served the stream (kept for stats after a failure). */
  lastBaseUrl: string | null = null;

  constructor(
    private readonly db: () => Db,
    private readonly onOriginChanged: () => void,
  ) {}

  get current(): OriginResolution | undefined {
    return this.memo?.resolution;
  }

  /** The origin failed: ask D1 again next time (the broadcaster may have reconnected elsewhere). */
  forget(): void {
    this.memo = null;
  }

  async resolve(streamId: string): Promise<OriginResolution> {
    if (this.memo !== null && Date.now() < this.memo.expiresAt) return this.memo.resolution;
    this.lookup ??= this.query(streamId).finally(() => {
      this.lookup = null;
    });
    return this.lookup;
  }

  private async query(streamId: string): Promise<OriginResolution> {
    let row: { baseUrl: string | null } | undefined;
    try {
      [row] = await this.db()
        .select({ baseUrl: schema.origins.baseUrl })
        .from(schema.streams)
        .leftJoin(schema.origins, eq(schema.streams.originId, schema.origins.id))
        .where(eq(schema.streams.id, streamId))
        .limit(1);
    } catch (error) {
      console.error("mother: stream directory lookup failed", error);
      return { ok: false, status: 503, code: "directory_unavailable", message: "stream directory unavailable" };
    }
    let resolution: OriginResolution;
    if (row === undefined) {
      resolution = { ok: false, status: 404, code: "unknown_stream", message: "no such stream" };
    } else if (row.baseUrl === null) {
      resolution = { ok: false, status: 404, code: "stream_offline", message: "stream has no origin yet" };
    } else {
      const baseUrl = row.baseUrl.replace(/\/+$/, "");
      if (this.lastBaseUrl !== null && this.lastBaseUrl !== baseUrl) this.onOriginChanged();
      this.lastBaseUrl = baseUrl;
      resolution = { ok: true, baseUrl };
    }
    this.memo = { resolution, expiresAt: Date.now() + (resolution.ok ? ORIGIN_MEMO_MS : ORIGIN_MISS_MEMO_MS) };
    return resolution;
  }
}
