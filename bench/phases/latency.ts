/**
 * Glass-to-glass latency: one hls.js player in Chromium per system, playing
 * through the outermost tier at the same time. Every second each tab reads
 * the frame-number barcode off the frame it is displaying; latency is
 * now − (time that frame left the source) = now − (t0 + n / fps), the same
 * computation for both systems. For ours the product's own measure (now −
 * program-date-time at the playhead, hls.js `playingDate`) is reported too.
 */
import type { Player, PlayerSample } from "../browser.js";
import { summarize } from "../lib/stats.js";
import type { Row } from "../lib/table.js";
import type { SystemKey } from "../systems.js";
import { load1, sleep, type PhaseContext, type PhaseResult } from "./common.js";

export interface LatencySample {
  system: SystemKey;
  /** Seconds since sampling started. */
  at: number;
  now: number;
  frame: number | null;
  programDateTime: number | null;
  level: number;
  width: number;
  stalls: number;
}

export interface LatencyRaw {
  samples: LatencySample[];
  /** Per system: [seconds since start, latency s] (barcode), and PDT-based for ours. */
  series: Record<string, Array<[number, number]>>;
  t0: number | undefined;
  sourceMaxLagMs: number;
}

async function waitPlaying(player: Player, timeoutMs: number): Promise<PlayerSample> {
  const deadline = Date.now() + timeoutMs;
  let last: PlayerSample | undefined;
  while (Date.now() < deadline) {
    last = await player.sample();
    if (last.playing && last.frame !== null) return last;
    await sleep(500);
  }
  throw new Error(`player did not start within ${timeoutMs} ms (${JSON.stringify(last)})`);
}

export async function runLatency(ctx: PhaseContext): Promise<PhaseResult> {
  const { options, systems, log } = ctx;
  const failures: string[] = [];
  const players = await ctx.players();
  if (!players) {
    return {
      rows: [{ group: "latency", measure: "glass-to-glass", unit: "", ours: "not run (no Chromium)", peer: "not run (no Chromium)", better: "" }],
      notes: [],
      raw: null,
      failures: [],
    };
  }
  log(`latency: ${systems.list.length} player(s), warm-up ${options.warmupSeconds} s, ${options.latencySeconds} samples (load ${load1()})`);
  const tabs = await Promise.all(systems.list.map(async (s) => ({ system: s, player: await players.open(s.masterUrl) })));
  const samples: LatencySample[] = [];
  try {
    await Promise.all(tabs.map((t) => waitPlaying(t.player, 45_000)));
    await sleep(options.warmupSeconds * 1000);
    const start = Date.now();
    for (let i = 0; i < options.latencySeconds; i++) {
      const tick = start + i * 1000;
      if (Date.now() < tick) await sleep(tick - Date.now());
      const taken = await Promise.all(tabs.map(async (t) => ({ key: t.system.key, s: await t.player.sample() })));
      for (const { key, s } of taken) {
        samples.push({
          system: key,
          at: (s.now - start) / 1000,
          now: s.now,
          frame: s.frame,
          programDateTime: s.programDateTime,
          level: s.level,
          width: s.width,
          stalls: s.stalls,
        });
      }
    }
  } finally {
    await Promise.all(tabs.map((t) => t.player.close().catch(() => {})));
  }

  const source = systems.source;
  const latencyOf = (s: LatencySample) => (s.frame === null ? null : (s.now - source.frameWallTime(s.frame)) / 1000);
  const series: Record<string, Array<[number, number]>> = {};
  const rows: Row[] = [];
  const stats: Record<string, ReturnType<typeof summarize>> = {};
  for (const key of ["ours", "peer"] as const) {
    const mine = samples.filter((s) => s.system === key);
    const points = mine.flatMap((s) => {
      const l = latencyOf(s);
      return l === null ? [] : [[s.at, l] as [number, number]];
    });
    series[key] = points;
    stats[key] = summarize(points.map((p) => p[1]));
    if (systems.list.some((s) => s.key === key) && points.length === 0) failures.push(`latency: no readable frame from ${key}`);
  }
  const oursPdt = samples
    .filter((s) => s.system === "ours" && s.programDateTime !== null)
    .map((s) => [s.at, (s.now - s.programDateTime!) / 1000] as [number, number]);
  series["ours (PDT)"] = oursPdt;
  const pdtStats = summarize(oursPdt.map((p) => p[1]));
  const peerOn = systems.peer !== undefined;
  const cell = (key: "ours" | "peer", field: "p50" | "p95" | "min" | "max") => (key === "peer" && !peerOn ? null : stats[key]![field]);
  rows.push(
    { group: "latency", measure: "glass-to-glass median (barcode)", unit: "s", ours: cell("ours", "p50"), peer: cell("peer", "p50"), better: "lower" },
    { group: "latency", measure: "glass-to-glass p95 (barcode)", unit: "s", ours: cell("ours", "p95"), peer: cell("peer", "p95"), better: "lower" },
    { group: "latency", measure: "glass-to-glass min / max", unit: "", ours: minMax(stats.ours!), peer: peerOn ? minMax(stats.peer!) : null, better: "" },
    { group: "latency", measure: "samples (1/s)", unit: "", ours: stats.ours!.n, peer: peerOn ? stats.peer!.n : null, better: "" },
    {
      group: "latency",
      measure: "now − PDT at playhead, median / p95",
      unit: "",
      ours: pdtStats.n ? `${pdtStats.p50!.toFixed(2)} / ${pdtStats.p95!.toFixed(2)} s` : null,
      peer: "n/a (no PDT)",
      better: "",
      note: "the product's own definition; PDT is stamped at packaging, so it omits the source→origin leg",
    },
    {
      group: "latency",
      measure: "player stalls during sampling",
      unit: "",
      ours: stallCount(samples, "ours"),
      peer: peerOn ? stallCount(samples, "peer") : null,
      better: "lower",
    },
  );
  const raw: LatencyRaw = { samples, series, t0: source.t0(), sourceMaxLagMs: source.maxLagMs() };
  return {
    rows,
    notes: [`latency phase: source fell behind real time by at most ${Math.round(source.maxLagMs())} ms (x264 of the source on a loaded machine); load ${load1()} at the end`],
    raw,
    failures,
  };
}

function minMax(s: ReturnType<typeof summarize>): string | null {
  return s.n ? `${s.min!.toFixed(2)} / ${s.max!.toFixed(2)} s` : null;
}

function stallCount(samples: LatencySample[], key: SystemKey): number | null {
  const mine = samples.filter((s) => s.system === key);
  if (mine.length === 0) return null;
  return mine.at(-1)!.stalls - mine[0]!.stalls;
}
