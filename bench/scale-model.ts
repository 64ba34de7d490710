/**
 * `npx tsx bench/scale-model.ts [--viewers 1000000 --colos 300 --regions 10 …]`:
 * prints the scale model (bench/lib/scale-model.ts: what one stream and one
 * event's sockets ask of each tier, against the documented Durable Object
 * limits) and writes it to bench/results/scale-model.md and .json (or --out
 * DIR). Every input of DEFAULT_SCALE_INPUTS is a flag (kebab-case). Also run
 * by `npm run bench` (phase "scale").
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { renderScaleModel } from "./lib/scale-model-report.js";
import { DEFAULT_SCALE_INPUTS, scaleModel, type ScaleInputs, type ScaleReport } from "./lib/scale-model.js";

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Inputs from flags; an unknown flag or a non-positive number is an error. */
export function parseScaleArgs(argv: readonly string[]): { inputs: ScaleInputs; outDir: string | null } {
  const inputs: ScaleInputs = { ...DEFAULT_SCALE_INPUTS };
  let outDir: string | null = null;
  const names = Object.keys(DEFAULT_SCALE_INPUTS) as Array<keyof ScaleInputs>;
  for (let k = 0; k < argv.length; k++) {
    const arg = argv[k] ?? "";
    const value = argv[k + 1];
    if (arg === "--out") {
      if (value === undefined) throw new Error("--out wants a directory");
      outDir = value;
      k++;
      continue;
    }
    const name = names.find((n) => `--${kebab(n)}` === arg);
    if (!name) throw new Error(`unknown option ${arg} (inputs: ${names.map((n) => `--${kebab(n)}`).join(" ")})`);
    const number = Number(value);
    const mayBeZero = name === "audioRenditions" || name === "shardSockets" || name === "llShare" || name === "shardPlanColoCache";
    if (value === undefined || !Number.isFinite(number) || number < 0 || (!mayBeZero && number === 0)) {
      throw new Error(`${arg} wants a ${mayBeZero ? "non-negative" : "positive"} number`);
    }
    if (name === "llShare" && number > 1) throw new Error("--ll-share is a fraction (0-1)");
    inputs[name] = number;
    k++;
  }
  return { inputs, outDir };
}

/** Computes, prints and writes the model; returns it (the bench's phase uses it). */
export function writeScaleModel(inputs: ScaleInputs, outDir: string): { report: ScaleReport; markdown: string; path: string } {
  const report = scaleModel(inputs);
  const markdown = renderScaleModel(report);
  mkdirSync(outDir, { recursive: true });
  const path = join(outDir, "scale-model.md");
  writeFileSync(path, markdown);
  writeFileSync(join(outDir, "scale-model.json"), JSON.stringify(report, null, 2) + "\n");
  return { report, markdown, path };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const { inputs, outDir } = parseScaleArgs(process.argv.slice(2));
    const root = join(fileURLToPath(import.meta.url), "..", "..");
    const { markdown, path } = writeScaleModel(inputs, outDir ?? join(root, "bench", "results"));
    console.log(markdown);
    console.log(`written: ${path}`);
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
}
