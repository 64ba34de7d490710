#!/usr/bin/env node
// Prepares the Worker's static assets (Workers static assets serve ./public):
// - copies hls.js to public/vendor/hls.min.js (/vendor/hls.min.js);
// - builds the shared player (web/player/, TypeScript) with esbuild into
//   public/player/player.js (/player/player.js), one IIFE that uses the global
//   Hls from the vendored file.
// - builds the pages' apps (web/app/: watch, directory, studio) into
//   public/player/{watch,directory,studio}.js, with the media-chrome controls
//   bundled in (see mediaChromeNonce below).
// Every output is git-ignored. Runs before start, demo and test.
import { copyFileSync, mkdirSync, readFileSync, statSync } from "node:fs";
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

/**
 * media-chrome's elements write their shadow-root CSS as inline `<style>`
 * blocks, which the pages' CSP (`style-src 'self' 'nonce-…'`, no
 * 'unsafe-inline') would refuse. Each page response carries a fresh nonce on
 * its script tags; the app reads it (document.currentScript.nonce, see
 * web/app/boot.ts) before any element is defined, and this plugin makes every
 * `<style` in media-chrome's templates carry it.
 */
const mediaChromeNonce = {
  name: "media-chrome-style-nonce",
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]media-chrome[\\/]dist[\\/].*\.js$/ }, (args) => {
      const source = readFileSync(args.path, "utf8");
      return { contents: source.replaceAll("<style", '<style nonce="${globalThis.__edgeStyleNonce || ""}"'), loader: "js" };
    });
  },
};

const appDir = join(root, "public", "player");
await build({
  entryPoints: ["watch", "directory", "studio"].map((name) => ({ in: join(root, "web", "app", `${name}.ts`), out: name })),
  outdir: appDir,
  bundle: true,
  format: "iife",
  platform: "browser",
  target: ["es2020"],
  minify: true,
  sourcemap: "linked",
  legalComments: "none",
  logLevel: "warning",
  plugins: [mediaChromeNonce],
});
for (const name of ["watch", "directory", "studio"]) {
  console.log(`vendor: web/app/${name}.ts -> ${join(appDir, `${name}.js`)} (${statSync(join(appDir, `${name}.js`)).size} bytes)`);
}
