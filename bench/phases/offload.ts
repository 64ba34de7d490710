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
import { runViewers, standardShare } from "../lib/viewers.js";
import { findUserWorker } from "../lib/workerd-direct.js";
import type { BenchSystem } from "../systems.js";
import { load1, sleep, type PhaseContext, type PhaseResult } from "./common.js";
import { offloadNotes, offloadRows, type OffloadEntry } from "./offload-report.js";

export async function runOffload(ctx: PhaseContext): Promise<PhaseResult> {
  const { options, systems, log } = ctx;
  const entries: OffloadEntry[] = [];
  const failures: string[] = [];
  const via = await oursVia(systems.ours, options.offloadVia);
  log(`offload: ours ${via.note}`);
  const one = async (target: BenchSystem, viewers: number, allStandard = false) => {
    const system = target.key === "ours" ? via.system : target;
    const modeOf = system.key === "ours" ? standardShare(viewers, allStandard ? 100 : options.offloadStandardPct) : undefined;
    const kind = allStandard ? " (all standard HLS)" : "";
    log(`offload: ${viewers} viewers${kind} through ${system.key} for ${options.offloadSeconds} s (load ${load1()})`);
    const mark = await system.originMark();
    const { aggregate } = await runViewers(system, viewers, options.offloadSeconds * 1000, options.rampSeconds * 1000, { modeOf });
    await sleep(options.smoke ? 300 : 1_200); // late origin log lines land
    const origin = await system.originSince(mark);
    entries.push({ system: system.key, viewers, aggregate, origin, load: load1(), ...(allStandard ? { allStandard } : {}) });
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
  // The peer's viewer model on both (every viewer plays whole segments), at one size: the like-for-like row.
  if (options.offloadStandardViewers > 0 && !options.smoke) {
    for (const system of systems.list) {
      await one(system, options.offloadStandardViewers, true);
      await sleep(1_000);
    }
  }
  return {
    rows: offloadRows(entries, options.viewers, systems.peer !== undefined),
    notes: [...offloadNotes(entries, options.offloadStandardPct), `offload: ours ${via.note}.`],
    raw: entries,
    failures,
  };
}

/**
 * Where our viewers connect. "direct": the user Worker's own workerd socket,
 * as the peer's viewers reach nginx: wrangler dev's proxy Worker is a dev
 * tool (live reload) that production lacks, and it cost more CPU per request
 * than our Worker (edge-hit phase). Falls back to the proxy, and says so,
 * when the socket cannot be found.
 */
async function oursVia(ours: BenchSystem, via: "proxy" | "direct"): Promise<{ system: BenchSystem; note: string }> {
  const url = new URL(ours.masterUrl);
  if (via === "proxy") return { system: ours, note: "viewers go through wrangler dev's proxy (--offload-via proxy)" };
  const base = await findUserWorker(Number(url.port), url.pathname);
  if (base === undefined)
    return { system: ours, note: "viewers go through wrangler dev's proxy (the user Worker's workerd socket was not found)" };
  return {
    system: { ...ours, masterUrl: `${base}${url.pathname}` },
    note: "viewers go straight to the user Worker's workerd socket, without wrangler dev's proxy (--offload-via direct, the default)",
  };
}
