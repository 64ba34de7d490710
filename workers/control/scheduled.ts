/**
 * The Worker's `scheduled` handler: the events cron (workers/events/cron.ts:
 * ingress, live monitor) plus the stream/server watchdog on the every-minute
 * trigger.
 */
import type { Env } from "../env.js";
import { scheduled as eventsScheduled } from "../events/cron.js";
import { runWatchdog } from "./watchdog.js";

const WATCHDOG_CRON = "* * * * *";

export async function scheduled(controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
  await eventsScheduled(controller, env, ctx);
  if (controller.cron === WATCHDOG_CRON) {
    ctx.waitUntil(
      runWatchdog(env, { now: controller.scheduledTime }).then(
        (report) => console.log(`watchdog: ${JSON.stringify(report)}`),
        (error) => console.error("watchdog failed", error),
      ),
    );
  }
}
