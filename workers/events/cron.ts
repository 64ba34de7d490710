/**
 * Control-server work on the Workers cron (README "Cron"):
 *
 * - ingress: the provider's events starting within ±24 h of now → D1 `events`
 *   (upsert; new events appear, statuses and scores refresh);
 * - monitor: every in-progress event (or scheduled one whose start time has
 *   passed) gets its EventRoom polling (`ensurePolling()`).
 *
 * wrangler.toml: "* * * * *" runs the monitor, "*\/10 * * * *" ingress +
 * monitor. POST /api/internal/cron/run (HMAC) runs the same on demand.
 */
import { parseConfig } from "../config.js";
import type { Env } from "../env.js";
import { getDb } from "../lib/db.js";
import { forgetEvent } from "../lib/stream-directory.js";
import { eventRoom } from "../stubs.js";
import { eventsToMonitor, upsertEvents } from "./event-store.js";
import { ProviderError } from "./provider.js";
import { providerFrom } from "./provider-factory.js";

export const CRON_TASKS = ["ingress", "monitor"] as const;
export type CronTask = (typeof CRON_TASKS)[number];

const INGRESS_CRON = "*/10 * * * *";
const INGRESS_WINDOW_MS = 24 * 3600_000;

export interface CronReport {
  ingress?: { fetched: number; upserted: number; skipped: number } | { error: string };
  monitor?: { events: number; ensured: number; failed: number };
}

async function runIngress(env: Env, now = Date.now()): Promise<NonNullable<CronReport["ingress"]>> {
  const provider = providerFrom(parseConfig(env).events);
  if (provider === null) return { error: "not_configured: EVENT_PROVIDER_URL is not set" };
  try {
    const list = await provider.listEvents(new Date(now - INGRESS_WINDOW_MS), new Date(now + INGRESS_WINDOW_MS));
    const upserted = await upsertEvents(getDb(env.DB), list.events, now);
    for (const event of list.events) forgetEvent(event.eventId);
    if (list.skipped > 0) console.warn(`event ingress: ${list.skipped} malformed entries skipped`);
    return { fetched: list.events.length + list.skipped, upserted, skipped: list.skipped };
  } catch (error) {
    const message = error instanceof ProviderError ? `${error.kind}: ${error.message}` : String(error);
    console.error(`event ingress failed: ${message}`);
    return { error: message };
  }
}

async function runMonitor(env: Env, now = Date.now()): Promise<NonNullable<CronReport["monitor"]>> {
  const ids = await eventsToMonitor(getDb(env.DB), now);
  const results = await Promise.allSettled(ids.map((id) => eventRoom(env, id).ensurePolling()));
  const failed = results.filter((r) => r.status === "rejected").length;
  if (failed > 0) console.error(`live monitor: ${failed} of ${ids.length} event rooms did not answer`);
  return { events: ids.length, ensured: ids.length - failed, failed };
}

export async function runCron(env: Env, tasks: readonly CronTask[], now = Date.now()): Promise<CronReport> {
  const report: CronReport = {};
  if (tasks.includes("ingress")) report.ingress = await runIngress(env, now);
  if (tasks.includes("monitor")) report.monitor = await runMonitor(env, now);
  return report;
}

/** The Worker's `scheduled` handler. */
export async function scheduled(controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
  const tasks: CronTask[] = controller.cron === INGRESS_CRON ? ["ingress", "monitor"] : ["monitor"];
  ctx.waitUntil(
    runCron(env, tasks, controller.scheduledTime).then(
      (report) => console.log(`cron '${controller.cron}': ${JSON.stringify(report)}`),
      (error: unknown) => console.error(`cron '${controller.cron}' failed; the next trigger tries again`, error),
    ),
  );
}
