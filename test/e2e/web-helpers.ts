/**
 * Shared by the browser tests (web-*, player-sync, watch-page, control-plane, shaka-reconnect): Chromium, signed
 * internal calls, the provider simulator, games, API calls with the stack's
 * broadcaster key, screenshots.
 */
import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { inject } from "vitest";
import { signRequest } from "../../common/signing.js";
import type { WatchApp } from "../../web/app/watch/app.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** Where the pages' screenshots go (phone and desktop of each page). */
export const SCREENSHOT_DIR = process.env.E2E_SCREENSHOTS ?? join(tmpdir(), "edge-hls-web-screenshots");

export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 800 };

export type WatchSnapshot = ReturnType<WatchApp["snapshot"]>;

/** Debian's Chromium, headless, autoplay allowed; `extraArgs` for tests that need more (e.g. no background throttling). */
export async function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium (.ci/run does) or set CHROMIUM_PATH`);
  return chromium.launch({
    executablePath: CHROMIUM,
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
      ...extraArgs,
    ],
  });
}

export const MOBILE_UA =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1 e2e";
export const DESKTOP_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36 e2e";

interface OpenOptions {
  viewport?: { width: number; height: number };
  /** the room groups sockets by device from the User-Agent (headless Chromium would be a "bot") */
  userAgent?: string;
  init?: (context: BrowserContext) => Promise<unknown>;
}

/** A page in its own context (its own storage, so its own anonymous viewer); console errors collected. */
export async function openPage(browser: Browser, url: string, options: OpenOptions = {}) {
  const context = await browser.newContext({ viewport: options.viewport ?? DESKTOP, userAgent: options.userAgent ?? DESKTOP_UA });
  await options.init?.(context);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" && !/favicon|status of 40[49]|ERR_CONNECTION_REFUSED/.test(m.text())) errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(url);
  return { page, context, errors };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

declare global {
  interface Window {
    /** the page's timer lag (startLagMonitor): how much later than asked its timers ran at worst, ms */
    __lag?: { max: number };
  }
}

/**
 * Measures how late the page's timers run (a 50 ms interval's worst drift
 * from then on): on a busy machine Chromium's main thread waits for a core,
 * and an assertion about when the page did something must allow what the
 * machine, not the page, held it back.
 */
export async function startLagMonitor(page: Page): Promise<void> {
  await page.evaluate(() => {
    if (window.__lag) return;
    const lag = { max: 0 };
    window.__lag = lag;
    let last = performance.now();
    setInterval(() => {
      const now = performance.now();
      lag.max = Math.max(lag.max, now - last - 50);
      last = now;
    }, 50);
  });
}

/** Waits until no finite animation or transition runs in the page (media-chrome's menus and control bar fade). */
export async function controlsSettled(page: Page): Promise<void> {
  await page.waitForFunction(
    () => {
      const roots: Array<Document | ShadowRoot> = [
        document,
        ...[...document.querySelectorAll("*")].flatMap((e) => (e.shadowRoot ? [e.shadowRoot] : [])),
      ];
      // spinners loop for ever: only what ends (fades, menu openings) is waited for
      const finite = (a: Animation) => a.effect?.getTiming().iterations !== Infinity;
      return roots.every((root) => root.getAnimations().every((a) => a.playState !== "running" || !finite(a)));
    },
    null,
    { timeout: 15_000 },
  );
}

/**
 * Interactive controls of the page without an accessible name (aria-label,
 * aria-labelledby, a <label>, or their own text), as "tag#id.class" strings.
 * media-chrome's buttons name themselves through aria-label, its ranges on
 * the input inside their shadow root.
 */
export function unlabelledControls(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const selector =
      "button, input:not([type=hidden]), select, textarea, a[href], [role=button], media-play-button, media-mute-button, media-volume-range, media-rendition-menu-button, media-pip-button, media-fullscreen-button";
    const visible = (e: Element) => !(e as HTMLElement).closest("[hidden]") && getComputedStyle(e).display !== "none";
    const name = (e: Element) =>
      e.getAttribute("aria-label")?.trim() ||
      (e.getAttribute("aria-labelledby") ?? "")
        .split(/\s+/)
        .map((id) => document.getElementById(id)?.textContent ?? "")
        .join("")
        .trim() ||
      [...((e as HTMLInputElement).labels ?? [])]
        .map((l) => l.textContent ?? "")
        .join("")
        .trim() ||
      // media-chrome's ranges label the <input type=range> in their shadow root
      e.shadowRoot?.querySelector("input[aria-label]")?.getAttribute("aria-label")?.trim() ||
      (e instanceof HTMLInputElement || e instanceof HTMLSelectElement || e instanceof HTMLTextAreaElement
        ? ""
        : (e.textContent ?? "").trim());
    return [...document.querySelectorAll(selector)]
      .filter((e) => visible(e) && !name(e))
      .map(
        (e) =>
          `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ""}${e.className && typeof e.className === "string" ? `.${e.className.split(" ").join(".")}` : ""}`,
      );
  });
}

/** What Tab reaches, in order, from the top of the page: `count` stops, each "tag#id[name]". */
export async function tabStops(page: Page, count: number): Promise<string[]> {
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  const stops: string[] = [];
  for (let i = 0; i < count; i++) {
    await page.keyboard.press("Tab");
    stops.push(
      await page.evaluate(() => {
        const e = document.activeElement;
        if (!e || e === document.body) return "body";
        const name = e.getAttribute("aria-label") || (e.textContent ?? "").trim().slice(0, 30);
        return `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ""}${name ? `[${name}]` : ""}`;
      }),
    );
  }
  return stops;
}

export function watchState(page: Page): Promise<WatchSnapshot> {
  return page.evaluate(() => window.__watch!.snapshot()) as Promise<WatchSnapshot>;
}

export const edge = () => inject("edgeUrl");

export async function internal(method: "GET" | "POST", path: string, body?: unknown): Promise<Record<string, unknown>> {
  const raw = body === undefined ? "" : JSON.stringify(body);
  const headers = await signRequest(inject("secret"), method, path, raw);
  const res = await fetch(`${edge()}${path}`, {
    method,
    headers: { ...headers, "content-type": "application/json" },
    body: method === "POST" ? raw : undefined,
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** The stack's broadcaster, through the public API. */
export async function asBroadcaster<T = Record<string, unknown>>(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${edge()}${path}`, {
    method,
    headers: { authorization: `Bearer ${inject("apiKey")}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

export async function providerControl(command: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${inject("providerUrl")}/__control`, { method: "POST", body: JSON.stringify(command) });
  if (!res.ok) throw new Error(`simulator: ${res.status} ${await res.text()}`);
}

let games = 0;
/** A game in progress that only changes when told (auto: false), known to the Worker's D1. */
export async function newGame(home = 40, away = 37): Promise<string> {
  const id = `web-game-${Date.now().toString(36)}-${games++}`;
  await providerControl({
    create: {
      id,
      sport: "basketball",
      status: "in_progress",
      startTime: new Date(Date.now() - 15 * 60_000).toISOString(),
      home: { name: "Harbor City Herons", abbr: "HCH", score: home },
      away: { name: "Summit Peaks", abbr: "SUM", score: away },
      period: 2,
      clock: "06:00",
      details: {},
      auto: false,
    },
  });
  await internal("POST", "/api/internal/cron/run", { tasks: ["ingress"] });
  return id;
}
