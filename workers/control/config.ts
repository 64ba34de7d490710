/** Control-plane settings from the environment (see README "Control plane"). */
import { intFromEnv, type Env } from "../env.js";
import { idealRatioFromEnv } from "./selection.js";
import { thresholdsFromEnv, type SourceThresholds } from "./viewer-source.js";

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 5_000;
/** an origin silent for this many heartbeat intervals leaves the pool */
export const MISSED_HEARTBEATS = 3;
export const DEFAULT_START_TIMEOUT_MS = 10 * 60_000;
export const DEFAULT_INACTIVE_MS = 30_000;

export interface ControlConfig {
  heartbeatIntervalMs: number;
  /** 3 × heartbeat interval */
  originLivenessMs: number;
  idealRatio: number;
  thresholds: SourceThresholds;
  startTimeoutMs: number;
  inactiveMs: number;
}

export function controlConfig(env: Partial<Env>): ControlConfig {
  const heartbeatIntervalMs = Math.max(1, intFromEnv(env.HEARTBEAT_INTERVAL_MS, DEFAULT_HEARTBEAT_INTERVAL_MS));
  return {
    heartbeatIntervalMs,
    originLivenessMs: MISSED_HEARTBEATS * heartbeatIntervalMs,
    idealRatio: idealRatioFromEnv(env.ORIGIN_IDEAL_RATIO),
    thresholds: thresholdsFromEnv(env.PLAY_EDGE_THRESHOLD, env.PLAY_DIRECT_THRESHOLD),
    startTimeoutMs: intFromEnv(env.STREAM_START_TIMEOUT_MS, DEFAULT_START_TIMEOUT_MS),
    inactiveMs: intFromEnv(env.STREAM_INACTIVE_MS, DEFAULT_INACTIVE_MS),
  };
}
