/**
 * Viewer sync spread: how far apart viewers who joined at different times
 * are at one instant (max − min program position), with the product's sync
 * controller and without it.
 *
 * Simulated viewers (test/support/simulated-viewer.ts), N per group, joining
 * at the same seeded random times over J seconds:
 * - ours, LL-HLS + sync controller: each viewer models its playhead on
 *   program time (PDT) and runs web/player/sync-controller.ts on it every
 *   100 ms (rate 0.95-1.05, seeks), aiming at serverNow − targetDelay;
 * - ours, LL-HLS, no controller: the same modelled playhead at 1x from the
 *   PART-HOLD-BACK join (stalls when the next part is late);
 * - peer, standard HLS: three segments back, playhead modelled afterwards
 *   (bench/lib/playhead.ts, timeline chained from EXTINF: nginx writes no PDT).
 * Spread = max − min position at the common end instant.
 *
 * Real players: K Chromium tabs per group join at random times over a few
 * seconds: the product's watch page with `?sync=1` and with `?sync=0`, and
 * the bench player on the peer; each reads the frame-number barcode off its
 * displayed frame, the readings are moved to one instant (1x) and spread =
 * max − min. Rounds a second apart; the median round is reported. For the
 * watch page the spread of `window.__player.programDateTime` (extrapolated
 * to the same instant) is reported too.
 */
import type { Player, Players } from "../browser.js";
import { chainStarts, playheadAt } from "../lib/playhead.js";
import { median, spread } from "../lib/stats.js";
import type { Row } from "../lib/table.js";
import type { BenchSystem, SystemKey } from "../systems.js";
import type { ViewerStats } from "../../test/support/simulated-viewer.js";
import { load1, sleep, type PhaseContext, type PhaseResult } from "./common.js";
import { seededRandom } from "../../common/seeded-random.js";
import { runViewers } from "../lib/viewers.js";
import { DEFAULT_SYNC_CONFIG } from "../../web/player/sync-controller.js";

// Both systems get the same join schedule from the same seed.
export { seededRandom };

export type SimGroupKey = "ours-sync" | "ours-free" | "peer";

export interface SimResult {
  group: SimGroupKey;
  system: SystemKey;
  /** Positions at the end instant: program ms (ours) or s on the chained timeline (peer), as ms offsets from the median. */
  positions: number[];
  spreadMs: number | null;
  viewersWithPlayhead: number;
  /** Modelled stalls and seeks over all viewers (ours). */
  stalls: number;
  seeks: number;
  /** Median offset to the common target at the end, ms (ours). */
  medianOffsetMs: number | null;
  /** Median (now − program time at the playhead) at the end, ms (ours). */
  medianDelayMs: number | null;
  errors: number;
}

/** Program-time positions of modelled playheads at wall time `end` (1x extrapolation of the last state). */
export function modelledPositions(stats: readonly ViewerStats[], end: number): number[] {
  const out: number[] = [];
  for (const s of stats) {
    const p = s.playhead;
    if (!p || p.position === null) continue;
    out.push(p.playing ? p.position + (end - p.at) * p.rate : p.position);
  }
  return out;
}

/** Positions (s) on the EXTINF-chained timeline at `end` (standard viewers, no PDT needed). */
export function chainedPositions(stats: readonly ViewerStats[], end: number): number[] {
  const durations: Record<number, number> = {};
  for (const s of stats) Object.assign(durations, s.durations ?? {});
  const starts = chainStarts(durations);
  return stats.map((s) => playheadAt(s.timeline ?? [], starts, end)).filter((p): p is number => p !== null);
}

