/**
 * Viewer sync spread.
 *
 * Simulated viewers: N per system join at random times over J seconds (the
 * same schedule for both systems, run at the same time); at the end each
 * one's playhead is modelled (bench/lib/playhead.ts: starts the first segment
 * when it has arrived, 1x, stalls when the next has not) on the stream's
 * timeline chained from EXTINF durations; spread = max − min.
 *
 * Real players: K hls.js tabs per system join at random times over a few
 * seconds; each reads the frame-number barcode off its displayed frame; the
 * readings are moved to one instant (1x playback) and spread = max − min.
 * Rounds a second apart (5 by default); the median round is reported.
 */
import type { Player } from "../browser.js";
import { chainStarts, playheadAt } from "../lib/playhead.js";
import { median, spread } from "../lib/stats.js";
import type { Row } from "../lib/table.js";
import type { SystemKey } from "../systems.js";
import { load1, sleep, type PhaseContext, type PhaseResult } from "./common.js";
import { seededRandom } from "../../common/seeded-random.js";
import { runViewers } from "./offload.js";


// Both systems get the same join schedule from the same seed.
export { seededRandom };

interface SimResult {
  system: SystemKey;
  positions: number[];
  spreadMs: number | null;
  viewersWithPlayhead: number;
}

async function simulated(ctx: PhaseContext): Promise<SimResult[]> {
  const { options, systems, log } = ctx;
  const random = seededRandom(20_240_605);
  const joinMs = options.syncJoinSeconds * 1000;
  const tailMs = options.syncTailSeconds * 1000;
  const delays = Array.from({ length: options.syncViewers }, () => Math.round(random() * joinMs));
  log(`sync: ${options.syncViewers} simulated viewers per system joining over ${options.syncJoinSeconds} s (load ${load1()})`);
  const started = Date.now();
  const end = started + joinMs + tailMs;
  const results = await Promise.all(
    systems.list.map(async (system) => {
      const { stats } = await runViewers(system, delays.length, joinMs + tailMs, 0, { recordTimeline: true, startDelays: delays });
      return { system: system.key, stats };
    }),
  );
  return results.map(({ system, stats }) => {
    const durations: Record<number, number> = {};
    for (const s of stats) Object.assign(durations, s.durations ?? {});
    const starts = chainStarts(durations);
    const positions = stats
      .map((s) => playheadAt(s.timeline ?? [], starts, end))
      .filter((p): p is number => p !== null);
    const sp = spread(positions);
    return { system, positions, spreadMs: sp === null ? null : sp * 1000, viewersWithPlayhead: positions.length };
  });
}

interface TabResult {
  system: SystemKey;
  rounds: number[];
  spreadMs: number | null;
  tabsReading: number;
}

async function tabs(ctx: PhaseContext): Promise<TabResult[] | undefined> {
  const { options, systems, log } = ctx;
  if (options.syncTabs < 2) return undefined;
  const players = await ctx.players();
  if (!players) return undefined;
  const random = seededRandom(7);
  const out: TabResult[] = [];
  const one = async (system: (typeof systems.list)[number]) => {
    log(`sync: ${options.syncTabs} Chromium tabs on ${system.key} joining over ${options.syncTabJoinSeconds} s (load ${load1()})`);
    const opened: Player[] = [];
    try {
      const delays = Array.from({ length: options.syncTabs }, () => random() * options.syncTabJoinSeconds * 1000).sort((a, b) => a - b);
      const t0 = Date.now();
      for (const d of delays) {
        const wait = t0 + d - Date.now();
        if (wait > 0) await sleep(wait);
        opened.push(await players.open(system.masterUrl));
      }
      // Until every tab shows a readable frame, then let them settle.
      const deadline = Date.now() + 45_000;
      while (Date.now() < deadline) {
        const s = await Promise.all(opened.map((p) => p.sample()));
        if (s.every((x) => x.playing && x.frame !== null)) break;
        await sleep(500);
      }
      await sleep(options.syncSettleSeconds * 1000);
      const rounds: number[] = [];
      let reading = 0;
      for (let r = 0; r < options.syncRounds; r++) {
        const samples = await Promise.all(opened.map((p) => p.sample()));
        const valid = samples.filter((s) => s.frame !== null);
        reading = Math.max(reading, valid.length);
        if (valid.length >= 2) {
          const ref = valid[0]!.now;
          // Source time each tab shows, moved to the reference instant at 1x.
          const positions = valid.map((s) => systems.source.frameWallTime(s.frame!) + (ref - s.now));
          rounds.push(spread(positions)!);
        }
        if (r + 1 < options.syncRounds) await sleep(1_000);
      }
      out.push({ system: system.key, rounds, spreadMs: median(rounds), tabsReading: reading });
    } finally {
      await Promise.all(opened.map((p) => p.close().catch(() => {})));
    }
  };
  // Full run: one system at a time (decoding tabs share 2 cores); smoke: both at once.
  if (options.smoke) await Promise.all(systems.list.map(one));
  else for (const system of systems.list) await one(system);
  return out;
}

export async function runSync(ctx: PhaseContext): Promise<PhaseResult> {
  const { systems, options } = ctx;
  const failures: string[] = [];
  const sim = await simulated(ctx);
  const tab = await tabs(ctx);
  const peerOn = systems.peer !== undefined;
  const pick = <T extends { system: SystemKey }>(list: T[] | undefined, key: SystemKey) => list?.find((x) => x.system === key);
  for (const r of sim) if (r.viewersWithPlayhead < 2) failures.push(`sync: fewer than 2 simulated ${r.system} viewers had a playhead`);
  for (const r of tab ?? []) if (r.rounds.length === 0) failures.push(`sync: fewer than 2 ${r.system} tabs showed a readable frame`);
  const rows: Row[] = [
    {
      group: "sync",
      measure: `spread, ${options.syncViewers} simulated viewers joining over ${options.syncJoinSeconds} s`,
      unit: "ms",
      ours: pick(sim, "ours")?.spreadMs ?? null,
      peer: peerOn ? pick(sim, "peer")?.spreadMs ?? null : null,
      better: "lower",
      note: "max − min modelled playhead at the end",
    },
  ];
  if (tab) {
    rows.push({
      group: "sync",
      measure: `spread, ${options.syncTabs} hls.js tabs joining over ${options.syncTabJoinSeconds} s`,
      unit: "ms",
      ours: pick(tab, "ours")?.spreadMs ?? null,
      peer: peerOn ? pick(tab, "peer")?.spreadMs ?? null : null,
      better: "lower",
      note: `median of ${options.syncRounds} rounds; frame barcode`,
    });
  }
  return { rows, notes: [], raw: { simulated: sim, tabs: tab ?? null }, failures };
}
