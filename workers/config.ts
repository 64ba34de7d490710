/**
 * The Worker's configuration: every variable of wrangler.toml `[vars]` and
 * the two secrets, parsed and validated once per environment object into a
 * typed `WorkerConfig`. The defaults below are the only ones in the code;
 * wrangler.toml and the README's Configuration table carry the same values.
 * A malformed value is logged (which variable, what is wrong) and its
 * default used: a typo in a tuning knob must not take the Worker down.
 */
import { z } from "zod";
import { DEFAULT_HEARTBEAT_INTERVAL_MS } from "../common/origin-contract.js";
import { DEFAULT_TOKEN_TTL_S, MIN_SECRET_LENGTH } from "./lib/session-token.js";
import { DEFAULT_HOT_CACHE_BYTES } from "./tiers/hot-cache.js";

/** An origin silent for this many heartbeat intervals leaves the pool. */
const MISSED_HEARTBEATS = 3;

/** Malformed values met by the parse in progress (parsing is synchronous), logged once per environment. */
let warnings: string[] = [];

/**
 * A variable validated by `schema`; unset or empty means `fallback`, and so
 * does a malformed value, with a warning naming it (a typo in a tuning knob
 * must not take the Worker down).
 */
function setting<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, fallback: T) {
  return z.unknown().transform((raw, ctx): T => {
    if (raw === undefined || raw === "") return fallback;
    const result = schema.safeParse(raw);
    if (result.success) return result.data;
    warnings.push(`${ctx.path.join(".")}=${JSON.stringify(raw)}: ${result.error.issues[0]?.message}`);
    return fallback;
  });
}

const nonNegativeInt = z.coerce.number().finite().min(0).transform(Math.floor);
const countAtLeastOne = z.coerce.number().int().min(1);
const optionalString = z.string().trim().min(1).nullable();

const VarsSchema = z.object({
  ORIGIN_SHARED_SECRET: setting(optionalString, null),
  TOKEN_SECRET: setting(z.string().min(MIN_SECRET_LENGTH, `must be ${MIN_SECRET_LENGTH}+ characters`).nullable(), null),
  TOKEN_TTL_S: setting(nonNegativeInt, DEFAULT_TOKEN_TTL_S),
  ANON_SESSIONS_PER_MINUTE: setting(nonNegativeInt, 60),
  PUBLIC_BASE_URL: setting(z.string().trim().url().nullable(), null),
  EVENT_PROVIDER_URL: setting(z.string().trim().url().nullable(), null),
  EVENT_POLL_MS: setting(nonNegativeInt, 1000),
  EVENT_POLL_MAX_BACKOFF_MS: setting(nonNegativeInt, 10_000),
  EVENT_PROVIDER_TIMEOUT_MS: setting(nonNegativeInt, 2000),
  EVENT_POLL_LEASE_MS: setting(nonNegativeInt, 180_000),
  EVENT_FINAL_GRACE_MS: setting(nonNegativeInt, 60_000),
  EVENT_SHARD_SOCKETS: setting(nonNegativeInt, 1000),
  STREAM_SHARD_SOCKETS: setting(nonNegativeInt, 0),
  STALE_IF_ERROR_MS: setting(nonNegativeInt, 6000),
  ORIGIN_TIMEOUT_MS: setting(nonNegativeInt, 3000),
  HEARTBEAT_INTERVAL_MS: setting(nonNegativeInt, DEFAULT_HEARTBEAT_INTERVAL_MS),
  ORIGIN_IDEAL_RATIO: setting(z.coerce.number().gt(0).max(1), 0.6),
  PLAY_EDGE_THRESHOLD: setting(countAtLeastOne, 10),
  PLAY_DIRECT_THRESHOLD: setting(countAtLeastOne, 5),
  STREAM_START_TIMEOUT_MS: setting(nonNegativeInt, 600_000),
  STREAM_INACTIVE_MS: setting(nonNegativeInt, 30_000),
  DEV_COLO_HEADER: setting(z.enum(["0", "1"]), "0"),
  EDGE_HOT_CACHE_BYTES: setting(nonNegativeInt, DEFAULT_HOT_CACHE_BYTES),
});

