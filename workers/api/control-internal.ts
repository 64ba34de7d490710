/**
 * Control-plane work on demand (HMAC-signed like every /api/internal route),
 * mounted at /api/internal before internal.ts:
 *
 *   POST /api/internal/cron/watchdog  { now?, streamIds?, origins? } → WatchdogReport
 *
 * `now` lets tests run the watchdog "10 minutes later" without waiting;
 * `streamIds` limits the stream checks (a shared local stack), `origins:false`
 * skips the origin check.
 */
import { Hono } from "hono";
import { z } from "zod";
import { runWatchdog } from "../control/watchdog.js";
import type { AppEnv } from "../env.js";
import { parseJsonBody } from "../lib/body.js";
import { requireOriginSignature } from "./auth.js";

const WatchdogBody = z
  .object({
    now: z.number().int().min(0).max(8_640_000_000_000).optional(),
    streamIds: z.array(z.string().regex(/^[a-z0-9]{8,32}$/)).max(100).optional(),
    origins: z.boolean().optional(),
  })
  .strict();

export const controlInternalApi = new Hono<AppEnv>();

controlInternalApi.post("/cron/watchdog", requireOriginSignature, async (c) => {
  const body = parseJsonBody(c.get("rawBody"), WatchdogBody, { emptyAsObject: true });
  const report = await runWatchdog(c.env, body);
  return c.json(report, 200, { "Cache-Control": "no-store" });
});
