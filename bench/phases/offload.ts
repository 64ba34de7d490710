/**
 * Origin offload: N simulated viewers (test/support/simulated-viewer.ts:
 * master → one variant → three target durations behind the live edge →
 * every new segment, reloading per spec) through each system's outermost
 * tier for a fixed time, one system at a time so they do not share the CPU.
 * Origin requests: ours from the origin's /metrics deltas, the peer from the
 * lines its nginx origin tier logged during the window.
 */
import { setMaxListeners } from "node:events";
import { runSimulatedViewer, type RequestRecord, type ViewerStats } from "../../test/support/simulated-viewer.js";
import { classifyViewerUrl, type ObjectType, type OriginCounts } from "../lib/origin-counts.js";
import type { Row } from "../lib/table.js";
import type { BenchSystem, SystemKey } from "../systems.js";
import { load1, sleep, type PhaseContext, type PhaseResult } from "./common.js";

export interface ViewerAggregate {
  viewers: number;
  requests: number;
  requestsByType: Partial<Record<ObjectType, number>>;
  segments: number;
  bytes: number;
  errors: number;
  errorSamples: string[];
  tiers: Record<string, number>;
  /** Distinct objects viewers asked for, by type. */
  distinctByType: Partial<Record<ObjectType, number>>;
  /** Distinct media playlists (renditions) viewers used. */
  renditions: number;
  seconds: number;
}

/** Runs `count` viewers starting evenly over `rampMs`, each for `durationMs`. */
export async function runViewers(
  system: BenchSystem,
  count: number,
  durationMs: number,
  rampMs: number,
  extra: { recordTimeline?: boolean; startDelays?: number[] } = {},
): Promise<{ aggregate: ViewerAggregate; stats: ViewerStats[] }> {
  const requestsByType: Partial<Record<ObjectType, number>> = {};
  const distinct = new Map<string, ObjectType>();
  const onRequest = (r: RequestRecord) => {
    const type = classifyViewerUrl(r.url);
    requestsByType[type] = (requestsByType[type] ?? 0) + 1;
    if (r.status === 200) distinct.set(new URL(r.url).pathname, type);
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
        });
      }),
    );
    const tiers: Record<string, number> = {};
    for (const s of stats) for (const [k, n] of Object.entries(s.tiers)) tiers[k] = (tiers[k] ?? 0) + n;
    const distinctByType: Partial<Record<ObjectType, number>> = {};
    for (const type of distinct.values()) distinctByType[type] = (distinctByType[type] ?? 0) + 1;
    const errors = stats.flatMap((s) => s.errors);
    return {
      stats,
      aggregate: {
        viewers: count,
        requests: stats.reduce((a, s) => a + s.requests, 0),
        requestsByType,
        segments: stats.reduce((a, s) => a + s.segments, 0),
        bytes: stats.reduce((a, s) => a + s.bytes, 0),
        errors: errors.length,
        errorSamples: errors.slice(0, 5),
        tiers,
        distinctByType,
        renditions: distinctByType.media ?? 0,
        seconds: (Date.now() - started) / 1000,
      },
    };
  } finally {
    clearTimeout(hardStop);
  }
}

export interface OffloadEntry {
  system: SystemKey;
  viewers: number;
  aggregate: ViewerAggregate;
  origin: OriginCounts;
  load: string;
}

export interface OffloadFigures {
  viewerRequests: number;
  viewerSegments: number;
  originRequests: number;
  originByType: Partial<Record<ObjectType, number>>;
  /** Origin segment (+init) 200s per distinct segment (+init) viewers requested. */
  originPerDistinctSegment: number | null;
  /** Origin media-playlist fetches per rendition per 2 s window. */
  playlistFetchesPerWindow: number | null;
  maxFetchesOneSegment: number | null;
  offloadPct: number | null;
  edgeHitPct: number | null;
  errors: number;
}

