/**
 * Real players: Debian's Chromium driven by playwright-core, each tab one
 * player. Two kinds of tab:
 * - the bench player (a loopback page server: bench page, hls.js from
 *   node_modules/hls.js/dist, the barcode reader) on either system's master
 *   playlist, in `standard` or stock `ll` hls.js mode;
 * - the product's own watch page (/watch/<id> from our edge, web/player:
 *   hls.js LL-HLS + the sync controller), with the barcode reader and a
 *   sampler (bench/page/watch-sampler.js) added by the bench. The page's CSP
 *   forbids inline and foreign scripts, so these tabs get a context with
 *   `bypassCSP` (the page itself runs unchanged).
 */
import { existsSync, readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { onCleanup } from "./lib/procs.js";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export interface PlayerSample {
  now: number;
  frame: number | null;
  width: number;
  height: number;
  currentTime: number;
  playing: boolean;
  programDateTime: number | null;
  level: number;
  hlsLatency: number | null;
  stalls: number;
  playbackRate: number;
  /** The watch page's sync controller: offset to the common target (s), null elsewhere. */
  offsetToTarget: number | null;
  syncState: string;
  targetDelay: number | null;
  /** Which player: "hls.js standard", "hls.js ll", "watch page (sync on|off)". */
  player: string;
  fatal: number;
  errors: string[];
}

export type BenchPlayerMode = "standard" | "ll";

export interface PageServer {
  url: string;
  /** Repository root (the page scripts are read from bench/page). */
  root: string;
  stop(): Promise<void>;
}

export async function startPageServer(root: string, port: number): Promise<PageServer> {
  const files: Record<string, { path: string; type: string }> = {
    "/player.html": { path: join(root, "bench", "page", "player.html"), type: "text/html; charset=utf-8" },
    "/bench-player.js": { path: join(root, "bench", "page", "bench-player.js"), type: "text/javascript" },
    "/barcode.js": { path: join(root, "bench", "page", "barcode.js"), type: "text/javascript" },
    "/hls.min.js": { path: join(root, "node_modules", "hls.js", "dist", "hls.min.js"), type: "text/javascript" },
  };
  for (const f of Object.values(files)) if (!existsSync(f.path)) throw new Error(`missing ${f.path}`);
  const server = http.createServer((req, res) => {
    const file = files[new URL(req.url ?? "/", "http://x").pathname];
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": file.type, "cache-control": "no-store" });
    res.end(readFileSync(file.path));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const stop = onCleanup("page server", () => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, root, stop };
}

export interface Players {
  browser: Browser;
  /** The bench player on a master playlist (default mode: standard). */
  open(masterUrl: string, mode?: BenchPlayerMode): Promise<Player>;
  /** The product's watch page (URL with `?sync=0|1`), sampled by bench/page/watch-sampler.js. */
  openWatch(watchUrl: string): Promise<Player>;
  stop(): Promise<void>;
}

export interface Player {
  page: Page;
  sample(): Promise<PlayerSample>;
  close(): Promise<void>;
}

export async function launchPlayers(pageServer: PageServer): Promise<Players> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    // Our own handlers stop Chromium with everything else (playwright's would exit at once).
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--autoplay-policy=no-user-gesture-required",
      // Background tabs must keep playing and rendering at full rate.
      "--disable-background-timer-throttling",
      "--disable-renderer-backgrounding",
      "--disable-backgrounding-occluded-windows",
    ],
  });
  const stop = onCleanup("chromium", () => browser.close());
  const barcodeJs = readFileSync(join(pageServer.root, "bench", "page", "barcode.js"), "utf8");
  const samplerJs = readFileSync(join(pageServer.root, "bench", "page", "watch-sampler.js"), "utf8");
  const wrap = (page: Page, context?: BrowserContext): Player => ({
    page,
    sample: () => page.evaluate(() => (window as unknown as { __bench: { sample(): PlayerSample } }).__bench.sample()),
    close: async () => {
      await page.close();
      await context?.close();
    },
  });
  return {
    browser,
    async open(masterUrl: string, mode: BenchPlayerMode = "standard"): Promise<Player> {
      const page = await browser.newPage({ viewport: { width: 660, height: 380 } });
      await page.goto(`${pageServer.url}/player.html?mode=${mode}&src=${encodeURIComponent(masterUrl)}`);
      return wrap(page);
    },
    async openWatch(watchUrl: string): Promise<Player> {
      const context = await browser.newContext({ viewport: { width: 660, height: 460 }, bypassCSP: true });
      const page = await context.newPage();
      const response = await page.goto(watchUrl);
      if (!response?.ok()) throw new Error(`watch page ${watchUrl}: ${response?.status()}`);
      await page.addScriptTag({ content: barcodeJs });
      await page.addScriptTag({ content: samplerJs });
      return wrap(page, context);
    },
    stop,
  };
}
