/**
 * Events API (mounted at /api/events):
 *
 *   GET /api/events?status=scheduled|in_progress|final[&limit=1..500]
 *       → { events: [standard event + updatedAt, ...] } by start time
 *   GET /api/events/<eventId> → one event (404 unknown_event)
 */
import { Hono } from "hono";
import { z } from "zod";
import { EVENT_STATUSES } from "../../schema/index.js";
import type { AppEnv } from "../env.js";
import { eventView, getEventRow, listEvents } from "../events/event-store.js";
import { getDb } from "../lib/db.js";
import { HttpError } from "../lib/errors.js";
import { eventIdParam } from "../lib/params.js";
import { validQuery } from "../lib/validation.js";

const ListQuery = z.object({
  status: z.enum(EVENT_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const eventsApi = new Hono<AppEnv>();

eventsApi.get("/", validQuery(ListQuery, `status must be one of ${EVENT_STATUSES.join(", ")}; limit 1-500`), async (c) => {
  const { status, limit } = c.req.valid("query");
  const rows = await listEvents(getDb(c.env.DB), status, limit);
  return c.json({ events: rows.map(eventView) }, 200, { "Cache-Control": "no-store" });
});

eventsApi.get("/:id", async (c) => {
  const row = await getEventRow(getDb(c.env.DB), eventIdParam(c.req.param("id")));
  if (row === null) throw new HttpError(404, "unknown_event", "no such event");
  return c.json(eventView(row), 200, { "Cache-Control": "no-store" });
});
