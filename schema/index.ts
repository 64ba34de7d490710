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
import { index, integer, primaryKey, real, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { EVENT_STATUSES, type EventStatus } from "../common/event-feed.js";
import { ORIGIN_POOLS } from "../common/origin-contract.js";

export const USER_ROLES = ["broadcaster", "viewer", "vip", "media", "admin"] as const;
export type UserRole = (typeof USER_ROLES)[number];

export { ORIGIN_POOLS };
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
    /** HLS egress reported by the last heartbeat, bits per second */
    egressBps: integer("egress_bps").notNull().default(0),
    /** machine CPU use reported by the last heartbeat, 0..1 */
    cpu: real("cpu").notNull().default(0),
    /** set by the watchdog when the origin stopped heartbeating (left the pool); a heartbeat clears it */
    removedAt: integer("removed_at"),
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
    /** last proof of life from the origin for this stream (publish, status report, thumbnail) */
    lastActivityAt: integer("last_activity_at"),
    /** URL path of the latest thumbnail (/thumbnails/<id>/<n>.jpg) */
    thumbnailUrl: text("thumbnail_url"),
    /** viewer source mode with hysteresis (workers/control/viewer-source.ts) */
    playbackMode: text("playback_mode", { enum: ["origin", "edge"] })
      .notNull()
      .default("origin"),
    /** JSON: the broadcaster's location at create time ({lat, lon} and/or {country}) */
    location: text("location"),
    /** JSON: archived copy of the event row at create time */
    eventSnapshot: text("event_snapshot"),
    /** why the stream ended (origin, watchdog_never_started, watchdog_inactive, admin) */
    endReason: text("end_reason"),
  },
  (t) => [
    index("streams_owner_idx").on(t.ownerId),
    index("streams_event_idx").on(t.eventId),
    index("streams_status_created_idx").on(t.status, t.createdAt),
  ],
);

/** Final viewer statistics of an ended stream (from its StreamRoom). */
export const streamStats = sqliteTable("stream_stats", {
  streamId: text("stream_id")
    .primaryKey()
    .references(() => streams.id),
  durationMs: integer("duration_ms").notNull(),
  peakViewers: integer("peak_viewers").notNull(),
  /** time-weighted average of concurrent sockets between start and end */
  avgViewers: real("avg_viewers").notNull(),
  joins: integer("joins").notNull(),
  leaves: integer("leaves").notNull(),
  endedAt: integer("ended_at").notNull(),
});

/** viewer → broadcaster follows (followerId may be an anonymous account). */
export const follows = sqliteTable(
  "follows",
  {
    followerId: text("follower_id").notNull(),
    broadcasterId: text("broadcaster_id")
      .notNull()
      .references(() => users.id),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.followerId, t.broadcasterId] }), index("follows_broadcaster_idx").on(t.broadcasterId)],
);

/** One row per follower when a followed broadcaster goes live. */
export const notifications = sqliteTable(
  "notifications",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    kind: text("kind").notNull(),
    streamId: text("stream_id"),
    broadcasterId: text("broadcaster_id"),
    data: text("data").notNull().default("{}"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("notifications_user_idx").on(t.userId, t.createdAt)],
);

/** Administrative alerts (origin pool above ideal capacity, pool full, origin lost ...). */
export const adminAlerts = sqliteTable(
  "admin_alerts",
  {
    id: text("id").primaryKey(),
    kind: text("kind").notNull(),
    message: text("message").notNull(),
    data: text("data").notNull().default("{}"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("admin_alerts_created_idx").on(t.createdAt)],
);

export { EVENT_STATUSES, type EventStatus };

/**
 * Sports events ingested from the event provider by the cron (events within
 * ±24 h of now) and kept current by each event's EventRoom while it polls.
 * `data` is the last normalized event (workers/events/standard-event.ts) as JSON.
 */
export const events = sqliteTable(
  "events",
  {
    /** the provider's event id, 1-64 of [A-Za-z0-9_.:-] */
    id: text("id").primaryKey(),
    provider: text("provider").notNull(),
    sport: text("sport").notNull(),
    status: text("status", { enum: EVENT_STATUSES }).notNull(),
    startTime: integer("start_time").notNull(),
    homeName: text("home_name").notNull(),
    homeScore: integer("home_score").notNull().default(0),
    awayName: text("away_name").notNull(),
    awayScore: integer("away_score").notNull().default(0),
    data: text("data").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("events_status_start_idx").on(t.status, t.startTime), index("events_start_idx").on(t.startTime)],
);

/**
 * Anonymous viewer accounts minted by POST /api/session/anonymous (so that
 * every socket is authenticated, even a viewer who never signed in). Only a keyed
 * hash (HMAC with TOKEN_SECRET) of the client IP is kept, never the IP.
 */
export const anonymousViewers = sqliteTable(
  "anonymous_viewers",
  {
    id: text("id").primaryKey(),
    ipFingerprint: text("ip_fingerprint").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("anonymous_viewers_fingerprint_idx").on(t.ipFingerprint)],
);

/**
 * Nonces (request ids) of the signed origin → Worker calls the Worker has
 * accepted, kept until their signature is too old to be accepted anyway
 * (common/signing.ts MAX_AGE_MS): a replay inserts the same nonce, which the
 * primary key refuses, also when the replays race (workers/lib/origin-auth.ts).
 */
export const signedRequestNonces = sqliteTable(
  "signed_request_nonces",
  {
    nonce: text("nonce").primaryKey(),
    /** ms; the row may be dropped after this (the request's timestamp + MAX_AGE_MS) */
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [index("signed_request_nonces_expires_idx").on(t.expiresAt)],
);

export type User = typeof users.$inferSelect;
export type Origin = typeof origins.$inferSelect;
export type Stream = typeof streams.$inferSelect;
export type EventRow = typeof events.$inferSelect;
export type AnonymousViewer = typeof anonymousViewers.$inferSelect;
export type StreamStats = typeof streamStats.$inferSelect;
export type AdminAlert = typeof adminAlerts.$inferSelect;
