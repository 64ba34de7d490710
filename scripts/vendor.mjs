#!/usr/bin/env node
// Prepares the Worker's static assets (Workers static assets serve ./public):
// - copies hls.js to public/vendor/hls.min.js (/vendor/hls.min.js);
// - builds the shared player (web/player/, TypeScript) with esbuild into
//   public/player/player.js (/player/player.js), one IIFE that uses the global
//   Hls from the vendored file.
// Both outputs are git-ignored. Runs before start, demo and test.
import { copyFileSync, mkdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const source = join(dirname(require.resolve("hls.js/package.json")), "dist", "hls.min.js");
const target = join(root, "public", "vendor", "hls.min.js");

mkdirSync(dirname(target), { recursive: true });
copyFileSync(source, target);
console.log(`vendor: ${source} -> ${target} (${statSync(target).size} bytes)`);

const playerOut = join(root, "public", "player", "player.js");
await build({
  entryPoints: [join(root, "web", "player", "browser.ts")],
  outfile: playerOut,
  bundle: true,
  format: "iife",
  platform: "browser",
  // the browsers that hls.js itself supports with MSE; keeps the output readable (no minify: it is small)
  target: ["es2020"],
  sourcemap: "linked",
  legalComments: "none",
  logLevel: "warning",
});
console.log(`vendor: web/player -> ${playerOut} (${statSync(playerOut).size} bytes)`);
