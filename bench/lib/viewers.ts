/**
 * N simulated viewers (test/support/simulated-viewer.ts) against one system,
 * aggregated: requests by type and tier, distinct objects, errors, lag per
 * playing mode. Used by the offload, multi-colo and sync phases.
 */
import { setMaxListeners } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import {
  runSimulatedViewer,
  type PlayheadOptions,
  type RequestRecord,
  type ViewerMode,
  type ViewerStats,
} from "../../test/support/simulated-viewer.js";
import type { BenchSystem } from "../systems.js";
import { classifyViewerUrl, type ObjectType } from "./origin-counts.js";
import { median } from "./stats.js";

export interface ModeAggregate {
  viewers: number;
  requests: number;
  /** Sum over viewers of the seconds each one played. */
  viewerSeconds: number;
  /** Median over viewers of (stop − program time of the newest media fetched), ms: how far behind live they ended (PDT needed). */
  medianLagMs: number | null;
}

export interface ViewerAggregate {
  viewers: number;
  requests: number;
  requestsByType: Partial<Record<ObjectType, number>>;
  segments: number;
  parts: number;
  blockingReloads: number;
  bytes: number;
  errors: number;
  errorSamples: string[];
  /** Requests sent again after the connection dropped under them (ViewerStats.retried). */
  retried: number;
  tiers: Record<string, number>;
  /** Distinct objects viewers got with 200, by type (blocking answers by their query). */
  distinctByType: Partial<Record<ObjectType, number>>;
  /** Distinct media playlists (renditions) viewers used. */
  renditions: number;
  seconds: number;
  /** Per playing mode (LL-HLS or standard). */
  byMode: Partial<Record<ViewerMode, ModeAggregate>>;
}

export interface RunViewersExtra {
  recordTimeline?: boolean;
  startDelays?: number[];
  /** Mode of viewer i (default: auto, i.e. LL-HLS when offered). */
  modeOf?: (i: number) => ViewerMode | "auto";
  playhead?: PlayheadOptions;
}

/** Which of `count` viewers play standard HLS: every k-th, `pct` % of them (at least one when pct > 0). */
export function standardShare(count: number, pct: number): (i: number) => ViewerMode | "auto" {
  if (pct <= 0) return () => "auto";
  const n = Math.max(1, Math.round((count * pct) / 100));
  const step = count / n;
  const standard = new Set(Array.from({ length: n }, (_, k) => Math.floor(k * step)));
  return (i) => (standard.has(i) ? "standard" : "auto");
}

/** Runs `count` viewers starting evenly over `rampMs`, each for `durationMs`. */
export async function runViewers(
  system: BenchSystem,
  count: number,
  durationMs: number,
  rampMs: number,
  extra: RunViewersExtra = {},
): Promise<{ aggregate: ViewerAggregate; stats: ViewerStats[] }> {
  const requestsByType: Partial<Record<ObjectType, number>> = {};
  const distinct = new Map<string, ObjectType>();
  const onRequest = (r: RequestRecord) => {
    const type = classifyViewerUrl(r.url);
    requestsByType[type] = (requestsByType[type] ?? 0) + 1;
    if (r.status === 200) {
      const url = new URL(r.url);
      distinct.set(type === "blocking" ? url.pathname + url.search : url.pathname, type);
    }
  };
  const started = Date.now();
  // A hard stop for every request, so a stuck server cannot hold the bench.
  // One signal per viewer: undici keeps an abort listener per request until
  // it is collected, which a shared signal would pile up by the thousand.
  const controllers: AbortController[] = [];
  const maxDelay = Math.max(rampMs, ...(extra.startDelays ?? [0]));
  const hardStop = setTimeout(() => controllers.forEach((c) => c.abort()), maxDelay + durationMs + 15_000);
  try {
    const stats = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const delay = extra.startDelays?.[i] ?? (count > 1 ? (rampMs * i) / count : 0);
        const controller = new AbortController();
        setMaxListeners(0, controller.signal);
        controllers.push(controller);
        await sleep(delay);
        return runSimulatedViewer({
          masterUrl: system.masterUrl,
          durationMs: extra.startDelays ? durationMs - delay : durationMs,
          signal: controller.signal,
          onRequest,
          recordTimeline: extra.recordTimeline,
          mode: extra.modeOf?.(i) ?? "auto",
          playhead: extra.playhead,
        });
      }),
    );
    const tiers: Record<string, number> = {};
    for (const s of stats) for (const [k, n] of Object.entries(s.tiers)) tiers[k] = (tiers[k] ?? 0) + n;
    const distinctByType: Partial<Record<ObjectType, number>> = {};
    for (const type of distinct.values()) distinctByType[type] = (distinctByType[type] ?? 0) + 1;
    const byMode: Partial<Record<ViewerMode, ModeAggregate>> = {};
    const lags: Partial<Record<ViewerMode, number[]>> = {};
    for (const s of stats) {
      if (!s.mode) continue;
      const m = (byMode[s.mode] ??= { viewers: 0, requests: 0, viewerSeconds: 0, medianLagMs: null });
      m.viewers++;
      m.requests += s.requests;
      m.viewerSeconds += ((s.stoppedAt ?? Date.now()) - s.startedAt) / 1000;
      if (s.lastProgramTime !== undefined && s.stoppedAt !== undefined) (lags[s.mode] ??= []).push(s.stoppedAt - s.lastProgramTime);
    }
    for (const [mode, values] of Object.entries(lags) as Array<[ViewerMode, number[]]>) byMode[mode]!.medianLagMs = median(values);
    const errors = stats.flatMap((s) => s.errors);
    const sum = (f: (s: ViewerStats) => number) => stats.reduce((a, s) => a + f(s), 0);
    return {
      stats,
      aggregate: {
        viewers: count,
        requests: sum((s) => s.requests),
        requestsByType,
        segments: sum((s) => s.segments),
        parts: sum((s) => s.parts),
        blockingReloads: sum((s) => s.blockingReloads),
        bytes: sum((s) => s.bytes),
        errors: errors.length,
        errorSamples: errors.slice(0, 5),
        retried: sum((s) => s.retried),
        tiers,
        distinctByType,
        renditions: new Set([...distinct].filter(([, t]) => t === "media" || t === "blocking").map(([k]) => k.split("?")[0])).size,
        seconds: (Date.now() - started) / 1000,
        byMode,
      },
    };
  } finally {
    clearTimeout(hardStop);
  }
}
