/**
 * Glass-to-glass latency: players in Chromium on the outermost tier of each
 * system, all at the same time on the same source. Every second each tab
 * reads the frame-number barcode off the frame it is displaying; latency is
 * now − (time that frame left the source) = now − (t0 + n / fps), the same
 * computation for every tab. For ours the product's own measure (now −
 * program-date-time at the playhead) is reported too.
 *
 * Tabs of the main pass:
 * - ours, LL-HLS: the product's watch page (/watch/<id>: web/player, hls.js in
 *   low-latency mode with the sync controller on, target delay from
 *   PART-HOLD-BACK);
 * - ours, standard HLS: the bench player with hls.js `lowLatencyMode: false`
 *   (and `liveSyncDurationCount: 2`, the config the old watch page used) on
 *   the same stream, so it loads whole segments;
 * - peer: the same bench player config on nginx's child tier.
 *
 * Part comparison (runPartComparison): our stacks side by side, one per
 * part duration, one source, a watch page tab on each.
 */
import type { Player, Players } from "../browser.js";
import { summarize, type Summary } from "../lib/stats.js";
import type { Row } from "../lib/table.js";
import type { BenchSource } from "../source.js";
import type { BenchSystem, PartComparison, SystemKey } from "../systems.js";
import { load1, sleep, type PhaseContext, type PhaseResult } from "./common.js";

export interface LatencySample {
  /** Tab key, e.g. "ours-ll", "ours-std", "peer", "ours-ll@200". */
  key: string;
  system: SystemKey;
  /** Seconds since sampling started. */
  at: number;
  now: number;
  frame: number | null;
  programDateTime: number | null;
  level: number;
  width: number;
  stalls: number;
  playbackRate: number;
  offsetToTarget: number | null;
}

export interface LatencyTab {
  key: string;
  label: string;
  system: SystemKey;
  open(players: Players): Promise<Player>;
}

export interface LatencyRaw {
  tabs: Array<{ key: string; label: string }>;
  samples: LatencySample[];
  /** Per tab key: [seconds since start, latency s] (barcode); "<key> (PDT)": now − PDT. */
  series: Record<string, Array<[number, number]>>;
  t0: number | undefined;
  sourceMaxLagMs: number;
  /** The part comparison, when run. */
  parts?: LatencyRaw;
}

async function waitPlaying(player: Player, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    const s = await player.sample();
    last = s;
    if (s.playing && s.frame !== null) return;
    await sleep(500);
  }
  throw new Error(`player did not start within ${timeoutMs} ms (${JSON.stringify(last)})`);
}

/** Opens every tab, waits until all play, warms up, then samples each once a second. */
export async function sampleTabs(
  ctx: Pick<PhaseContext, "options" | "log">,
  players: Players,
  tabs: LatencyTab[],
  source: BenchSource,
): Promise<LatencyRaw> {
  const { options } = ctx;
  const opened = await Promise.all(tabs.map(async (t) => ({ tab: t, player: await t.open(players) })));
  const samples: LatencySample[] = [];
  try {
    await Promise.all(opened.map((t) => waitPlaying(t.player, 45_000).catch((e: Error) => ctx.log(`latency: ${t.tab.key}: ${e.message}`))));
    await sleep(options.warmupSeconds * 1000);
    const start = Date.now();
    for (let i = 0; i < options.latencySeconds; i++) {
      const tick = start + i * 1000;
      if (Date.now() < tick) await sleep(tick - Date.now());
      const taken = await Promise.all(opened.map(async (t) => ({ tab: t.tab, s: await t.player.sample() })));
      for (const { tab, s } of taken) {
        samples.push({
          key: tab.key,
          system: tab.system,
          at: (s.now - start) / 1000,
          now: s.now,
          frame: s.frame,
          programDateTime: s.programDateTime,
          level: s.level,
          width: s.width,
          stalls: s.stalls,
          playbackRate: s.playbackRate,
          offsetToTarget: s.offsetToTarget,
        });
      }
    }
  } finally {
    await Promise.all(opened.map((t) => t.player.close().catch(() => {})));
  }
  const series: Record<string, Array<[number, number]>> = {};
  for (const tab of tabs) {
    const mine = samples.filter((s) => s.key === tab.key);
    series[tab.key] = mine.flatMap((s) =>
      s.frame === null ? [] : [[s.at, (s.now - source.frameWallTime(s.frame)) / 1000] as [number, number]],
    );
    const pdt = mine.flatMap((s) => (s.programDateTime === null ? [] : [[s.at, (s.now - s.programDateTime) / 1000] as [number, number]]));
    if (pdt.length) series[`${tab.key} (PDT)`] = pdt;
  }
  return { tabs: tabs.map((t) => ({ key: t.key, label: t.label })), samples, series, t0: source.t0(), sourceMaxLagMs: source.maxLagMs() };
}

