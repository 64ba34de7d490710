/**
 * Broadcaster media server (origin) selection (README "Origin selection rules").
 * Pure: no I/O; the API passes the origin rows and gets a decision.
 *
 * Rules
 * - An origin is in the pool when it was not removed by the watchdog and its
 *   last heartbeat is at most 3 heartbeat intervals old.
 * - Load of an origin = activeStreams / capacity (capacity 0 = never eligible).
 *   Ties break on cpu, then egressBps, then id (deterministic).
 * - "Ideal" capacity = idealRatio × capacity (default 0.6); "maximum" = capacity.
 * - VIP broadcasters (role vip) use the vip pool; if no vip origin has room
 *   (under maximum) they fall back to the standard pool. Everyone else uses
 *   the standard pool only.
 * - In the chosen pool: the least-loaded origin whose activeStreams after
 *   taking one more stream stays ≤ ideal. If none: the least-loaded one still
 *   under maximum, and an admin alert is raised ("pool above ideal").
 *   If every origin is at maximum: `full` (the API answers 503 no_available_server).
 */
import type { OriginPool, UserRole } from "../../schema/index.js";

export interface OriginLoadRow {
  id: string;
  pool: OriginPool;
  capacity: number;
  activeStreams: number;
  egressBps: number;
  cpu: number;
  lastHeartbeatAt: number;
  removedAt: number | null;
}

export interface SelectionOptions {
  now: number;
  /** heartbeats older than this make the origin ineligible */
  livenessMs: number;
  /** 0 < idealRatio ≤ 1 */
  idealRatio: number;
}

export type Selection<T extends OriginLoadRow> =
  { kind: "selected"; origin: T; pool: OriginPool; aboveIdeal: boolean; fellBack: boolean } | { kind: "full"; pools: OriginPool[] };

function poolsForRole(role: UserRole): OriginPool[] {
  return role === "vip" ? ["vip", "standard"] : ["standard"];
}

function isInPool(origin: OriginLoadRow, now: number, livenessMs: number): boolean {
  return origin.removedAt === null && origin.lastHeartbeatAt >= now - livenessMs && origin.capacity > 0;
}

export function loadOf(origin: Pick<OriginLoadRow, "activeStreams" | "capacity">): number {
  return origin.capacity > 0 ? origin.activeStreams / origin.capacity : Infinity;
}

function byLoad(a: OriginLoadRow, b: OriginLoadRow): number {
  return loadOf(a) - loadOf(b) || a.cpu - b.cpu || a.egressBps - b.egressBps || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Under ideal once it takes one more stream. */
export function fitsIdeal(origin: OriginLoadRow, idealRatio: number): boolean {
  return origin.activeStreams + 1 <= Math.floor(origin.capacity * idealRatio + 1e-9);
}

function underMaximum(origin: OriginLoadRow): boolean {
  return origin.activeStreams < origin.capacity;
}

export function selectOrigin<T extends OriginLoadRow>(origins: readonly T[], role: UserRole, options: SelectionOptions): Selection<T> {
  const pools = poolsForRole(role);
  const live = origins.filter((o) => isInPool(o, options.now, options.livenessMs)).sort(byLoad);
  for (const [i, pool] of pools.entries()) {
    const candidates = live.filter((o) => o.pool === pool);
    const ideal = candidates.find((o) => fitsIdeal(o, options.idealRatio));
    if (ideal !== undefined) return { kind: "selected", origin: ideal, pool, aboveIdeal: false, fellBack: i > 0 };
    const open = candidates.find(underMaximum);
    // a VIP pool above ideal still serves VIPs (it exists for them), before any fallback
    if (open !== undefined) return { kind: "selected", origin: open, pool, aboveIdeal: true, fellBack: i > 0 };
  }
  return { kind: "full", pools };
}
