/**
 * Event fan-out figures come from bench/fanout.ts (`runFanout({ sockets,
 * updates, smoke })`), written alongside the WebSocket rooms. When that file
 * is not there the row says so; no number is ever made up here.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Cell, Row } from "../lib/table.js";
import type { BenchOptions } from "../options.js";
import type { PhaseResult } from "./common.js";

type FanoutModule = { runFanout?: (o: { sockets: number; updates: number; smoke: boolean }) => Promise<unknown> };

/** Turns whatever runFanout returned into rows: its own `rows` if it has them, else its numeric fields. */
export function fanoutRows(result: unknown): Row[] {
  const group = "event fan-out";
  if (result && typeof result === "object" && Array.isArray((result as { rows?: unknown }).rows)) {
    return (result as { rows: Array<Partial<Row>> }).rows.map((r) => ({
      group: r.group ?? group,
      measure: String(r.measure ?? "?"),
      unit: r.unit ?? "",
      ours: (r.ours ?? null) as Cell,
      peer: (r.peer ?? null) as Cell,
      better: r.better ?? "",
      ...(r.note ? { note: r.note } : {}),
    }));
  }
  const rows: Row[] = [];
  const walk = (value: unknown, path: string[]) => {
    if (typeof value === "number" || typeof value === "string") {
      rows.push({ group, measure: path.join(" "), unit: "", ours: value, peer: null, better: "" });
    } else if (value && typeof value === "object" && path.length < 3) {
      for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
    }
  };
  walk(result, []);
  return rows.length ? rows : [{ group, measure: "result", unit: "", ours: JSON.stringify(result) ?? "nothing", peer: null, better: "" }];
}

export async function runFanoutPhase(ctx: { options: BenchOptions; log(m: string): void }, root: string): Promise<PhaseResult> {
  const file = join(root, "bench", "fanout.ts");
  const missing = (why: string): PhaseResult => ({
    rows: [
      {
        group: "event fan-out",
        measure: "provider change → every socket",
        unit: "",
        ours: `not available (${why})`,
        peer: `not available (${why})`,
        better: "",
      },
    ],
    notes: [],
    raw: null,
    failures: [],
  });
  if (!existsSync(file)) return missing("bench/fanout.ts missing");
  const mod = (await import(pathToFileURL(file).href)) as FanoutModule;
  if (typeof mod.runFanout !== "function") return missing("bench/fanout.ts exports no runFanout");
  ctx.log(`fan-out: ${ctx.options.fanoutSockets} sockets, ${ctx.options.fanoutUpdates} updates (bench/fanout.ts)`);
  try {
    const offset = ctx.options.portOffset;
    const ports = {
      edgePort: 23787 + offset,
      originHttpPort: 23080 + offset,
      rtmpPort: 23935 + offset,
      providerPort: 23090 + offset,
      baselinePort: 23091 + offset,
    };
    const result = await mod.runFanout({
      sockets: ctx.options.fanoutSockets,
      updates: ctx.options.fanoutUpdates,
      smoke: ctx.options.smoke,
      ...ports,
    });
    return { rows: fanoutRows(result), notes: [], raw: result, failures: [] };
  } catch (error) {
    return {
      rows: [{ group: "event fan-out", measure: "run", unit: "", ours: `failed: ${(error as Error).message}`, peer: null, better: "" }],
      notes: [],
      raw: { error: String(error) },
      failures: [`fan-out: bench/fanout.ts failed: ${(error as Error).message}`],
    };
  }
}