export function seriesSummary(raw: LatencyRaw, key: string): Summary {
  return summarize((raw.series[key] ?? []).map((p) => p[1]));
}

function stallCount(samples: LatencySample[], key: string): number | null {
  const mine = samples.filter((s) => s.key === key);
  if (mine.length === 0) return null;
  return mine.at(-1)!.stalls - mine[0]!.stalls;
}

function medianP95(s: Summary): string | null {
  return s.n ? `${s.p50!.toFixed(2)} / ${s.p95!.toFixed(2)} s` : null;
}

function minMax(s: Summary): string | null {
  return s.n ? `${s.min!.toFixed(2)} / ${s.max!.toFixed(2)} s` : null;
}

function partLabel(system: BenchSystem): string {
  const ll = system.lowLatency;
  const requested = system.partMs ? `PART_DURATION_MS=${system.partMs}` : "origin default part";
  return ll?.partTarget ? `${requested}: PART-TARGET ${ll.partTarget} s, PART-HOLD-BACK ${ll.partHoldBack} s` : requested;
}

export const watchTab = (system: BenchSystem, key: string, label: string, sync = true): LatencyTab => ({
  key,
  label,
  system: system.key,
  open: (players) => players.openWatch(`${system.watchUrl}?sync=${sync ? 1 : 0}`),
});

export const benchTab = (system: BenchSystem, key: string, label: string, mode: "standard" | "ll" = "standard"): LatencyTab => ({
  key,
  label,
  system: system.key,
  open: (players) => players.open(system.masterUrl, mode),
});

export async function runLatency(ctx: PhaseContext): Promise<PhaseResult> {
  const { options, systems, log } = ctx;
  const failures: string[] = [];
  const players = await ctx.players();
  if (!players) {
    return {
      rows: [
        { group: "latency", measure: "glass-to-glass", unit: "", ours: "not run (no Chromium)", peer: "not run (no Chromium)", better: "" },
      ],
      notes: [],
      raw: null,
      failures: [],
    };
  }
  const tabs: LatencyTab[] = [
    watchTab(systems.ours, "ours-ll", "ours LL-HLS (watch page, sync on)"),
    benchTab(systems.ours, "ours-std", "ours standard HLS (hls.js lowLatencyMode off)"),
    ...(systems.peer ? [benchTab(systems.peer, "peer", "peer nginx (hls.js, same config)")] : []),
  ];
  log(
    `latency: ${tabs.length} tabs (${tabs.map((t) => t.key).join(", ")}), warm-up ${options.warmupSeconds} s, ${options.latencySeconds} samples (load ${load1()})`,
  );
  const raw = await sampleTabs(ctx, players, tabs, systems.source);
  for (const tab of tabs) if (!raw.series[tab.key]?.length) failures.push(`latency: no readable frame from ${tab.key}`);

  const peerOn = systems.peer !== undefined;
  const peer = seriesSummary(raw, "peer");
  const peerCell = (f: keyof Summary) => (peerOn ? peer[f] : null);
  const rows: Row[] = [];
  const part = partLabel(systems.ours);
  for (const [key, name] of [
    ["ours-ll", "LL-HLS, watch page (sync on)"],
    ["ours-std", "standard HLS, hls.js lowLatencyMode off"],
  ] as const) {
    const s = seriesSummary(raw, key);
    const pdt = seriesSummary(raw, `${key} (PDT)`);
    rows.push(
      {
        group: "latency",
        measure: `${name}: glass-to-glass median (barcode)`,
        unit: "s",
        ours: s.p50,
        peer: peerCell("p50"),
        better: "lower",
        ...(key === "ours-ll" ? { note: part } : { note: "same stream, whole segments" }),
      },
      {
        group: "latency",
        measure: `${name}: glass-to-glass p95 (barcode)`,
        unit: "s",
        ours: s.p95,
        peer: peerCell("p95"),
        better: "lower",
      },
      { group: "latency", measure: `${name}: min / max`, unit: "", ours: minMax(s), peer: peerOn ? minMax(peer) : null, better: "" },
      {
        group: "latency",
        measure: `${name}: now − PDT at playhead, median / p95`,
        unit: "",
        ours: medianP95(pdt),
        peer: peerOn ? "n/a (no PDT)" : null,
        better: "",
        note: "the product's definition; PDT is the ingest arrival of the source frame, so it omits the source encode",
      },
      {
        group: "latency",
        measure: `${name}: player stalls during sampling`,
        unit: "",
        ours: stallCount(raw.samples, key),
        peer: peerOn ? stallCount(raw.samples, "peer") : null,
        better: "lower",
      },
    );
  }
  rows.push({
    group: "latency",
    measure: "samples (1/s) LL / standard",
    unit: "",
    ours: `${seriesSummary(raw, "ours-ll").n} / ${seriesSummary(raw, "ours-std").n}`,
    peer: peerOn ? peer.n : null,
    better: "",
  });
  return {
    rows,
    notes: [
      `latency phase: source fell behind real time by at most ${Math.round(raw.sourceMaxLagMs)} ms (x264 of the source on a loaded machine); load ${load1()} at the end`,
    ],
    raw,
    failures,
  };
}

