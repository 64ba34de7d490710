/**
 * The scale model as a bench phase: no stack, pure arithmetic
 * (bench/lib/scale-model.ts) at its default inputs, written beside the results
 * (scale-model.md / .json); the headline figures go into the results table.
 * `npx tsx bench/scale-model.ts --viewers N …` runs it with other inputs.
 */
import { DEFAULT_SCALE_INPUTS, fmt } from "../lib/scale-model.js";
import type { Row } from "../lib/table.js";
import { writeScaleModel } from "../scale-model.js";
import type { PhaseResult } from "./common.js";

export function runScale(outDir: string, log: (m: string) => void): PhaseResult {
  const { report, path } = writeScaleModel(DEFAULT_SCALE_INPUTS, outDir);
  log(`scale: model written to ${path}`);
  const i = report.inputs;
  const group = `scale model (${fmt(i.viewers)} viewers, ${i.colos} colos, ${i.regions} regions; arithmetic)`;
  const rows: Row[] = report.tiers
    .filter((t) => t.limitRps !== null)
    .map((t) => ({
      group,
      measure: `${t.tier}: req/s per ${t.instance} (limit ${fmt(t.limitRps!)}) / audience at the limit`,
      unit: "",
      ours: `${fmt(t.rpsPerInstance)} / ${t.audienceAtLimit === null ? "never" : fmt(t.audienceAtLimit)}`,
      peer: null,
      better: "",
      note: t.limitSource,
    }));
  for (const a of report.socketAudienceAtLimit) {
    rows.push({
      group,
      measure: `event sockets, fan-out ${a.shardedBy}: smallest audience over the limit`,
      unit: "",
      ours: a.audience === null ? "no limit reached" : fmt(a.audience),
      peer: null,
      better: "",
      note: a.why,
    });
  }
  return {
    rows,
    notes: [`scale model: inputs, sources and every tier in ${path} (not measured: arithmetic on stated inputs)`],
    raw: report,
    failures: [],
  };
}
