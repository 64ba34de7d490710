/**
 * GET /api/time → 200 { "now": <ms> }, Cache-Control: no-store.
 *
 * The server clock the players estimate their offset against (NTP style:
 * web/player/clock-offset.ts). EXT-X-PROGRAM-DATE-TIME is the wall clock of
 * capture at ingest, so "server time − target delay" is the program time
 * every viewer aims at. In Workers, Date.now() is the time the request
 * started (it only advances across I/O), which is the instant a time server
 * should report; the player bounds the error by half the round trip.
 */
import { Hono } from "hono";
import type { AppEnv } from "../env.js";

export const timeApi = new Hono<AppEnv>();

timeApi.get("/", (c) => c.json({ now: Date.now() }, 200, { "Cache-Control": "no-store" }));
