/**
 * The wire contract between an origin box and the API Worker
 * (`/api/internal/*`, HMAC-signed with common/signing.ts). Both sides import
 * these schemas and types: the Worker validates what it receives with them,
 * the origin builds its requests and reads the answers as these types, so
 * the two cannot drift apart.
 */
import { z } from "zod";
import { idSchema, STREAM_KEY_PATTERN } from "./ids.js";

/** The stream statuses an origin reports (the Worker adds `created` before the first publish). */
const ORIGIN_STREAM_STATUSES = ["live", "reconnecting", "ended"] as const;
export type OriginStreamStatus = (typeof ORIGIN_STREAM_STATUSES)[number];

export const ORIGIN_POOLS = ["standard", "vip"] as const;

/**
 * How often an origin sends a heartbeat, and what the Worker expects by
 * default (3 missed intervals take an origin out of the pool): one default
 * for both sides (HEARTBEAT_INTERVAL_MS sets either).
 */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 5_000;

const OriginId = idSchema("originId");
const HttpUrl = z
  .string()
  .max(512)
  .url()
  .refine((u) => /^https?:\/\//i.test(u), "must be an http(s) URL");
const RtmpUrl = z
  .string()
  .max(512)
  .url()
  .refine((u) => /^rtmps?:\/\//i.test(u), "must be an rtmp(s) URL");

// Request bodies strip unknown keys: a newer origin may send more than the Worker reads.

/** POST /api/internal/origins/heartbeat → { ok: true } */
export const HeartbeatRequest = z.object({
  originId: OriginId,
  baseUrl: HttpUrl,
  rtmpUrl: RtmpUrl,
  capacity: z.number().int().min(0).max(1_000_000),
  activeStreams: z.number().int().min(0).max(1_000_000),
  pool: z.enum(ORIGIN_POOLS).optional(),
  /** HLS egress since the previous heartbeat, bits per second */
  egressBps: z.number().min(0).max(1e13).optional(),
  /** machine CPU use since the previous heartbeat, 0..1 per core */
  cpu: z.number().min(0).max(64).optional(),
});
export type HeartbeatRequest = z.input<typeof HeartbeatRequest>;

/** POST /api/internal/publish → PublishResponse; 404 unknown_stream_key, 409 stream_ended / unknown_origin */
export const PublishRequest = z.object({
  originId: OriginId,
  streamKey: z.string().regex(STREAM_KEY_PATTERN, `streamKey must match ${STREAM_KEY_PATTERN.source}`),
});
export type PublishRequest = z.input<typeof PublishRequest>;
export interface PublishResponse {
  streamId: string;
}

/** POST /api/internal/streams/<id>/status → StatusResponse; 409 origin_mismatch / stream_ended */
export const StatusReport = z.object({
  originId: OriginId,
  status: z.enum(ORIGIN_STREAM_STATUSES),
});
export type StatusReport = z.input<typeof StatusReport>;
export interface StatusResponse {
  ok: true;
  streamId: string;
  status: OriginStreamStatus;
}

/** Every error answer of the Worker. */
export interface ErrorBody {
  error: { code: string; message: string };
}
