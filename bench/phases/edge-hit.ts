/**
 * Edge hit cost: requests/s and p50/p99 of cache hits on one object through
 * our edge Worker (wrangler dev / workerd, Cache API) and through nginx's
 * child tier (proxy_cache), same load tool, same connections and duration,
 * one system at a time. Objects: the newest segment of the top rung (bytes
 * differ a little: fMP4 vs MPEG-TS of the same encode settings) and the
 * master playlist (small: per-request overhead).
 *
 * On ours, each run also reads the CPU time the three processes of wrangler
 * dev used (its Node CLI, the proxy workerd, the user Worker's workerd; from
 * /proc) and divides it by the requests served: CPU per request depends
 * much less than requests/s on how loaded the machine is (not at all would be
 * too strong: fewer requests share each wake-up). `/healthz` (a JSON
 * answer from the same Worker, no media work) is measured the same way: the
 * runtime's floor per request, so the edge's own cost is the difference.
 */
import HLS from "hls-parser";
import type { MasterPlaylist, MediaPlaylist } from "hls-parser/types.js";
import { runNodeLoad, runWrk, type LoadResult } from "../lib/wrk.js";
import type { Row } from "../lib/table.js";
import type { BenchSystem, SystemKey } from "../systems.js";
import { cpuMs, findUserWorker, stackProcesses, type StackProcesses } from "../lib/workerd-direct.js";
import { wrkInstalled } from "../peer/nginx.js";
import { load1, sleep, type PhaseContext, type PhaseResult } from "./common.js";

export type HitKind = "segment" | "master" | "healthz";
const KINDS: readonly HitKind[] = ["segment", "master", "healthz"];

export interface HitTarget {
  system: SystemKey;
  /** Ours also straight at the user Worker's workerd socket, without wrangler dev's proxy Worker. */
  direct?: boolean;
  kind: HitKind;
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
  if (system.key === "ours") {
    // the runtime's floor: the same Worker answering a route that does no media work
    const url = new URL("/healthz", system.masterUrl).href;
    const response = await fetch(url);
    targets.push({ system: system.key, kind: "healthz", url, bytes: (await response.arrayBuffer()).byteLength, tier: null });
  }
  if (system.key === "ours" && edgePort !== undefined) {
    const base = await findUserWorker(edgePort, new URL(system.masterUrl).pathname);
    for (const t of base ? [...targets] : []) {
      const parsed = new URL(t.url);
      const url = `${base}${parsed.pathname}`;
      targets.push({ ...t, direct: true, url, ...(t.kind === "healthz" ? {} : await warm(url)) });
    }
  }
  return targets;
}

/** CPU ms per request of each wrangler dev process during one load run. */
export type CpuPerRequest = Partial<Record<keyof StackProcesses, number>>;

