/**
 * Origin offload under LL-HLS: N simulated viewers
 * (test/support/simulated-viewer.ts) through each system's outermost tier for
 * a fixed time, one system at a time so they do not share the CPU. On ours
 * most viewers play LL-HLS (join at PART-HOLD-BACK, a blocking playlist
 * reload and a part per part duration, as hls.js) and a share
 * (`--offload-standard-pct`, 10 % by default) plays standard HLS on the same
 * playlists (whole segments, plain reloads), so that segments are exercised
 * too; the peer has no LL-HLS, every viewer plays standard HLS.
 *
 * Origin requests: ours from the origin's /metrics deltas (types: plain
 * media playlist, blocking playlist answer, part, segment, init), the peer
 * from the lines its nginx origin tier logged during the window.
 */
import { setMaxListeners } from "node:events";
import {
  runSimulatedViewer,
  type PlayheadOptions,
  type RequestRecord,
  type ViewerMode,
  type ViewerStats,
} from "../../test/support/simulated-viewer.js";
import { classifyViewerUrl, type ObjectType, type OriginCounts } from "../lib/origin-counts.js";
import { median } from "../lib/stats.js";
import type { Row } from "../lib/table.js";
import type { BenchSystem, SystemKey } from "../systems.js";
import { load1, sleep, type PhaseContext, type PhaseResult } from "./common.js";

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
  viewerParts: number;
  originRequests: number;
  originByType: Partial<Record<ObjectType, number>>;
  /** Origin 200 fetches per distinct object the origin served in the window, by type (1 = each once). */
  originPerObject: Partial<Record<ObjectType, number>>;
  /** Origin segment (+init) 200s per distinct segment (+init) viewers requested. */
  originPerDistinctSegment: number | null;
  /** Origin plain media-playlist fetches per rendition per second. */
  plainPlaylistFetchesPerSecond: number | null;
  maxPerObject: Partial<Record<ObjectType, number>>;
  /** Requests per viewer per second, by playing mode. */
  requestsPerViewerSecond: Partial<Record<ViewerMode, number>>;
  offloadPct: number | null;
  edgeHitPct: number | null;
  /** Edge-tier answers over the requests that got an answer (any status). */
  edgeOfAnsweredPct: number | null;
  /** Requests that got no answer: cut when the viewer stopped (held blocking reloads, queued parts) or timed out. */
  unanswered: number;
  /** "tier n, ..." of the viewers' answers. */
  tiers: string;
  /** "LL / standard" median lag behind live (s), or null. */
  lag: string | null;
  errors: number;
}

/** Answers the edge gave without a request of its own upstream: its memory, the Cache API, or a flight another viewer started. */
export const EDGE_TIERS = ["edge-memory", "edge-hit", "edge-coalesced"] as const;

const edgeAnswers = (tiers: Record<string, number>) => EDGE_TIERS.reduce((n, t) => n + (tiers[t] ?? 0), 0);
/** Every answer is counted under its tier header ("none" without one); a request cut before its answer is not. */
const answeredCount = (tiers: Record<string, number>) => Object.values(tiers).reduce((n, v) => n + v, 0);

