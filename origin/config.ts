/**
 * Origin configuration from the environment, with the defaults of the public
 * contract: HTTP :8080, RTMP :1935 (README "Configuration" lists every variable).
 */
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_HEARTBEAT_INTERVAL_MS } from "../common/origin-contract.js";
import type { RenditionSpec } from "./packager/stream-packager.js";

export interface OriginConfig {
  originId: string;
  /** Address both listeners bind to. */
  bindHost: string;
  httpPort: number;
  rtmpPort: number;
  /** How the Worker (and viewers taking the direct path) reach our HTTP server. */
  publicBaseUrl: string;
  /** What broadcasters are told to push to, without the stream key. */
  publicRtmpUrl: string;
  /** The API Worker that authorizes publishes and receives heartbeats. */
  workerUrl: string;
  sharedSecret: string;
  ladder: RenditionSpec[];
  frameRate: number;
  x264Preset: string;
  targetDuration: number;
  /**
   * LL-HLS part duration, seconds (FFmpeg's -frag_duration; FFmpeg rounds it
   * up to whole frames). 1/3 s: 3 parts per 1 s keyframe interval, so every
   * keyframe starts a part, and PART-HOLD-BACK (3 parts) is about 1 s.
   */
  partDuration: number;
  windowSize: number;
  /** How long a stream waits for its broadcaster to come back before it ends. */
  reconnectGraceMs: number;
  /** RTMP port limits (node-media-server has none that work): see origin/ingest/connection-guard.ts. */
  rtmpMaxConnectionsPerAddress: number;
  rtmpHandshakeTimeoutMs: number;
  /** A publisher sending no media this long is closed (its stream goes to reconnecting). */
  rtmpIdleTimeoutMs: number;
  heartbeatIntervalMs: number;
  capacity: number;
  pool: "standard" | "vip";
  /** How long an ended stream's playlists and segments stay servable. */
  endedRetentionMs: number;
  dataDir: string;
  /** Record the top rendition as VOD HLS into R2 (through the Worker). */
  record: boolean;
  /** Grab thumbnails at 1, 3, 5 s then every 5 s into R2. */
  thumbnails: boolean;
}

/** Named ladders; `LADDER` may also spell one out: "720p:1280x720:2500k,360p:640x360:1000k". */
const LADDERS: Record<string, string> = {
  default: "720p:1280x720:2500k,360p:640x360:1000k,240p:426x240:400k",
  tiny: "180p:320x180:250k,90p:160x90:100k",
};

const AUDIO_BITRATE = 128_000;
const TINY_AUDIO_BITRATE = 64_000;

function parseBitrate(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(text.trim());
  if (!match) throw new Error(`bad bitrate "${text}"`);
  const scale = { "": 1, k: 1_000, m: 1_000_000 }[match[2]!.toLowerCase() as "" | "k" | "m"];
  return Math.round(Number(match[1]) * scale);
}

export function parseLadder(spec: string, frameRate: number): RenditionSpec[] {
  const text = LADDERS[spec] ?? spec;
  const rungs = text.split(",").map((rung) => {
    const [name, size, bitrate] = rung.split(":");
    const dims = /^(\d{2,4})x(\d{2,4})$/.exec(size ?? "");
    if (!name || !/^[a-z0-9_]{1,16}$/.test(name) || !dims || !bitrate) {
      throw new Error(`bad ladder rung "${rung}" (want name:WxH:bitrate)`);
    }
    const videoBitrate = parseBitrate(bitrate);
    return {
      name,
      width: Number(dims[1]),
      height: Number(dims[2]),
      videoBitrate,
      audioBitrate: videoBitrate < 500_000 ? TINY_AUDIO_BITRATE : AUDIO_BITRATE,
      frameRate,
    };
  });
  if (new Set(rungs.map((r) => r.name)).size !== rungs.length) {
    throw new Error("ladder rendition names must be unique");
  }
  return rungs;
}

function intFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number`);
  return value;
}

/** PART_DURATION_MS (default 333): from 100 ms to a target duration, and at least one frame. */
function partDurationFrom(env: NodeJS.ProcessEnv): number {
  const ms = intFrom(env, "PART_DURATION_MS", 333);
  if (ms < 100 || ms > 2000) throw new Error("PART_DURATION_MS must be from 100 to 2000 (LL-HLS parts are shorter than a segment)");
  return ms / 1000;
}

export function loadOriginConfig(env: NodeJS.ProcessEnv = process.env): OriginConfig {
  const httpPort = intFrom(env, "ORIGIN_HTTP_PORT", 8080);
  const rtmpPort = intFrom(env, "RTMP_PORT", 1935);
  const publicHost = env.ORIGIN_PUBLIC_HOST ?? "127.0.0.1";
  const frameRate = intFrom(env, "FRAME_RATE", 30);
  const sharedSecret = env.ORIGIN_SHARED_SECRET ?? "";
  if (sharedSecret.length < 16) {
    throw new Error("ORIGIN_SHARED_SECRET must be set (16+ characters); it signs calls to the Worker");
  }
  return {
    originId: env.ORIGIN_ID ?? `origin-${randomBytes(4).toString("hex")}`,
    bindHost: env.ORIGIN_BIND ?? "0.0.0.0",
    httpPort,
    rtmpPort,
    publicBaseUrl: env.ORIGIN_PUBLIC_URL ?? `http://${publicHost}:${httpPort}`,
    publicRtmpUrl: env.ORIGIN_PUBLIC_RTMP_URL ?? `rtmp://${publicHost}:${rtmpPort}/live`,
    workerUrl: env.WORKER_URL ?? `http://127.0.0.1:${env.EDGE_PORT ?? 8787}`,
    sharedSecret,
    ladder: parseLadder(env.LADDER ?? "default", frameRate),
    frameRate,
    x264Preset: env.X264_PRESET ?? "veryfast",
    targetDuration: 2,
    partDuration: partDurationFrom(env),
    windowSize: intFrom(env, "PLAYLIST_WINDOW", 6),
    reconnectGraceMs: intFrom(env, "RECONNECT_GRACE_MS", 15_000),
    rtmpMaxConnectionsPerAddress: intFrom(env, "RTMP_MAX_CONNECTIONS_PER_ADDRESS", 10),
    rtmpHandshakeTimeoutMs: intFrom(env, "RTMP_HANDSHAKE_TIMEOUT_MS", 10_000),
    rtmpIdleTimeoutMs: intFrom(env, "RTMP_IDLE_TIMEOUT_MS", 5_000),
    heartbeatIntervalMs: intFrom(env, "HEARTBEAT_INTERVAL_MS", DEFAULT_HEARTBEAT_INTERVAL_MS),
    capacity: intFrom(env, "ORIGIN_CAPACITY", 20),
    pool: env.ORIGIN_POOL === "vip" ? "vip" : "standard",
    endedRetentionMs: intFrom(env, "ENDED_RETENTION_MS", 5 * 60_000),
    dataDir: env.ORIGIN_DATA_DIR ?? join(tmpdir(), "edge-hls-origin"),
    record: env.RECORD !== "0",
    thumbnails: env.THUMBNAILS !== "0",
  };
}
