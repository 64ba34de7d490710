/**
 * Multi-colo run: simulated viewers spread over many colos in several
 * regions (the Worker's dev headers X-Dev-Colo / X-Dev-Region, honoured with
 * DEV_COLO_HEADER=1 as the bench's stack sets it), to check the mother/child
 * pattern: each object reaches the origin once and the mother at most once
 * per region (each region's HlsRelay coalesces its colos).
 *
 * Each simulated colo has caches of its own (the edge keys its hot tier, its
 * coalescer and the Cache API by colo, as test/e2e/tiers.test.ts relies on),
 * but all colos run in the one workerd isolate of wrangler dev, on this
 * machine's CPU: one isolate per colo, none of the parallelism of a real colo.
 *
 * How viewers carry their colo: their master URL's host is
 * `c-<colo>-<region>.colo.invalid`; while the phase runs, the process's
 * `fetch` sends such requests to the edge's real address with the two
 * headers (the simulated viewer resolves every URL against its master URL,
 * so the host follows every request).
 */
import { signRequest } from "../../common/signing.js";
import { runSimulatedViewer, type RequestRecord } from "../../test/support/simulated-viewer.js";
import { classifyViewerUrl, type ObjectType } from "../lib/origin-counts.js";
import type { Row } from "../lib/table.js";
import { load1, sleep, type PhaseContext, type PhaseResult } from "./common.js";
import { standardShare } from "../lib/viewers.js";
import { EDGE_TIERS } from "./offload-report.js";

/** Colos by region (IATA codes, as Cloudflare names its colos). */
export const SIMULATED_COLOS: Record<string, string[]> = {
  na: ["iad", "ord", "dfw", "atl", "sjc", "lax", "sea", "yyz", "mia", "den"],
  eu: ["fra", "ams", "lhr", "cdg", "mad", "waw", "arn", "mxp", "vie", "dub"],
  ap: ["nrt", "sin", "syd", "hkg", "bom", "icn", "kix", "tpe", "akl", "per"],
};

export interface SimulatedColo {
  colo: string;
  region: string;
}

/** `count` colos taken round-robin over the regions (so every region gets its share). */
export function pickColos(count: number, byRegion: Record<string, string[]> = SIMULATED_COLOS): SimulatedColo[] {
  const regions = Object.keys(byRegion);
  const max = regions.reduce((n, r) => n + (byRegion[r]?.length ?? 0), 0);
  if (count < 1 || count > max) throw new Error(`colos: 1 to ${max}`);
  const out: SimulatedColo[] = [];
  for (let k = 0; out.length < count; k++) {
    const region = regions[k % regions.length]!;
    const colo = byRegion[region]?.[Math.floor(k / regions.length)];
    if (colo) out.push({ colo, region });
  }
  return out;
}

const SIM_HOST = /^c-([a-z0-9]+)-([a-z0-9]+)\.colo\.invalid$/;

/** A viewer URL for a colo: the edge URL with the colo in the host. */
export function coloUrl(url: string, { colo, region }: SimulatedColo): string {
  const u = new URL(url);
  u.hostname = `c-${colo}-${region}.colo.invalid`;
  return u.href;
}

/** Where a simulated-colo URL really goes, and with which headers; null for any other URL. */
export function routeColoUrl(url: string, edgeHost: string): { url: string; headers: Record<string, string>; region: string } | null {
  const u = new URL(url);
  const m = SIM_HOST.exec(u.hostname);
  if (!m) return null;
  u.hostname = edgeHost;
  return { url: u.href, headers: { "X-Dev-Colo": m[1]!, "X-Dev-Region": m[2]! }, region: m[2]! };
}

/** Installs the colo routing on the global fetch until the returned function is called. */
function routeFetch(edgeHost: string): () => void {
  const original = globalThis.fetch;
  globalThis.fetch = ((input: RequestInfo | URL, init?: RequestInit) => {
    const href = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const routed = routeColoUrl(href, edgeHost);
    if (!routed || (typeof input !== "string" && !(input instanceof URL))) return original(input, init);
    const headers = new Headers(init?.headers);
    for (const [k, v] of Object.entries(routed.headers)) headers.set(k, v);
    return original(routed.url, { ...init, headers });
  }) as typeof fetch;
  return () => {
    globalThis.fetch = original;
  };
}

