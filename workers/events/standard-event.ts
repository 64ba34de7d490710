/**
 * Our standard event format: what every provider adapter normalizes to, what
 * EventRooms keep, diff and broadcast, and what D1's `events.data` holds
 * (the essential data elements of a game, the same whatever the provider).
 */
import { z } from "zod";
import { ID_PATTERN } from "../../common/ids.js";
import { EVENT_STATUSES } from "../../common/event-feed.js";

const StandardTeamSchema = z.object({
  name: z.string().min(1).max(100),
  abbr: z.string().min(1).max(10),
  score: z.number().int().min(0).max(1_000_000),
});

export const StandardEventSchema = z.object({
  eventId: z.string().regex(ID_PATTERN),
  provider: z.string().min(1).max(40),
  sport: z.string().min(1).max(40),
  status: z.enum(EVENT_STATUSES),
  /** ISO 8601, UTC */
  startTime: z.string(),
  home: StandardTeamSchema,
  away: StandardTeamSchema,
  /** quarter / half / inning ... as the provider names it */
  period: z.union([z.number(), z.string()]).nullable(),
  /** game clock as displayed, e.g. "07:41" */
  clock: z.string().nullable(),
  /** sport-specific progress details (possession, fouls, bases ...) */
  details: z.record(z.unknown()),
});

export type StandardEvent = z.infer<typeof StandardEventSchema>;

export function startTimeMs(event: Pick<StandardEvent, "startTime">): number {
  return Date.parse(event.startTime);
}
