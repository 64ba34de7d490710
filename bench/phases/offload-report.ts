/**
 * The offload phase's figures, table rows and notes (bench/phases/offload.ts
 * runs the viewers): requests per viewer, origin fetches per object, share
 * answered at the edge, tiers, lag, errors.
 */
import type { ViewerMode } from "../../test/support/simulated-viewer.js";
import type { ObjectType, OriginCounts } from "../lib/origin-counts.js";
import type { Row } from "../lib/table.js";
import type { ModeAggregate, ViewerAggregate } from "../lib/viewers.js";
import type { SystemKey } from "../systems.js";

export interface OffloadEntry {
  system: SystemKey;
  viewers: number;
  aggregate: ViewerAggregate;
  origin: OriginCounts;
  load: string;
  /** Every viewer of ours played standard HLS (the peer's viewer model), not the LL-HLS / standard mix. */
  allStandard?: boolean;
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
  retried: number;
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
    retried: a.retried ?? 0,
  };
}

export function offloadRows(entries: OffloadEntry[], sizes: readonly number[], peerOn: boolean): Row[] {
  const rows: Row[] = [];
  const standardSizes = [...new Set(entries.filter((e) => e.allStandard).map((e) => e.viewers))];
  const cases = [
    ...sizes.map((viewers) => ({ viewers, allStandard: false })),
    ...standardSizes.map((viewers) => ({ viewers, allStandard: true })),
  ];
  for (const { viewers, allStandard } of cases) {
    const get = (key: SystemKey) => {
      const e = entries.find((x) => x.system === key && x.viewers === viewers && !!x.allStandard === allStandard);
      return e ? offloadFigures(e) : undefined;
    };
    const ours = get("ours");
    if (!ours) continue;
    const peer = peerOn ? get("peer") : undefined;
    const group = allStandard ? `offload ${viewers} viewers, all standard HLS on both` : `offload ${viewers} viewers`;
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
      row("viewer errors", "", (x) => x.errors, "lower", "requests that failed (after the one retry of a dropped connection, next row)"),
      row(
        "requests sent again after the connection dropped under them",
        "",
        (x) => x.retried,
        "lower",
        "once, as browsers do for a request on a reused keep-alive connection: locally workerd closes idle ones after 5 s",
      ),
    );
  }
  return rows;
}

export function offloadNotes(entries: OffloadEntry[], standardPct: number): string[] {
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