function summarizeSim(group: SimGroupKey, system: SystemKey, stats: ViewerStats[], end: number): SimResult {
  const errors = stats.reduce((a, s) => a + s.errors.length, 0);
  if (group === "peer") {
    const positions = chainedPositions(stats, end).map((p) => p * 1000);
    const sp = spread(positions);
    return {
      group,
      system,
      positions,
      spreadMs: sp,
      viewersWithPlayhead: positions.length,
      stalls: 0,
      seeks: 0,
      medianOffsetMs: null,
      medianDelayMs: null,
      errors,
    };
  }
  const positions = modelledPositions(stats, end);
  const offsets = stats.flatMap((s) => (s.playhead?.offset === null || s.playhead?.offset === undefined ? [] : [s.playhead.offset * 1000]));
  return {
    group,
    system,
    positions,
    spreadMs: spread(positions),
    viewersWithPlayhead: positions.length,
    stalls: stats.reduce((a, s) => a + (s.playhead?.stalls ?? 0), 0),
    seeks: stats.reduce((a, s) => a + (s.playhead?.seeks ?? 0), 0),
    medianOffsetMs: median(offsets),
    medianDelayMs: median(positions.map((p) => end - p)),
    errors,
  };
}

async function simulated(ctx: PhaseContext): Promise<SimResult[]> {
  const { options, systems, log } = ctx;
  const random = seededRandom(20_240_605);
  const joinMs = options.syncJoinSeconds * 1000;
  const tailMs = options.syncTailSeconds * 1000;
  const delays = Array.from({ length: options.syncViewers }, () => Math.round(random() * joinMs));
  const groups: Array<{ key: SimGroupKey; system: BenchSystem }> = [
    { key: "ours-sync", system: systems.ours },
    ...(systems.peer ? [{ key: "peer" as const, system: systems.peer }] : []),
    { key: "ours-free", system: systems.ours },
  ];
  const runGroup = async (g: { key: SimGroupKey; system: BenchSystem }) => {
    const started = Date.now();
    const { stats } = await runViewers(g.system, delays.length, joinMs + tailMs, 0, {
      recordTimeline: g.key === "peer",
      startDelays: delays,
      ...(g.key === "peer" ? {} : { modeOf: () => "ll" as const, playhead: { sync: g.key === "ours-sync" } }),
    });
    // every viewer's last request ends at started + joinMs + tailMs: one instant for all
    return summarizeSim(g.key, g.system.key, stats, started + joinMs + tailMs);
  };
  const results: SimResult[] = [];
  // Two LL-HLS groups at once would double the request rate through wrangler dev: in a full run the
  // controller group runs with the peer's, then the free group alone; smoke runs all at once.
  const batches = options.smoke ? [groups] : [groups.filter((g) => g.key !== "ours-free"), groups.filter((g) => g.key === "ours-free")];
  for (const batch of batches) {
    if (batch.length === 0) continue;
    log(
      `sync: ${options.syncViewers} simulated viewers per group (${batch.map((g) => g.key).join(", ")}) joining over ${options.syncJoinSeconds} s (load ${load1()})`,
    );
    results.push(...(await Promise.all(batch.map(runGroup))));
  }
  return results;
}

export type TabGroupKey = "watch-sync" | "watch-free" | "peer";

interface TabResult {
  group: TabGroupKey;
  system: SystemKey;
  /** Barcode spread per round (ms). */
  rounds: number[];
  spreadMs: number | null;
  /** Spread of the players' program time (watch page), per round and median (ms). */
  pdtRounds: number[];
  pdtSpreadMs: number | null;
  /** Median glass-to-glass latency over all readings (s). */
  latency: number | null;
  tabsReading: number;
  stalls: number;
  syncStates: string[];
  /** Watch page with sync: ms from "every tab plays" to "every tab within the dead band (or locked)", null if not within the timeout. */
  lockedAfterMs: number | null;
  /** From the first tab's join to every tab showing a frame, ms. */
  joinedToPlayingMs: number;
}