/** LL-HLS latency at several part durations: our stacks side by side on one source (no peer). */
export async function runPartComparison(
  ctx: Pick<PhaseContext, "options" | "log" | "players">,
  comparison: PartComparison,
): Promise<PhaseResult> {
  const { options, log } = ctx;
  const players = await ctx.players();
  if (!players) return { rows: [], notes: ["part comparison not run: no Chromium"], raw: null, failures: [] };
  const tabs = comparison.systems.map((system) =>
    watchTab(system, `ours-ll@${system.partMs ?? "default"}`, `ours LL-HLS, ${partLabel(system)}`),
  );
  log(
    `latency by part duration: ${tabs.map((t) => t.key).join(", ")}, warm-up ${options.warmupSeconds} s, ${options.latencySeconds} samples (load ${load1()})`,
  );
  const raw = await sampleTabs(ctx, players, tabs, comparison.source);
  const failures = tabs.filter((t) => !raw.series[t.key]?.length).map((t) => `latency by part duration: no readable frame from ${t.key}`);
  const rows: Row[] = [];
  for (const [i, tab] of tabs.entries()) {
    const system = comparison.systems[i]!;
    const s = seriesSummary(raw, tab.key);
    const pdt = seriesSummary(raw, `${tab.key} (PDT)`);
    const group = "latency by part duration";
    const name = system.partMs ? `PART_DURATION_MS=${system.partMs}` : "origin default part";
    rows.push(
      {
        group,
        measure: `LL-HLS watch page, ${name}: glass-to-glass median / p95`,
        unit: "",
        ours: medianP95(s),
        peer: null,
        better: "",
        note: partLabel(system),
      },
      { group, measure: `LL-HLS watch page, ${name}: now − PDT median / p95`, unit: "", ours: medianP95(pdt), peer: null, better: "" },
      {
        group,
        measure: `LL-HLS watch page, ${name}: stalls`,
        unit: "",
        ours: stallCount(raw.samples, tab.key),
        peer: null,
        better: "lower",
      },
    );
  }
  return {
    rows,
    notes: [
      `latency by part duration: ${comparison.systems.length} of our stacks side by side (no peer), one source tee'd to all, sampled together; source lag at most ${Math.round(raw.sourceMaxLagMs)} ms; load ${load1()} at the end`,
    ],
    raw,
    failures,
  };
}
