/**
 * The wire contract between an origin box and the API Worker
 * (`/api/internal/*`, HMAC-signed with common/signing.ts). Both sides import
 * these schemas and types: the Worker validates what it receives with them,
 * the origin builds its requests and reads the answers as these types, so
 * the two cannot drift apart.
 */
import { z } from "zod";
import { idSchema, STREAM_ID_PATTERN, STREAM_KEY_PATTERN } from "./ids.js";

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

/**
 * One stream an origin holds, in every heartbeat: the control plane compares
 * it with D1 and answers what the origin must do (HeartbeatResponse).
 */
export const OriginStreamReport = z.object({
  streamId: z.string().regex(STREAM_ID_PATTERN),
  /** "starting": a publisher is connected, no media yet. */
  state: z.enum(["starting", "live", "reconnecting"]),
  /** Wall clock (ms) of the newest segment: the stream's own media progress (0: none yet). */
  lastMediaAt: z.number().int().min(0),
  /** SHA-256 (hex) of the key the current publisher used; null without a publisher. */
  publisherKeyHash: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .nullable(),
});
export type OriginStreamReport = z.input<typeof OriginStreamReport>;

/** POST /api/internal/origins/heartbeat → HeartbeatResponse */
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
  /** the streams this origin holds (older origins send none) */
  streams: z.array(OriginStreamReport).max(10_000).optional(),
});
export type HeartbeatRequest = z.input<typeof HeartbeatRequest>;

/**
 * What the origin must do about its streams: end the ones the control plane
 * ended (admin, watchdog: ENDLIST, recording closed, publisher dropped), and
 * drop publishers whose stream key was rotated (they must come back with the
 * new key).
 */
export interface HeartbeatResponse {
  ok: true;
  end: Array<{ streamId: string; reason: string }>;
  dropPublisher: string[];
}

/** POST /api/internal/publish → PublishResponse; 404 unknown_stream_key, 409 stream_ended / unknown_origin */
export const PublishRequest = z.object({
  originId: OriginId,
  streamKey: z.string().regex(STREAM_KEY_PATTERN, `streamKey must match ${STREAM_KEY_PATTERN.source}`),
});
export type PublishRequest = z.input<typeof PublishRequest>;
export interface PublishResponse {
  streamId: string;
}

/**
 * POST /api/internal/streams/<id>/status → StatusResponse; 409 origin_mismatch / stream_ended.
 * `live` is reported once media flows (the first segment of a run), not when a publish is authorized.
 */
export const StatusReport = z.object({
  originId: OriginId,
  status: z.enum(ORIGIN_STREAM_STATUSES),
  /** with `ended`: `start_failed` when the transcoder failed before any media (bad codec, no video) */
  reason: z.enum(["start_failed"]).optional(),
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
