/** A standard event in progress, the starting point of the event tests. */
import type { StandardEvent } from "../../workers/events/standard-event.js";

export const baseEvent: StandardEvent = {
  eventId: "g1",
  provider: "json-feed",
  sport: "basketball",
  status: "in_progress",
  startTime: "2026-01-01T20:00:00.000Z",
  home: { name: "Herons", abbr: "HCH", score: 10 },
  away: { name: "Peaks", abbr: "SUM", score: 8 },
  period: 2,
  clock: "07:30",
  details: { possession: "HCH", fouls: { HCH: 3, SUM: 4 } },
};
