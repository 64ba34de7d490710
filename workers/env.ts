import type { HlsMother } from "./mother/hls-mother.js";

/** Bindings of the edge Worker (see wrangler.toml). */
export interface Env {
  DB: D1Database;
  HLS_MOTHER: DurableObjectNamespace<HlsMother>;
  /** Recordings (VOD HLS) and thumbnails. */
  MEDIA: R2Bucket;
  /** HMAC secret shared with origin boxes (secret; `.dev.vars` locally). */
  ORIGIN_SHARED_SECRET: string;
  /** Absolute base URL used in playbackUrl/watchUrl; default: the request's origin. */
  PUBLIC_BASE_URL?: string;
  /** Stale-if-error window for media playlists, ms (default 6000). */
  STALE_IF_ERROR_MS?: string;
  /** Mother → origin fetch timeout, ms (default 3000). */
  ORIGIN_TIMEOUT_MS?: string;
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
