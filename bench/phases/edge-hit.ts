/**
 * Edge hit cost: requests/s and p50/p99 of cache hits on one object through
 * our edge Worker (wrangler dev / workerd, Cache API) and through nginx's
 * child tier (proxy_cache), same load tool, same connections and duration,
 * one system at a time. Objects: the newest segment of the top rung (bytes
 * differ a little: fMP4 vs MPEG-TS of the same encode settings) and the
 * master playlist (small: per-request overhead).
 */
import HLS from "hls-parser";
import type { MasterPlaylist, MediaPlaylist } from "hls-parser/types.js";
import { runNodeLoad, runWrk, type LoadResult } from "../lib/wrk.js";
import type { Row } from "../lib/table.js";
import type { BenchSystem, SystemKey } from "../systems.js";
import { findUserWorker } from "../lib/workerd-direct.js";
import { wrkInstalled } from "../peer/nginx.js";
import { load1, sleep, type PhaseContext, type PhaseResult } from "./common.js";

export interface HitTarget {
  system: SystemKey;
  /** Ours also straight at the user Worker's workerd socket, without wrangler dev's proxy Worker. */
  direct?: boolean;
  kind: "segment" | "master";
  url: string;
  bytes: number;
  tier: string | null;
}

async function warm(url: string): Promise<{ bytes: number; tier: string | null }> {
  let tier: string | null = null;
  let bytes = 0;
  // ours answers a warm object from the isolate's memory ("edge-memory") or the Cache API ("edge-hit")
  const warmTier = (t: string | null) => t === "edge-hit" || t === "edge-memory";
  for (let i = 0; i < 10 && !warmTier(tier); i++) {
    const response = await fetch(url);
    bytes = (await response.arrayBuffer()).byteLength;
    if (!response.ok) throw new Error(`${url} answered ${response.status}`);
    tier = response.headers.get("x-cache-tier");
    if (!warmTier(tier)) await sleep(200);
  }
  return { bytes, tier };
}

/** Picks the objects and warms them until the outermost tier says it answered from cache. */
export async function pickTargets(system: BenchSystem, edgePort?: number): Promise<HitTarget[]> {
  const master = HLS.parse(await (await fetch(system.masterUrl)).text()) as MasterPlaylist;
  const top = [...master.variants].sort((a, b) => b.bandwidth - a.bandwidth)[0]!;
  const mediaUrl = new URL(top.uri, system.masterUrl).href;
  const media = HLS.parse(await (await fetch(mediaUrl)).text()) as MediaPlaylist;
  // the newest complete segment (the parser models the LL-HLS open segment as one without a URI)
  const segment = media.segments.filter((s) => s.uri).at(-1);
  if (!segment) throw new Error(`${system.key}: no segment to hit`);
  const targets: HitTarget[] = [];
  for (const [kind, url] of [
    ["segment", new URL(segment.uri, mediaUrl).href],
    ["master", system.masterUrl],
  ] as const) {
    targets.push({ system: system.key, kind, url, ...(await warm(url)) });
  }
  if (system.key === "ours" && edgePort !== undefined) {
    const base = await findUserWorker(edgePort, new URL(system.masterUrl).pathname);
    for (const t of base ? [...targets] : []) {
      const parsed = new URL(t.url);
      const url = `${base}${parsed.pathname}`;
      targets.push({ ...t, direct: true, url, ...(await warm(url)) });
    }
  }
  return targets;
}

export async function runEdgeHit(ctx: PhaseContext, targets: HitTarget[]): Promise<PhaseResult> {
  const { options, systems, log } = ctx;
  const useWrk = wrkInstalled();
  const failures: string[] = [];
  const results: Array<{ target: HitTarget; result: LoadResult; load: string }> = [];
  for (const kind of ["segment", "master"] as const) {
    for (const target of targets.filter((t) => t.kind === kind)) {
      const name = `${target.system}${target.direct ? " (workerd socket, no dev proxy)" : ""}`;
      log(`edge-hit: ${kind} through ${name}, ${options.hitConnections} connections, ${options.hitSeconds} s (load ${load1()})`);
      const result = useWrk
        ? await runWrk(target.url, { connections: options.hitConnections, threads: 1, durationSec: options.hitSeconds })
        : await runNodeLoad(target.url, { connections: options.hitConnections, durationSec: options.hitSeconds });
      results.push({ target, result, load: load1() });
      if (result.requests === 0 || result.non2xx === result.requests) failures.push(`edge-hit: ${name} ${kind} served no successful request`);
      await sleep(options.smoke ? 200 : 1_000);
    }
  }
  const rows: Row[] = [];
  const peerOn = systems.peer !== undefined;
  for (const kind of ["segment", "master"] as const) {
    const get = (key: SystemKey, direct = false) =>
      results.find((r) => r.target.system === key && r.target.kind === kind && !!r.target.direct === direct);
    const ours = get("ours");
    const direct = get("ours", true);
    const peer = peerOn ? get("peer") : undefined;
    const group = `edge hit, ${kind === "segment" ? "one segment" : "master playlist"}`;
    rows.push(
      { group, measure: "requests/s", unit: "req/s", ours: ours?.result.rps ?? null, peer: peer?.result.rps ?? null, better: "higher" },
      { group, measure: "p50 latency", unit: "ms", ours: ours?.result.p50 ?? null, peer: peer?.result.p50 ?? null, better: "lower" },
      { group, measure: "p99 latency", unit: "ms", ours: ours?.result.p99 ?? null, peer: peer?.result.p99 ?? null, better: "lower" },
      ...(direct
        ? ([
            { group, measure: "requests/s, ours straight to workerd (no wrangler dev proxy)", unit: "req/s", ours: direct.result.rps, peer: peer?.result.rps ?? null, better: "higher" },
            { group, measure: "p50 latency, ours straight to workerd", unit: "ms", ours: direct.result.p50, peer: peer?.result.p50 ?? null, better: "lower" },
            { group, measure: "p99 latency, ours straight to workerd", unit: "ms", ours: direct.result.p99, peer: peer?.result.p99 ?? null, better: "lower" },
          ] satisfies Row[])
        : []),
      {
        group,
        measure: "object size / tier header / errors",
        unit: "",
        ours: ours ? `${ours.target.bytes} B / ${ours.target.tier} / ${ours.result.errors + ours.result.non2xx}` : null,
        peer: peer ? `${peer.target.bytes} B / ${peer.target.tier} / ${peer.result.errors + peer.result.non2xx}` : null,
        better: "",
      },
    );
  }
  const tool = results[0]?.result.tool ?? "";
  return { rows, notes: [`edge-hit load tool: ${tool}`], raw: results, failures };
}
