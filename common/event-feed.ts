/**
 * The generic JSON event feed: what a provider serves (`GET /events`,
 * `GET /events/<id>`) and the Worker's adapter validates
 * (workers/events/json-feed-provider.ts). The provider simulator
 * (scripts/provider-simulator.ts) serves exactly this type.
 */
import { z } from "zod";
import { ID_PATTERN } from "./ids.js";

export const EVENT_STATUSES = ["scheduled", "in_progress", "final"] as const;
export type EventStatus = (typeof EVENT_STATUSES)[number];

/** Largest `details` object kept (JSON characters); bigger answers are malformed. */
const MAX_DETAILS_JSON = 4096;

const FeedTeam = z.object({
  name: z.string().trim().min(1).max(100),
  abbr: z.string().trim().min(1).max(10),
  score: z.number().int().min(0).max(1_000_000),
});

export const FeedEventSchema = z.object({
  id: z.string().regex(ID_PATTERN),
  sport: z.string().trim().min(1).max(40),
  status: z.enum(EVENT_STATUSES),
  startTime: z.string().datetime({ offset: true }),
  home: FeedTeam,
  away: FeedTeam,
  period: z
    .union([z.number().int().min(0).max(1000), z.string().max(20)])
    .nullable()
    .optional(),
  clock: z.string().max(20).nullable().optional(),
  details: z
    .record(z.unknown())
    .nullable()
    .optional()
    .refine((d) => d == null || JSON.stringify(d).length <= MAX_DETAILS_JSON, `details larger than ${MAX_DETAILS_JSON} characters`),
});

export type FeedEvent = z.infer<typeof FeedEventSchema>;