async function tabs(ctx: PhaseContext): Promise<TabResult[] | undefined> {
  const { options, systems, log } = ctx;
  if (options.syncTabs < 2) return undefined;
  const players = await ctx.players();
  if (!players) return undefined;
  const random = seededRandom(7);
  const out: TabResult[] = [];
  const groups: Array<{ key: TabGroupKey; system: BenchSystem; open: (p: Players) => Promise<Player> }> = [
    { key: "watch-sync", system: systems.ours, open: (p) => p.openWatch(`${systems.ours.watchUrl}?sync=1`) },
    { key: "watch-free", system: systems.ours, open: (p) => p.openWatch(`${systems.ours.watchUrl}?sync=0`) },
    ...(systems.peer ? [{ key: "peer" as const, system: systems.peer, open: (p: Players) => p.open(systems.peer!.masterUrl) }] : []),
  ];
  const one = async (group: (typeof groups)[number]) => {
    log(`sync: ${options.syncTabs} Chromium tabs, ${group.key}, joining over ${options.syncTabJoinSeconds} s (load ${load1()})`);
    const opened: Player[] = [];
    try {
      const delays = Array.from({ length: options.syncTabs }, () => random() * options.syncTabJoinSeconds * 1000).sort((a, b) => a - b);
      const t0 = Date.now();
      for (const d of delays) {
        const wait = t0 + d - Date.now();
        if (wait > 0) await sleep(wait);
        opened.push(await group.open(players));
      }
      // Until every tab shows a readable frame, then let them settle: the
      // controller's tabs until each is locked or within its dead band of the
      // target (it steers at most ±5 %), the others for a fixed time.
      const deadline = Date.now() + 45_000;
      while (Date.now() < deadline) {
        const s = await Promise.all(opened.map((p) => p.sample()));
        if (s.every((x) => x.playing && x.frame !== null)) break;
        await sleep(500);
      }
      const allPlaying = Date.now();
      let lockedAfterMs: number | null = null;
      if (group.key === "watch-sync") {
        const lockDeadline = Date.now() + options.syncLockTimeoutSeconds * 1000;
        while (Date.now() < lockDeadline) {
          const s = await Promise.all(opened.map((p) => p.sample()));
          if (
            s.every(
              (x) => x.syncState === "locked" || (x.offsetToTarget !== null && Math.abs(x.offsetToTarget) <= DEFAULT_SYNC_CONFIG.deadBand),
            )
          ) {
            lockedAfterMs = Date.now() - allPlaying;
            break;
          }
          await sleep(250);
        }
        await sleep(1_000);
      } else {
        await sleep(options.syncSettleSeconds * 1000);
      }
      const rounds: number[] = [];
      const pdtRounds: number[] = [];
      const latencies: number[] = [];
      let reading = 0;
      let last: Awaited<ReturnType<Player["sample"]>>[] = [];
      let firstStalls: number[] | null = null;
      for (let r = 0; r < options.syncRounds; r++) {
        const samples = await Promise.all(opened.map((p) => p.sample()));
        firstStalls ??= samples.map((s) => s.stalls);
        last = samples;
        const valid = samples.filter((s) => s.frame !== null);
        reading = Math.max(reading, valid.length);
        const ref = samples[0]!.now;
        if (valid.length >= 2) {
          // Source time each tab shows, moved to the reference instant at 1x.
          const positions = valid.map((s) => systems.source.frameWallTime(s.frame!) + (ref - s.now));
          rounds.push(spread(positions)!);
        }
        for (const s of valid) latencies.push((s.now - systems.source.frameWallTime(s.frame!)) / 1000);
        const pdts = samples.filter((s) => s.programDateTime !== null).map((s) => s.programDateTime! + (ref - s.now));
        if (group.system.key === "ours" && pdts.length >= 2) pdtRounds.push(spread(pdts)!);
        if (r + 1 < options.syncRounds) await sleep(1_000);
      }
      out.push({
        group: group.key,
        system: group.system.key,
        rounds,
        spreadMs: median(rounds),
        pdtRounds,
        pdtSpreadMs: median(pdtRounds),
        latency: median(latencies),
        tabsReading: reading,
        stalls: last.reduce((a, s, i) => a + s.stalls - (firstStalls?.[i] ?? 0), 0),
        syncStates: last.map((s) => s.syncState),
        lockedAfterMs,
        joinedToPlayingMs: allPlaying - t0,
      });
    } finally {
      await Promise.all(opened.map((p) => p.close().catch(() => {})));
    }
  };
  // Full run: one group at a time (decoding tabs share 2 cores); smoke: all at once.
  if (options.smoke) await Promise.all(groups.map(one));
  else for (const group of groups) await one(group);
  return out;
}