export interface WorkerConfig {
  /** HMAC secret shared with origin boxes; null: every signed call is refused */
  originSharedSecret: string | null;
  /** HMAC secret of session tokens and IP fingerprints; null: no sessions (503) */
  tokenSecret: string | null;
  tokenTtlSeconds: number;
  /** 0: no limit */
  anonSessionsPerMinute: number;
  /** absolute base of playback/watch URLs; null: the request's origin */
  publicBaseUrl: string | null;
  events: {
    providerUrl: string | null;
    pollMs: number;
    maxBackoffMs: number;
    providerTimeoutMs: number;
    /** how long a cron ensurePolling() keeps an event polled without sockets */
    pollLeaseMs: number;
    /**
     * A `final` from the provider is final only once it has held this long
     * (polling goes on meanwhile); a confirmed final is asked again at most
     * this often, when a socket joins or the cron's monitor calls.
     */
    finalGraceMs: number;
    /** sockets per fan-out shard (workers/rooms/fanout/); 0: every socket on the EventRoom itself */
    shardSockets: number;
  };
  streams: {
    /** sockets per stream fan-out shard (workers/rooms/fanout/stream-shard.ts); 0: every socket on the StreamRoom itself */
    shardSockets: number;
  };
  mother: { staleIfErrorMs: number; originTimeoutMs: number };
  tiers: {
    /** Honour X-Dev-Colo / X-Dev-Region (local tests and benchmarks only; see workers/tiers/regions.ts). */
    devColoHeader: boolean;
    /** Memory budget of the edge's hot tier per isolate; 0 turns it off. */
    hotCacheBytes: number;
  };
  control: {
    heartbeatIntervalMs: number;
    /** MISSED_HEARTBEATS × heartbeat interval */
    originLivenessMs: number;
    idealRatio: number;
    /** viewer source hysteresis: to the edge at t1 viewers, back below t2 (< t1) */
    thresholds: { t1: number; t2: number };
    startTimeoutMs: number;
    inactiveMs: number;
  };
}

const parsed = new WeakMap<object, WorkerConfig>();

/** The configuration of `env`, parsed once per environment object. */
export function parseConfig(env: object): WorkerConfig {
  const known = parsed.get(env);
  if (known !== undefined) return known;
  warnings = [];
  const v = VarsSchema.parse(env); // every field falls back: only a non-object env throws
  for (const warning of warnings) console.warn(`config: ${warning}; using the default`);
  const config: WorkerConfig = {
    originSharedSecret: v.ORIGIN_SHARED_SECRET,
    tokenSecret: v.TOKEN_SECRET,
    tokenTtlSeconds: Math.max(1, v.TOKEN_TTL_S),
    anonSessionsPerMinute: v.ANON_SESSIONS_PER_MINUTE,
    publicBaseUrl: v.PUBLIC_BASE_URL?.replace(/\/+$/, "") ?? null,
    events: {
      providerUrl: v.EVENT_PROVIDER_URL,
      // 0 would poll in a loop: it means the default
      pollMs: v.EVENT_POLL_MS || 1000,
      maxBackoffMs: v.EVENT_POLL_MAX_BACKOFF_MS,
      providerTimeoutMs: v.EVENT_PROVIDER_TIMEOUT_MS,
      pollLeaseMs: v.EVENT_POLL_LEASE_MS,
      finalGraceMs: v.EVENT_FINAL_GRACE_MS,
      shardSockets: v.EVENT_SHARD_SOCKETS,
    },
    streams: { shardSockets: v.STREAM_SHARD_SOCKETS },
    mother: { staleIfErrorMs: v.STALE_IF_ERROR_MS, originTimeoutMs: v.ORIGIN_TIMEOUT_MS || 3000 },
    tiers: { devColoHeader: v.DEV_COLO_HEADER === "1", hotCacheBytes: v.EDGE_HOT_CACHE_BYTES },
    control: {
      heartbeatIntervalMs: Math.max(1, v.HEARTBEAT_INTERVAL_MS),
      originLivenessMs: MISSED_HEARTBEATS * Math.max(1, v.HEARTBEAT_INTERVAL_MS),
      idealRatio: v.ORIGIN_IDEAL_RATIO,
      // T2 is forced below T1, so the hysteresis band is never empty
      thresholds: { t1: v.PLAY_EDGE_THRESHOLD, t2: Math.min(v.PLAY_DIRECT_THRESHOLD, Math.max(1, v.PLAY_EDGE_THRESHOLD - 1)) },
      startTimeoutMs: v.STREAM_START_TIMEOUT_MS,
      inactiveMs: v.STREAM_INACTIVE_MS,
    },
  };
  parsed.set(env, config);
  return config;
}