export async function runEdgeHit(ctx: PhaseContext, targets: HitTarget[]): Promise<PhaseResult> {
  const { options, systems, log } = ctx;
  const useWrk = wrkInstalled();
  const failures: string[] = [];
  const results: Array<{ target: HitTarget; result: LoadResult; load: string; cpu?: CpuPerRequest }> = [];
  const processes = stackProcesses(new URL(systems.ours.masterUrl).port ? Number(new URL(systems.ours.masterUrl).port) : 80);
  for (const kind of KINDS) {
    for (const target of targets.filter((t) => t.kind === kind)) {
      const name = `${target.system}${target.direct ? " (workerd socket, no dev proxy)" : ""}`;
      log(`edge-hit: ${kind} through ${name}, ${options.hitConnections} connections, ${options.hitSeconds} s (load ${load1()})`);
      const before = target.system === "ours" ? cpuOf(processes) : {};
      const result = useWrk
        ? await runWrk(target.url, { connections: options.hitConnections, threads: 1, durationSec: options.hitSeconds })
        : await runNodeLoad(target.url, { connections: options.hitConnections, durationSec: options.hitSeconds });
      const cpu = target.system === "ours" ? perRequest(before, cpuOf(processes), result.requests) : undefined;
      results.push({ target, result, load: load1(), ...(cpu ? { cpu } : {}) });
      if (result.requests === 0 || result.non2xx === result.requests)
        failures.push(`edge-hit: ${name} ${kind} served no successful request`);
      await sleep(options.smoke ? 200 : 1_000);
    }
  }
  const rows: Row[] = [];
  const peerOn = systems.peer !== undefined;
  for (const kind of KINDS) {
    const get = (key: SystemKey, direct = false) =>
      results.find((r) => r.target.system === key && r.target.kind === kind && !!r.target.direct === direct);
    const ours = get("ours");
    const direct = get("ours", true);
    const peer = peerOn ? get("peer") : undefined;
    const group =
      kind === "healthz"
        ? "runtime floor: /healthz of the same Worker (no media work)"
        : `edge hit, ${kind === "segment" ? "one segment" : "master playlist"}`;
    rows.push(
      { group, measure: "requests/s", unit: "req/s", ours: ours?.result.rps ?? null, peer: peer?.result.rps ?? null, better: "higher" },
      { group, measure: "p50 latency", unit: "ms", ours: ours?.result.p50 ?? null, peer: peer?.result.p50 ?? null, better: "lower" },
      { group, measure: "p99 latency", unit: "ms", ours: ours?.result.p99 ?? null, peer: peer?.result.p99 ?? null, better: "lower" },
      ...(direct
        ? ([
            {
              group,
              measure: "requests/s, ours straight to workerd (no wrangler dev proxy)",
              unit: "req/s",
              ours: direct.result.rps,
              peer: peer?.result.rps ?? null,
              better: "higher",
            },
            {
              group,
              measure: "p50 latency, ours straight to workerd",
              unit: "ms",
              ours: direct.result.p50,
              peer: peer?.result.p50 ?? null,
              better: "lower",
            },
            {
              group,
              measure: "p99 latency, ours straight to workerd",
              unit: "ms",
              ours: direct.result.p99,
              peer: peer?.result.p99 ?? null,
              better: "lower",
            },
          ] satisfies Row[])
        : []),
      ...(
        [
          ["ours", ours],
          ["ours straight to workerd", direct],
        ] as const
      ).flatMap(([label, r]) =>
        r?.cpu
          ? [
              {
                group,
                measure: `CPU per request, ${label}: user workerd / proxy workerd / wrangler node`,
                unit: "",
                ours: cpuCell(r.cpu),
                peer: null,
                better: "lower" as const,
                note: "ms of CPU (from /proc) ÷ requests served: less dependent on the machine's load than requests/s",
              },
            ]
          : [],
      ),
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
  if (!processes.user) failures.push("edge-hit: wrangler dev's processes not found in /proc (no CPU per request)");
  return { rows, notes: [`edge-hit load tool: ${tool}`], raw: results, failures };
}

function cpuOf(processes: StackProcesses): Partial<Record<keyof StackProcesses, number>> {
  const out: Partial<Record<keyof StackProcesses, number>> = {};
  for (const key of ["user", "proxy", "wrangler"] as const) {
    const pid = processes[key];
    const ms = pid === undefined ? undefined : cpuMs(pid);
    if (ms !== undefined) out[key] = ms;
  }
  return out;
}

export function perRequest(before: CpuPerRequest, after: CpuPerRequest, requests: number): CpuPerRequest | undefined {
  if (requests <= 0) return undefined;
  const out: CpuPerRequest = {};
  for (const key of ["user", "proxy", "wrangler"] as const) {
    const a = after[key];
    const b = before[key];
    if (a !== undefined && b !== undefined) out[key] = (a - b) / requests;
  }
  return out;
}

function cpuCell(cpu: CpuPerRequest): string {
  const f = (v: number | undefined) => (v === undefined ? "—" : v.toFixed(3));
  return `${f(cpu.user)} / ${f(cpu.proxy)} / ${f(cpu.wrangler)} ms`;
}
