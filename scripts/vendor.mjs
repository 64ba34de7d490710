#!/usr/bin/env node
// Copies hls.js into the Worker's static assets (public/vendor/hls.min.js),
// served at /vendor/hls.min.js by Workers static assets. Run before start/test.
import { copyFileSync, mkdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const source = join(dirname(require.resolve("hls.js/package.json")), "dist", "hls.min.js");
const target = join(root, "public", "vendor", "hls.min.js");

mkdirSync(dirname(target), { recursive: true });
copyFileSync(source, target);
console.log(`vendor: ${source} -> ${target} (${statSync(target).size} bytes)`);