export function offloadFigures(e: OffloadEntry): OffloadFigures {
  const a = e.aggregate;
  const o = e.origin;
  const segmentish = (x: Partial<Record<ObjectType, number>>) => (x.segment ?? 0) + (x.init ?? 0);
  const distinct = segmentish(a.distinctByType);
  const originPerObject: Partial<Record<ObjectType, number>> = {};
  for (const type of ["part", "blocking", "segment", "init", "media"] as const) {
    const unique = o.uniqueByType[type];
    const fetches = o.fetchesByType[type];
    if (unique && fetches !== undefined) originPerObject[type] = fetches / unique;
  }
  const requestsPerViewerSecond: Partial<Record<ViewerMode, number>> = {};
  for (const [mode, m] of Object.entries(a.byMode) as Array<[ViewerMode, ModeAggregate]>) {
    if (m.viewerSeconds > 0) requestsPerViewerSecond[mode] = m.requests / m.viewerSeconds;
  }
  return {
    viewerRequests: a.requests,
    viewerSegments: a.segments,
    viewerParts: a.parts,
    originRequests: o.requests,
    originByType: o.requestsByType,
    originPerObject,
    originPerDistinctSegment: distinct ? segmentish(o.fetchesByType) / distinct : null,
    plainPlaylistFetchesPerSecond: a.renditions && a.seconds ? (o.fetchesByType.media ?? 0) / (a.renditions * a.seconds) : null,
    maxPerObject: o.maxPerObjectByType,
    requestsPerViewerSecond,
    offloadPct: a.requests ? (1 - o.requests / a.requests) * 100 : null,
    edgeHitPct: a.requests ? (edgeAnswers(a.tiers) / a.requests) * 100 : null,
    edgeOfAnsweredPct: answeredCount(a.tiers) ? (edgeAnswers(a.tiers) / answeredCount(a.tiers)) * 100 : null,
    unanswered: a.requests - answeredCount(a.tiers),
    tiers: Object.entries(a.tiers)
      .sort((x, y) => y[1] - x[1])
      .map(([k, n]) => `${k} ${n}`)
      .join(", "),
    lag: lagCell(a.byMode),
    errors: a.errors,
  };
}

