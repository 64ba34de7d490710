/**
 * D1 schema (drizzle sqlite-core). Migrations are generated from this file by
 * `npx drizzle-kit generate` into `schema/migrations` (see drizzle.config.ts)
 * and applied by `wrangler d1 migrations apply DB` and by the Workers tests.
 *
 * All timestamps are integer milliseconds since the epoch.
 *
 * Secrets (API keys, stream keys) are stored only as SHA-256 hex digests. The
 * keys are 40 random base62 characters (~238 bits), so a brute-force search
 * of the digest is infeasible and a fast, unsalted hash is the right choice
 * (it also lets us look a key up by its hash through a unique index). A slow
 * password hash would only be needed for low-entropy, user-chosen secrets.
 */
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const USER_ROLES = ["broadcaster", "viewer", "vip", "media", "admin"] as const;
export type UserRole = (typeof USER_ROLES)[number];

export const ORIGIN_POOLS = ["standard", "vip"] as const;
export type OriginPool = (typeof ORIGIN_POOLS)[number];

export const STREAM_STATUSES = ["created", "live", "reconnecting", "ended"] as const;
export type StreamStatus = (typeof STREAM_STATUSES)[number];

export const users = sqliteTable("users", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  role: text("role", { enum: USER_ROLES }).notNull(),
  /** sha256 hex of the API key */
  apiKeyHash: text("api_key_hash").notNull().unique(),
  createdAt: integer("created_at").notNull(),
});

export const origins = sqliteTable(
  "origins",
  {
    id: text("id").primaryKey(),
    baseUrl: text("base_url").notNull(),
    rtmpUrl: text("rtmp_url").notNull(),
    capacity: integer("capacity").notNull(),
    activeStreams: integer("active_streams").notNull().default(0),
    pool: text("pool", { enum: ORIGIN_POOLS }).notNull().default("standard"),
    lastHeartbeatAt: integer("last_heartbeat_at").notNull(),
  },
  (t) => [index("origins_pool_heartbeat_idx").on(t.pool, t.lastHeartbeatAt)],
);

export const streams = sqliteTable(
  "streams",
  {
    /** matches STREAM_ID_PATTERN in common/hls-paths.ts */
    id: text("id").primaryKey(),
    /** sha256 hex of the stream key */
    keyHash: text("key_hash").notNull().unique(),
    ownerId: text("owner_id")
      .notNull()
      .references(() => users.id),
    originId: text("origin_id").references(() => origins.id),
    status: text("status", { enum: STREAM_STATUSES }).notNull().default("created"),
    title: text("title").notNull().default(""),
    /** JSON array of strings */
    tags: text("tags").notNull().default("[]"),
    eventId: text("event_id"),
    createdAt: integer("created_at").notNull(),
    startedAt: integer("started_at"),
    endedAt: integer("ended_at"),
  },
  (t) => [index("streams_owner_idx").on(t.ownerId), index("streams_event_idx").on(t.eventId)],
);

export type User = typeof users.$inferSelect;
export type Origin = typeof origins.$inferSelect;
export type Stream = typeof streams.$inferSelect;
