/**
 * The Worker imports workers/generated/static-files.ts, which
 * scripts/vendor.mjs writes (with the bundles of ./public). npm start, demo
 * and test build it first (their pre-scripts); whatever else starts the
 * Worker (the bench, a vitest run of one file, a snapshot of the tree) calls
 * this, which builds it when it is missing.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const GENERATED = join(ROOT, "workers", "generated", "static-files.ts");

/** Builds the bundles of ./public and the module with them (scripts/vendor.mjs). */
export function buildStaticFiles(): void {
  const built = spawnSync(process.execPath, [join(ROOT, "scripts", "vendor.mjs")], { cwd: ROOT, encoding: "utf8" });
  if (built.status !== 0 || !existsSync(GENERATED)) throw new Error(`scripts/vendor.mjs failed: ${built.stderr || built.stdout}`);
}

/** Builds them only when the module is missing. */
export function ensureStaticFiles(): void {
  if (!existsSync(GENERATED)) buildStaticFiles();
}