export async function runOffload(ctx: PhaseContext): Promise<PhaseResult> {
  const { options, systems, log } = ctx;
  const entries: OffloadEntry[] = [];
  const failures: string[] = [];
  const one = async (system: BenchSystem, viewers: number) => {
    const modeOf = system.key === "ours" ? standardShare(viewers, options.offloadStandardPct) : undefined;
    log(`offload: ${viewers} viewers through ${system.key} for ${options.offloadSeconds} s (load ${load1()})`);
    const mark = await system.originMark();
    const { aggregate } = await runViewers(system, viewers, options.offloadSeconds * 1000, options.rampSeconds * 1000, { modeOf });
    await sleep(options.smoke ? 300 : 1_200); // late origin log lines land
    const origin = await system.originSince(mark);
    entries.push({ system: system.key, viewers, aggregate, origin, load: load1() });
    if (aggregate.segments + aggregate.parts === 0)
      failures.push(`offload: ${system.key} viewers fetched no segment or part (${aggregate.errorSamples.join("; ")})`);
    const modes = Object.entries(aggregate.byMode)
      .map(([m, x]) => `${x!.viewers} ${m}`)
      .join(", ");
    log(
      `  ${system.key}: ${modes}; ${aggregate.requests} viewer requests (${aggregate.parts} parts, ${aggregate.segments} segments, ` +
        `${aggregate.blockingReloads} blocking reloads), ${aggregate.errors} errors; ${origin.requests} origin requests`,
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
  return {
    rows: offloadRows(entries, options.viewers, systems.peer !== undefined),
    notes: offloadNotes(entries, options.offloadStandardPct),
    raw: entries,
    failures,
  };
}

export function offloadRows(entries: OffloadEntry[], sizes: readonly number[], peerOn: boolean): Row[] {
  const rows: Row[] = [];
  for (const viewers of sizes) {
    const get = (key: SystemKey) => {
      const e = entries.find((x) => x.system === key && x.viewers === viewers);
      return e ? offloadFigures(e) : undefined;
    };
    const ours = get("ours");
    if (!ours) continue;
    const peer = peerOn ? get("peer") : undefined;
    const group = `offload ${viewers} viewers`;
    const row = (
      measure: string,
      unit: string,
      f: (x: OffloadFigures) => number | string | null | undefined,
      better: Row["better"],
      note?: string,
      peerValue?: Row["peer"],
    ): Row => ({
      group,
      measure,
      unit,
      ours: f(ours) ?? null,
      peer: peerValue !== undefined ? peerValue : peer ? (f(peer) ?? null) : null,
      better,
      ...(note ? { note } : {}),
    });
    const noLl = peer ? "n/a (no LL-HLS)" : null;
    rows.push(
      row("viewer requests (parts / segments)", "", (x) => `${x.viewerRequests} (${x.viewerParts} / ${x.viewerSegments})`, ""),
      row(
        "requests per viewer per second, LL-HLS viewers",
        "req/s",
        (x) => x.requestsPerViewerSecond.ll,
        "",
        "a blocking playlist reload and a part per part duration",
        noLl,
      ),
      row("requests per viewer per second, standard viewers", "req/s", (x) => x.requestsPerViewerSecond.standard, ""),
      row("origin requests", "", (x) => x.originRequests, "lower"),
      row("origin requests by type", "", (x) => typeBreakdown(x.originByType), ""),
      row(
        "origin fetches per part",
        "",
        (x) => x.originPerObject.part,
        "lower",
        "200s / distinct parts the origin served in the window; 1 = each once",
        noLl,
      ),
      row(
        "origin fetches per blocking playlist answer",
        "",
        (x) => x.originPerObject.blocking,
        "lower",
        "per distinct (rendition, _HLS_msn, _HLS_part)",
        noLl,
      ),
      row("origin fetches per segment", "", (x) => x.originPerObject.segment, "lower"),
      row(
        "origin fetches per distinct segment/init viewers requested",
        "",
        (x) => x.originPerDistinctSegment,
        "lower",
        "1 = each object reached the origin once",
      ),
      row(
        "most origin fetches of one part / blocking answer / segment",
        "",
        (x) => maxes(x),
        "lower",
        "ours: since the origin started; peer: in this window",
      ),
      row(
        "origin plain media-playlist fetches per rendition per second",
        "",
        (x) => x.plainPlaylistFetchesPerSecond,
        "lower",
        "ours: the mother keeps a plain playlist about one part; peer: 2 s TTL per tier",
      ),
      row("offload (1 − origin/viewer requests)", "%", (x) => x.offloadPct, "higher"),
      row(
        "answered at the outermost tier, of all requests",
        "%",
        (x) => x.edgeHitPct,
        "higher",
        "ours: edge-memory + edge-hit + edge-coalesced (joined a fetch another viewer started); peer: edge-hit; the requests include those cut at the stop (next row)",
      ),
      row(
        "answered at the outermost tier, of answered requests",
        "%",
        (x) => x.edgeOfAnsweredPct,
        "higher",
        "same tiers ÷ requests that got an answer (any status)",
      ),
      row(
        "requests without an answer (cut at the stop or timed out)",
        "",
        (x) => x.unanswered,
        "lower",
        "each viewer's blocking reload and part in flight when it stops; many when the edge queues requests",
      ),
      row("X-Cache-Tier of viewer answers", "", (x) => x.tiers, ""),
      row(
        "viewers' lag behind live at the end, median, LL-HLS / standard",
        "",
        (x) => x.lag,
        "",
        "stop − PDT of the newest media fetched (ours only: the peer has no PDT); grows when the tiers cannot keep up",
      ),
      row("viewer errors", "", (x) => x.errors, "lower"),
    );
  }
  return rows;
}

function offloadNotes(entries: OffloadEntry[], standardPct: number): string[] {
  const notes = [
    `offload: on ours ${standardPct} % of the viewers play standard HLS (whole segments) on the same playlists, the rest LL-HLS; the peer's viewers all play standard HLS (it has no parts).`,
  ];
  for (const e of entries) {
    if (e.aggregate.errors)
      notes.push(
        `offload ${e.viewers} viewers, ${e.system}: ${e.aggregate.errors} viewer errors, e.g. ${e.aggregate.errorSamples.slice(0, 3).join("; ")}`,
      );
  }
  return notes;
}

function lagCell(byMode: ViewerAggregate["byMode"]): string | null {
  const f = (m: ModeAggregate | undefined) => (m?.medianLagMs == null ? "—" : `${(m.medianLagMs / 1000).toFixed(2)} s`);
  if (byMode.ll?.medianLagMs == null && byMode.standard?.medianLagMs == null) return null;
  return `${f(byMode.ll)} / ${f(byMode.standard)}`;
}

function maxes(x: OffloadFigures): string {
  const m = x.maxPerObject;
  return [m.part, m.blocking, m.segment].map((v) => (v === undefined ? "—" : String(v))).join(" / ");
}

function typeBreakdown(byType: Partial<Record<ObjectType, number>>): string {
  const parts = (["master", "media", "blocking", "init", "segment", "part", "other"] as const)
    .filter((t) => byType[t])
    .map((t) => `${t} ${byType[t]}`);
  return parts.length ? parts.join(", ") : "0";
}