export async function runSync(ctx: PhaseContext): Promise<PhaseResult> {
  const { systems, options } = ctx;
  const failures: string[] = [];
  const sim = await simulated(ctx);
  const tab = await tabs(ctx);
  const peerOn = systems.peer !== undefined;
  for (const r of sim) if (r.viewersWithPlayhead < 2) failures.push(`sync: fewer than 2 simulated viewers had a playhead (${r.group})`);
  for (const r of tab ?? []) if (r.rounds.length === 0) failures.push(`sync: fewer than 2 tabs showed a readable frame (${r.group})`);
  const simOf = (g: SimGroupKey) => sim.find((x) => x.group === g);
  const tabOf = (g: TabGroupKey) => tab?.find((x) => x.group === g);
  const peerSim = peerOn ? (simOf("peer")?.spreadMs ?? null) : null;
  const peerTab = peerOn ? (tabOf("peer")?.spreadMs ?? null) : null;
  const simRow = (g: "ours-sync" | "ours-free", name: string): Row[] => {
    const r = simOf(g);
    return [
      {
        group: "sync",
        measure: `spread, ${options.syncViewers} simulated viewers joining over ${options.syncJoinSeconds} s, ${name}`,
        unit: "ms",
        ours: r?.spreadMs ?? null,
        peer: peerSim,
        better: "lower",
        note: `max − min modelled playhead at the end; peer: standard HLS, chained EXTINF timeline`,
      },
      {
        group: "sync",
        measure: `simulated, ${name}: median delay behind now / modelled stalls / seeks`,
        unit: "",
        ours: r ? `${r.medianDelayMs === null ? "—" : (r.medianDelayMs / 1000).toFixed(2) + " s"} / ${r.stalls} / ${r.seeks}` : null,
        peer: null,
        better: "",
        note: "delay = end instant − program time at the playhead (PDT, i.e. since ingest)",
      },
    ];
  };
  const rows: Row[] = [...simRow("ours-sync", "LL-HLS + sync controller"), ...simRow("ours-free", "LL-HLS, no controller")];
  if (tab) {
    for (const [g, name] of [
      ["watch-sync", "watch page ?sync=1"],
      ["watch-free", "watch page ?sync=0"],
    ] as const) {
      const r = tabOf(g);
      rows.push(
        {
          group: "sync",
          measure: `spread, ${options.syncTabs} tabs joining over ${options.syncTabJoinSeconds} s, ${name} (barcode)`,
          unit: "ms",
          ours: r?.spreadMs ?? null,
          peer: peerTab,
          better: "lower",
          note: `median of ${options.syncRounds} rounds; frame barcode, 1 frame = ${(1000 / options.frameRate).toFixed(0)} ms; peer: hls.js standard`,
        },
        {
          group: "sync",
          measure: `tabs, ${name}: program-time spread / median latency / stalls`,
          unit: "",
          ours: r
            ? `${r.pdtSpreadMs === null ? "—" : Math.round(r.pdtSpreadMs) + " ms"} / ${r.latency === null ? "—" : r.latency.toFixed(2) + " s"} / ${r.stalls}`
            : null,
          peer: peerOn && g === "watch-sync" ? fmtPeerTab(tabOf("peer")) : null,
          better: "",
          note: "program time from window.__player (hls.js playingDate), extrapolated to one instant",
        },
      );
      if (g === "watch-sync") {
        rows.push({
          group: "sync",
          measure: `tabs, ${name}: all within ±${DEFAULT_SYNC_CONFIG.deadBand * 1000} ms of the target after (from all playing)`,
          unit: "s",
          ours: r ? (r.lockedAfterMs === null ? `not within ${options.syncLockTimeoutSeconds} s` : r.lockedAfterMs / 1000) : null,
          peer: null,
          better: "lower",
          note: "window.__player.offsetToTarget (or syncState locked); rounds start 1 s later (others: after a fixed settle)",
        });
      }
    }
  }
  return { rows, notes: [], raw: { simulated: sim, tabs: tab ?? null }, failures };
}

function fmtPeerTab(r: TabResult | undefined): string | null {
  if (!r) return null;
  return `— / ${r.latency === null ? "—" : r.latency.toFixed(2) + " s"} / ${r.stalls}`;
}