interface RelayStats {
  motherRequests: number;
  startedAt?: number;
  mother?: {
    calls: Partial<Record<string, number>>;
    objects: Partial<Record<string, number>>;
    maxPerObject: Partial<Record<string, number>>;
  };
}

const COUNTED: ObjectType[] = ["part", "blocking", "segment", "init"];

export async function runColos(ctx: PhaseContext): Promise<PhaseResult> {
  const { options, systems, log } = ctx;
  const ours = systems.ours;
  const stack = systems.stack;
  const colos = pickColos(options.colos);
  const regions = [...new Set(colos.map((c) => c.region))];
  const streamId = /\/live\/([^/]+)\//.exec(new URL(ours.masterUrl).pathname)?.[1] ?? "";
  const signedGet = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${stack.edgeUrl}${path}`, { headers: await signRequest(stack.secret, "GET", path, "") });
    if (!response.ok) throw new Error(`${path}: ${response.status}`);
    return (await response.json()) as T;
  };
  const relayStats = () => Promise.all(regions.map((r) => signedGet<RelayStats>(`/api/internal/relay/${streamId}/${r}/stats`)));

  const viewers = options.coloViewers;
  log(
    `colos: ${viewers} viewers over ${colos.length} simulated colos in ${regions.length} regions (${regions.join(", ")}) for ${options.coloSeconds} s (load ${load1()})`,
  );
  const relaysBefore = await relayStats();
  const mark = await ours.originMark();
  const tiers: Record<string, number> = {};
  const requestsByType: Partial<Record<ObjectType, number>> = {};
  // distinct objects viewers asked for (a blocking answer by its query), answered or not, over every colo: every relay
  // call comes from one of them (one cut at the stop too)
  const askedObjects = new Map<string, ObjectType>();
  let answered = 0;
  const onRequest = (r: RequestRecord) => {
    const type = classifyViewerUrl(r.url);
    requestsByType[type] = (requestsByType[type] ?? 0) + 1;
    const url = new URL(r.url);
    askedObjects.set(type === "blocking" ? url.pathname + url.search : url.pathname, type);
    if (r.status === 0) return;
    answered++;
    const tier = r.tier ?? "none";
    tiers[tier] = (tiers[tier] ?? 0) + 1;
  };
  const modeOf = standardShare(viewers, options.offloadStandardPct);
  const restore = routeFetch(new URL(stack.edgeUrl).hostname);
  let stats;
  try {
    stats = await Promise.all(
      Array.from({ length: viewers }, async (_, i) => {
        await sleep((options.rampSeconds * 1000 * i) / viewers);
        return runSimulatedViewer({
          masterUrl: coloUrl(ours.masterUrl, colos[i % colos.length]!),
          durationMs: options.coloSeconds * 1000,
          onRequest,
          mode: modeOf(i),
        });
      }),
    );
  } finally {
    restore();
  }
  await sleep(options.smoke ? 300 : 1_200);
  const origin = await ours.originSince(mark);
  const relaysAfter = await relayStats();

  const errors = stats.flatMap((s) => s.errors);
  const requests = stats.reduce((n, s) => n + s.requests, 0);
  const edge = EDGE_TIERS.reduce((n, t) => n + (tiers[t] ?? 0), 0);
  // mother calls per object, by type: per region (each relay's own objects) and over all regions. A relay's counters
  // are in memory: one that restarted during the phase counts from its restart (and the all-regions figure is not given)
  const restarted = regions.filter((_, i) => relaysAfter[i]?.startedAt !== relaysBefore[i]?.startedAt);
  const before = (i: number) => (restarted.includes(regions[i]!) ? undefined : relaysBefore[i]);
  const delta = (k: "calls" | "objects", type: string, i: number) =>
    (relaysAfter[i]?.mother?.[k][type] ?? 0) - (before(i)?.mother?.[k][type] ?? 0);
  const perRegion: Record<string, Array<number | null>> = {};
  const overall: Record<string, number | null> = {};
  for (const type of COUNTED) {
    perRegion[type] = regions.map((_, i) => {
      const objects = delta("objects", type, i);
      return objects ? delta("calls", type, i) / objects : null;
    });
    // the origin's distinct objects are not the denominator: the mother answers some blocking requests from its
    // own newest playlist without the origin
    const calls = regions.reduce((n, _, i) => n + delta("calls", type, i), 0);
    const asked = [...askedObjects.values()].filter((t) => t === type).length;
    overall[type] = asked && restarted.length === 0 ? calls / asked : null;
  }
  const originPerObject: Record<string, number | null> = {};
  for (const type of COUNTED) {
    const unique = origin.uniqueByType[type];
    const fetches = origin.fetchesByType[type];
    originPerObject[type] = unique && fetches !== undefined ? fetches / unique : null;
  }
  const maxMotherPerObject = Math.max(0, ...relaysAfter.flatMap((r) => COUNTED.map((t) => r.mother?.maxPerObject[t] ?? 0)));
  const fmt = (v: number | null | undefined) => (v == null ? "—" : v.toFixed(2));
  const byType = (values: Record<string, number | null>) => COUNTED.map((t) => `${t} ${fmt(values[t])}`).join(", ");
  const group = `multi-colo (${colos.length} colos, ${regions.length} regions, ${viewers} viewers)`;
  const rows: Row[] = [
    {
      group,
      measure: "viewer requests / answered / errors / sent again after a dropped connection",
      unit: "",
      ours: `${requests} / ${answered} / ${errors.length} / ${stats.reduce((n, s) => n + s.retried, 0)}`,
      peer: null,
      better: "",
    },
    {
      group,
      measure: "answered by the edge tiers (of answered)",
      unit: "%",
      ours: answered ? (edge / answered) * 100 : null,
      peer: null,
      better: "higher",
      note: "edge-memory + edge-hit + edge-coalesced",
    },
    {
      group,
      measure: "X-Cache-Tier of viewer answers",
      unit: "",
      ours: Object.entries(tiers)
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `${k} ${n}`)
        .join(", "),
      peer: null,
      better: "",
    },
    {
      group,
      measure: "origin requests per object",
      unit: "",
      ours: byType(originPerObject),
      peer: null,
      better: "lower",
      note: "expected ≤ 1: origin 200s / distinct objects it served in the window",
    },
    {
      group,
      measure: "mother requests per object, all regions",
      unit: "",
      ours: byType(overall),
      peer: null,
      better: "lower",
      note: `expected ≤ ${regions.length} (regions): Σ relays' mother calls / distinct objects viewers asked for in all colos`,
    },
    {
      group,
      measure: "mother requests per object, per region",
      unit: "",
      ours: COUNTED.map((t) => `${t} ${(perRegion[t] ?? []).map(fmt).join("/")}`).join(", "),
      peer: null,
      better: "lower",
      note: `expected ≤ 1 in each region (${regions.join("/")}): a relay's mother calls / distinct objects it asked for`,
    },
    {
      group,
      measure: "most mother calls of one object from one relay",
      unit: "",
      ours: maxMotherPerObject,
      peer: null,
      better: "lower",
      note: "since the relay started; parts, blocking answers, segments, inits",
    },
  ];
  const notes = [
    `multi-colo: viewers carry X-Dev-Colo/X-Dev-Region (round-robin over ${colos.map((c) => c.colo).join(", ")}); each simulated colo has its own hot tier, coalescer and Cache API entries (keyed by colo), but all run in wrangler dev's one workerd process on this machine's CPU: one isolate per colo, and the colos compete for the same cores.`,
    ...(errors.length ? [`multi-colo: ${errors.length} viewer errors, e.g. ${errors.slice(0, 3).join("; ")}`] : []),
    ...(restarted.length
      ? [
          `multi-colo: the relay of ${restarted.join(", ")} restarted during the phase (its counters are in memory): its per-region figure covers the time since, and the all-regions figure is not given`,
        ]
      : []),
  ];
  const failures = stats.every((s) => s.parts + s.segments === 0)
    ? [`multi-colo: viewers fetched no part or segment (${errors.slice(0, 3).join("; ")})`]
    : [];
  log(`  colos: ${requests} requests, ${answered} answered, ${errors.length} errors; origin ${origin.requests} requests`);
  return {
    rows,
    notes,
    raw: {
      colos,
      restarted,
      tiers,
      requestsByType,
      origin,
      relaysBefore,
      relaysAfter,
      perRegion,
      overall,
      originPerObject,
      errors: errors.slice(0, 20),
    },
    failures,
  };
}
