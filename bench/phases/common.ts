import os from "node:os";
import type { Players } from "../browser.js";
import type { Row } from "../lib/table.js";
import type { BenchOptions } from "../options.js";
import type { Systems } from "../systems.js";

export interface PhaseContext {
  options: BenchOptions;
  systems: Systems;
  /** Launches Chromium on first use; undefined when Chromium is missing. */
  players(): Promise<Players | undefined>;
  log(message: string): void;
}

export interface PhaseResult {
  rows: Row[];
  notes: string[];
  raw: unknown;
  /** Harness failures (zero samples, zero segments…): make the run exit non-zero. */
  failures: string[];
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function load1(): string {
  return os.loadavg()[0]!.toFixed(2);
}

/** Seconds → ms rounding helper for rows. */
export function ms(value: number | null): number | null {
  return value === null ? null : Math.round(value);
}
