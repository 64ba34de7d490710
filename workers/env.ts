import type { HlsMother } from "./mother/hls-mother.js";
import type { EventRoom } from "./rooms/event-room.js";
import type { StreamRoom } from "./rooms/stream-room.js";

/** Bindings of the edge Worker (see wrangler.toml). */
export interface Env {
  DB: D1Database;
  HLS_MOTHER: DurableObjectNamespace<HlsMother>;
  /** Recordings (VOD HLS) and thumbnails. */
  MEDIA: R2Bucket;
  /** Chat/system/presence/poll room, one per StreamID. */
  STREAM_ROOM: DurableObjectNamespace<StreamRoom>;
  /** Event information room, one per EventID. */
  EVENT_ROOM: DurableObjectNamespace<EventRoom>;
  /** HMAC secret shared with origin boxes (secret; `.dev.vars` locally). */
  ORIGIN_SHARED_SECRET: string;
  /** Anonymous sessions one client address may mint per minute (default 60; "0" disables). */
  ANON_SESSIONS_PER_MINUTE?: string;
  /** HMAC secret of session tokens and IP fingerprints (secret, ≥ 16 characters). */
  TOKEN_SECRET: string;
  /** Session token lifetime, seconds (default 3600). */
  TOKEN_TTL_S?: string;
  /** Base URL of the generic JSON event feed (see workers/events/json-feed-provider.ts). */
  EVENT_PROVIDER_URL?: string;
  /** Poll period of an in-progress event, ms (default 1000). */
  EVENT_POLL_MS?: string;
  /** Cap of the exponential backoff while the provider fails, ms (default 10000). */
  EVENT_POLL_MAX_BACKOFF_MS?: string;
  /** Timeout of one provider request, ms (default 2000). */
  EVENT_PROVIDER_TIMEOUT_MS?: string;
  /** How long a cron ensurePolling() keeps an event polled without sockets, ms (default 180000). */
  EVENT_POLL_LEASE_MS?: string;
  /** Absolute base URL used in playbackUrl/watchUrl; default: the request's origin. */
  PUBLIC_BASE_URL?: string;
  /** Stale-if-error window for media playlists, ms (default 6000). */
  STALE_IF_ERROR_MS?: string;
  /** Mother → origin fetch timeout, ms (default 3000). */
  ORIGIN_TIMEOUT_MS?: string;
  /** Control plane: origin heartbeat interval, ms (default 5000); 3 missed intervals remove an origin from the pool. */
  HEARTBEAT_INTERVAL_MS?: string;
  /** Control plane: "ideal" share of an origin's maximum capacity (default 0.6). */
  ORIGIN_IDEAL_RATIO?: string;
  /** Viewer source selection: switch a stream to the edge at this many viewers (T1, default 10). */
  PLAY_EDGE_THRESHOLD?: string;
  /** Viewer source selection: back to direct origin below this many viewers (T2 < T1, default 5). */
  PLAY_DIRECT_THRESHOLD?: string;
  /** Watchdog: a created stream never started is ended after this long, ms (default 600000). */
  STREAM_START_TIMEOUT_MS?: string;
  /** Watchdog: a live/reconnecting stream without activity is ended after this long, ms (default 30000). */
  STREAM_INACTIVE_MS?: string;
}

export type AppVariables = {
  /** Raw request body, read once (size-limited) by the body/signature middleware. */
  rawBody: string;
  /** Authenticated API user (bearer middleware). */
  user: import("../schema/index.js").User;
};

export type AppEnv = { Bindings: Env; Variables: AppVariables };

export function intFromEnv(value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? Math.floor(n) : fallback;
}