export function offloadFigures(e: OffloadEntry): OffloadFigures {
  const a = e.aggregate;
  const o = e.origin;
  const segmentish = (x: Partial<Record<ObjectType, number>>) => (x.segment ?? 0) + (x.init ?? 0);
  const distinct = segmentish(a.distinctByType);
  const windows = a.seconds / 2;
  return {
    viewerRequests: a.requests,
    viewerSegments: a.segments,
    originRequests: o.requests,
    originByType: o.requestsByType,
    originPerDistinctSegment: distinct ? segmentish(o.fetchesByType) / distinct : null,
    playlistFetchesPerWindow: a.renditions && windows ? (o.fetchesByType.media ?? 0) / (a.renditions * windows) : null,
    maxFetchesOneSegment: o.maxPerObjectByType.segment ?? null,
    offloadPct: a.requests ? (1 - o.requests / a.requests) * 100 : null,
    edgeHitPct: a.requests ? ((a.tiers["edge-hit"] ?? 0) / a.requests) * 100 : null,
    errors: a.errors,
  };
}

export async function runOffload(ctx: PhaseContext): Promise<PhaseResult> {
  const { options, systems, log } = ctx;
  const entries: OffloadEntry[] = [];
  const failures: string[] = [];
  const one = async (system: BenchSystem, viewers: number) => {
    log(`offload: ${viewers} viewers through ${system.key} for ${options.offloadSeconds} s (load ${load1()})`);
    const mark = await system.originMark();
    const { aggregate } = await runViewers(system, viewers, options.offloadSeconds * 1000, options.rampSeconds * 1000);
    await sleep(options.smoke ? 300 : 1_200); // late origin log lines land
    const origin = await system.originSince(mark);
    entries.push({ system: system.key, viewers, aggregate, origin, load: load1() });
    if (aggregate.segments === 0) failures.push(`offload: ${system.key} viewers fetched no segment (${aggregate.errorSamples.join("; ")})`);
    log(
      `  ${system.key}: ${aggregate.requests} viewer requests, ${aggregate.segments} segments, ${aggregate.errors} errors; ` +
        `${origin.requests} origin requests`,
    );
  };
  for (const viewers of options.viewers) {
    if (options.smoke) {
      // Smoke: both systems at once (small, and the figures are not the point).
      await Promise.all(systems.list.map((system) => one(system, viewers)));
      continue;
    }
    // Full run: one system at a time, so they do not share the CPU.
    for (const system of systems.list) {
      await one(system, viewers);
      await sleep(1_000);
    }
  }
  const rows: Row[] = [];
  const peerOn = systems.peer !== undefined;
  for (const viewers of options.viewers) {
    const get = (key: SystemKey) => {
      const e = entries.find((x) => x.system === key && x.viewers === viewers);
      return e ? offloadFigures(e) : undefined;
    };
    const ours = get("ours")!;
    const peer = peerOn ? get("peer") : undefined;
    const group = `offload ${viewers} viewers`;
    const row = (measure: string, unit: string, f: (x: OffloadFigures) => number | string | null, better: Row["better"], note?: string): Row => ({
      group,
      measure,
      unit,
      ours: f(ours),
      peer: peer ? f(peer) : null,
      better,
      ...(note ? { note } : {}),
    });
    rows.push(
      row("viewer requests", "", (x) => x.viewerRequests, ""),
      row("segments viewers fetched", "", (x) => x.viewerSegments, "higher"),
      row("origin requests", "", (x) => x.originRequests, "lower"),
      row("origin requests by type", "", (x) => typeBreakdown(x.originByType), ""),
      row("origin fetches per distinct segment/init requested", "", (x) => x.originPerDistinctSegment, "lower", "1 = each object reached the origin once"),
      row("origin media-playlist fetches per rendition per 2 s", "", (x) => x.playlistFetchesPerWindow, "lower", "peer TTL " + options.peerPlaylistTtl + " s at each tier; ours max-age=1"),
      row("most origin fetches of one segment", "", (x) => x.maxFetchesOneSegment, "lower", "peer: in this window; ours: since the origin started"),
      row("offload (1 − origin/viewer requests)", "%", (x) => x.offloadPct, "higher"),
      row("answered from the outermost cache", "%", (x) => x.edgeHitPct, "higher"),
      row("viewer errors", "", (x) => x.errors, "lower"),
    );
  }
  return { rows, notes: [], raw: entries, failures };
}

function typeBreakdown(byType: Partial<Record<ObjectType, number>>): string {
  const parts = (["master", "media", "init", "segment", "part", "other"] as const)
    .filter((t) => byType[t])
    .map((t) => `${t} ${byType[t]}`);
  return parts.length ? parts.join(", ") : "0";
}
