/**
 * Viewer stream source selection (README "Viewer source selection rules"),
 * with hysteresis: a second, lower threshold to stop using the other
 * distribution tier. Pure; the API stores the per-stream mode (D1 streams.playback_mode)
 * so every Worker isolate agrees.
 *
 * - VIP and media members: always the origin directly (lowest latency).
 * - The stream's stored mode follows its viewer count on every request,
 *   whatever the requester's role:
 *     mode "origin" and viewers ≥ T1        → switch to "edge"
 *     mode "edge"   and viewers < T2 (T2<T1) → switch back to "origin"
 *     otherwise the mode stays.
 *   Everyone else gets the stream's (updated) mode. So a stream is served directly while it has fewer than T1 viewers, moves
 *   to the edge at T1, and only comes back once the audience drops below T2.
 */
import type { TokenRole } from "../lib/session-token.js";

export type SourceMode = "origin" | "edge";

export interface SourceThresholds {
  /** switch to the edge at this many viewers (default 10) */
  t1: number;
  /** switch back to direct below this many viewers (default 5, < t1) */
  t2: number;
}

export function nextMode(current: SourceMode, viewers: number, t: SourceThresholds): SourceMode {
  if (current === "origin" && viewers >= t.t1) return "edge";
  if (current === "edge" && viewers < t.t2) return "origin";
  return current;
}

function isPriorityRole(role: TokenRole | null): boolean {
  return role === "vip" || role === "media";
}

export interface SourceDecision {
  source: SourceMode;
  /** the stream's mode to store */
  mode: SourceMode;
  reason: "priority_role" | "below_t1" | "above_t1" | "hysteresis_edge" | "below_t2";
}

export function decideSource(role: TokenRole | null, viewers: number, current: SourceMode, t: SourceThresholds): SourceDecision {
  const mode = nextMode(current, viewers, t);
  if (isPriorityRole(role)) return { source: "origin", mode, reason: "priority_role" };
  if (mode === "origin") return { source: "origin", mode, reason: current === "edge" ? "below_t2" : "below_t1" };
  return { source: "edge", mode, reason: current === "origin" ? "above_t1" : viewers >= t.t1 ? "above_t1" : "hysteresis_edge" };
}
