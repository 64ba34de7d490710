/**
 * Event provider simulator for development and tests: a Node HTTP server
 * speaking the generic JSON feed the Worker's adapter reads
 * (workers/events/json-feed-provider.ts):
 *
 *   GET /events?from=<iso>&to=<iso>   → [event, ...] (start time within the window)
 *   GET /events/<id>                  → event, 404 if unknown
 *   event = { id, sport, status: scheduled|in_progress|final, startTime,
 *             home: { name, abbr, score }, away: {...}, period, clock, details }
 *
 * A basketball game runs by itself: the clock every second, a score every few
 * seconds, four 12-minute periods, then final. Control endpoints for tests:
 *
 *   GET  /__control   → { mode, games, requests }
 *   POST /__control   JSON, any of:
 *     { mode: "ok"|"error"|"garbage"|"hang", event?, status?, garbage?: "text"|"shape"|"mixed" }
 *         feed failure mode, for every event or only `event` (error: HTTP
 *         `status`, default 500; garbage: not JSON / wrong shape; hang: never answers)
 *     { set: { id, ...fields } }      merge into a game (home/away/details merge deeply;
 *                                     clock as "MM:SS" or clockSeconds; auto: false stops its ticking)
 *     { create: { id, ...game } }     add or replace a game (auto: false by default)
 *     { remove: id }
 *     { applyOnNextPoll: { id, set: {...}, poller?: "edge"|"baseline"|"any" } }
 *         apply `set` at the moment the next GET /events/<id> from that poller
 *         arrives (header x-poller, default "edge"); used by the fan-out benchmark
 *     { reset: true }                 default games, mode ok
 *   Every answer carries appliedAt (ms) and the games as the feed shows them.
 *
 * Run alone: `npx tsx scripts/provider-simulator.ts` (PROVIDER_PORT, default 8090).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { pathToFileURL } from "node:url";
import type { EventStatus, FeedEvent } from "../common/event-feed.js";
import { seededRandom } from "../common/seeded-random.js";
import { exitWithParent } from "../origin/exit-with-parent.js";

export type SimStatus = EventStatus;
export type FailureMode = "ok" | "error" | "garbage" | "hang";

export interface SimTeam {
  name: string;
  abbr: string;
  score: number;
}

export interface SimGame {
  id: string;
  sport: string;
  status: SimStatus;
  startTime: string;
  home: SimTeam;
  away: SimTeam;
  period: number | string | null;
  clockSeconds: number | null;
  details: Record<string, unknown>;
  /** ticks by itself (clock every tick, a score every few ticks) */
  auto: boolean;
}

export interface SimulatorOptions {
  port?: number;
  host?: string;
  /** clock tick, ms (default 1000) */
  tickMs?: number;
  /** a score every this many ticks (default 4) */
  scoreEveryTicks?: number;
  /** games instead of the default ones */
  games?: SimGame[];
  seed?: number;
  log?: (message: string) => void;
}

export interface ControlCommand {
  mode?: FailureMode;
  event?: string;
  status?: number;
  garbage?: "text" | "shape" | "mixed";
  set?: Partial<Omit<SimGame, "home" | "away">> & { id: string; clock?: string; home?: Partial<SimTeam>; away?: Partial<SimTeam> };
  create?: Partial<SimGame> & { id: string; clock?: string };
  remove?: string;
  applyOnNextPoll?: { id: string; set: Record<string, unknown>; poller?: string };
  reset?: boolean;
}

export interface RequestCounts {
  list: number;
  event: number;
  failed: number;
  byPoller: Record<string, number>;
}

export interface ProviderSimulator {
  url: string;
  port: number;
  control(command: ControlCommand): { appliedAt: number; games: FeedEvent[] };
  /** Resolves with the time the armed change was applied (at the poll's arrival). */
  whenApplied(id: string): Promise<number>;
  /**
   * Resolves with the arrival time of `poller`'s first request for `id` that
   * saw the last applied change (the applying request included).
   */
  whenSeen(id: string, poller: string): Promise<number>;
  /** Arrival time of `poller`'s last request for `id` (epoch ms), if any. */
  lastPollAt(id: string, poller: string): number | undefined;
  game(id: string): FeedEvent | undefined;
  requests: RequestCounts;
  close(): Promise<void>;
}

const PERIOD_SECONDS = 12 * 60;
const PERIODS = 4;

function formatClock(seconds: number | null): string | null {
  if (seconds === null) return null;
  const s = Math.max(0, Math.round(seconds));
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

function parseClock(clock: string): number | null {
  const match = /^(\d{1,3}):(\d{2})$/.exec(clock);
  return match ? Number(match[1]) * 60 + Number(match[2]) : null;
}

export function toFeed(game: SimGame): FeedEvent {
  return {
    id: game.id,
    sport: game.sport,
    status: game.status,
    startTime: game.startTime,
    home: { ...game.home },
    away: { ...game.away },
    period: game.period,
    clock: formatClock(game.clockSeconds),
    details: structuredClone(game.details),
  };
}

export function defaultGames(now = Date.now()): SimGame[] {
  return [
    {
      id: "sim-live-1",
      sport: "basketball",
      status: "in_progress",
      startTime: new Date(now - 20 * 60_000).toISOString(),
      home: { name: "Harbor City Herons", abbr: "HCH", score: 38 },
      away: { name: "Summit Peaks", abbr: "SUM", score: 35 },
      period: 2,
      clockSeconds: 7 * 60 + 30,
      details: { possession: "HCH", fouls: { HCH: 4, SUM: 6 } },
      auto: true,
    },
    {
      id: "sim-upcoming-1",
      sport: "basketball",
      status: "scheduled",
      startTime: new Date(now + 2 * 3600_000).toISOString(),
      home: { name: "Riverside Rockets", abbr: "RIV", score: 0 },
      away: { name: "Lakeview Lynx", abbr: "LAK", score: 0 },
      period: null,
      clockSeconds: null,
      details: {},
      auto: true,
    },
    {
      id: "sim-final-1",
      sport: "basketball",
      status: "final",
      startTime: new Date(now - 20 * 3600_000).toISOString(),
      home: { name: "Canyon Coyotes", abbr: "CAN", score: 101 },
      away: { name: "Prairie Pumas", abbr: "PRA", score: 97 },
      period: 4,
      clockSeconds: 0,
      details: {},
      auto: false,
    },
  ];
}

function completeGame(partial: Partial<SimGame> & { id: string }): SimGame {
  return {
    sport: "basketball",
    status: "in_progress",
    startTime: new Date().toISOString(),
    home: { name: "Home", abbr: "HOM", score: 0 },
    away: { name: "Away", abbr: "AWY", score: 0 },
    period: 1,
    clockSeconds: PERIOD_SECONDS,
    details: {},
    auto: false,
    ...partial,
  } as SimGame;
}

function mergeInto(game: SimGame, set: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(set)) {
    if (key === "id") continue;
    if (key === "clock") {
      game.clockSeconds = typeof value === "string" ? parseClock(value) : null;
    } else if ((key === "home" || key === "away") && value && typeof value === "object") {
      game[key] = { ...game[key], ...(value as Partial<SimTeam>) };
    } else if (key === "details" && value && typeof value === "object") {
      game.details = { ...game.details, ...(value as Record<string, unknown>) };
    } else {
      (game as unknown as Record<string, unknown>)[key] = value;
    }
  }
}

export async function startProviderSimulator(options: SimulatorOptions = {}): Promise<ProviderSimulator> {
  const log = options.log ?? (() => {});
  const tickMs = options.tickMs ?? 1_000;
  const scoreEvery = Math.max(1, options.scoreEveryTicks ?? 4);
  const random = seededRandom(options.seed ?? 42);
  const games = new Map<string, SimGame>();
  const reset = () => {
    games.clear();
    for (const game of options.games ?? defaultGames()) games.set(game.id, structuredClone(game));
  };
  reset();

  let mode: FailureMode = "ok";
  let errorStatus = 500;
  let garbage: "text" | "shape" | "mixed" = "mixed";
  const eventModes = new Map<string, { mode: FailureMode; status: number }>();
  const armed = new Map<string, { set: Record<string, unknown>; poller: string }>();
  const applied = new Map<string, number>();
  const appliedWaiters = new Map<string, ((at: number) => void)[]>();
  // per event: poller → arrival of its first request after the last applied change
  const seen = new Map<string, Map<string, number>>();
  const seenWaiters = new Map<string, ((at: number) => void)[]>();
  const lastPoll = new Map<string, number>();
  const requests: RequestCounts = { list: 0, event: 0, failed: 0, byPoller: {} };
  const hanging = new Set<ServerResponse>();
  const sockets = new Set<Socket>();
  let garbageToggle = 0;
  let ticks = 0;

  const tick = () => {
    ticks++;
    for (const game of games.values()) {
      if (!game.auto || game.status !== "in_progress") continue;
      if (game.clockSeconds === null) game.clockSeconds = PERIOD_SECONDS;
      game.clockSeconds = Math.max(0, game.clockSeconds - tickMs / 1000);
      if (ticks % scoreEvery === 0) {
        const team = random() < 0.5 ? game.home : game.away;
        const points = 1 + Math.floor(random() * 3);
        team.score += points;
        game.details = {
          ...game.details,
          possession: team === game.home ? game.away.abbr : game.home.abbr,
          lastPlay: `${team.abbr} +${points}`,
        };
      }
      if (game.clockSeconds <= 0) {
        const period = typeof game.period === "number" ? game.period : 1;
        if (period >= PERIODS) {
          game.status = "final";
          game.auto = false;
        } else {
          game.period = period + 1;
          game.clockSeconds = PERIOD_SECONDS;
        }
      }
    }
  };
  const timer = setInterval(tick, tickMs);
  timer.unref();

  const control = (command: ControlCommand) => {
    if (command.reset) {
      reset();
      mode = "ok";
      eventModes.clear();
      armed.clear();
    }
    if (command.mode !== undefined) {
      if (command.event !== undefined) {
        if (command.mode === "ok") eventModes.delete(command.event);
        else eventModes.set(command.event, { mode: command.mode, status: command.status ?? 500 });
      } else {
        mode = command.mode;
        errorStatus = command.status ?? 500;
        if (command.mode === "ok") eventModes.clear();
      }
      if (command.mode === "ok") {
        for (const res of hanging) res.destroy();
        hanging.clear();
      }
    }
    if (command.garbage !== undefined) garbage = command.garbage;
    if (command.create !== undefined) {
      const game = completeGame({ id: command.create.id });
      mergeInto(game, structuredClone(command.create) as Record<string, unknown>);
      games.set(game.id, game);
    }
    if (command.set !== undefined) {
      const game = games.get(command.set.id);
      if (game === undefined) throw new Error(`unknown game ${command.set.id}`);
      mergeInto(game, command.set as Record<string, unknown>);
    }
    if (command.remove !== undefined) games.delete(command.remove);
    if (command.applyOnNextPoll !== undefined) {
      const { id, set, poller = "edge" } = command.applyOnNextPoll;
      if (!games.has(id)) throw new Error(`unknown game ${id}`);
      applied.delete(id);
      seen.delete(id);
      armed.set(id, { set, poller });
    }
    return { appliedAt: Date.now(), games: [...games.values()].map(toFeed) };
  };

  const whenApplied = (id: string) =>
    new Promise<number>((resolveApplied) => {
      const at = applied.get(id);
      if (at !== undefined) return resolveApplied(at);
      const list = appliedWaiters.get(id) ?? [];
      list.push(resolveApplied);
      appliedWaiters.set(id, list);
    });

  const whenSeen = (id: string, poller: string) =>
    new Promise<number>((resolveSeen) => {
      const at = seen.get(id)?.get(poller);
      if (at !== undefined) return resolveSeen(at);
      const key = `${id}\u0000${poller}`;
      const list = seenWaiters.get(key) ?? [];
      list.push(resolveSeen);
      seenWaiters.set(key, list);
    });

  const send = (res: ServerResponse, status: number, body: unknown) => {
    const text = typeof body === "string" ? body : JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", "content-length": Buffer.byteLength(text) });
    res.end(text);
  };

  /** Answers per the failure mode; true when it answered (the feed is "down"). */
  const failIfDown = (res: ServerResponse, eventId: string | null): boolean => {
    const scoped = eventId !== null ? eventModes.get(eventId) : undefined;
    const current = scoped?.mode ?? mode;
    const status = scoped?.status ?? errorStatus;
    if (current === "ok") return false;
    requests.failed++;
    if (current === "error") send(res, status, { error: "simulated provider failure" });
    else if (current === "hang") hanging.add(res);
    else {
      const variant = garbage === "mixed" ? (garbageToggle++ % 2 === 0 ? "text" : "shape") : garbage;
      if (variant === "text") send(res, 200, "<<< this is not JSON >>>");
      else send(res, 200, { id: eventId ?? 7, status: "exploded", home: "nobody", startTime: "yesterday-ish" });
    }
    return true;
  };

  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolveBody, reject) => {
      let data = "";
      req.setEncoding("utf8");
      req.on("data", (chunk: string) => {
        data += chunk;
        if (data.length > 1_000_000) reject(new Error("body too large"));
      });
      req.on("end", () => resolveBody(data));
      req.on("error", reject);
    });

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://simulator.local");
    try {
      if (url.pathname === "/__control") {
        if (req.method === "GET") return send(res, 200, { mode, games: [...games.values()].map(toFeed), requests });
        if (req.method !== "POST") return send(res, 405, { error: "GET or POST" });
        const command = JSON.parse((await readBody(req)) || "{}") as ControlCommand;
        return send(res, 200, { ok: true, ...control(command) });
      }
      if (req.method !== "GET") return send(res, 405, { error: "GET only" });
      if (url.pathname === "/events") {
        requests.list++;
        if (failIfDown(res, null)) return;
        const from = Date.parse(url.searchParams.get("from") ?? "");
        const to = Date.parse(url.searchParams.get("to") ?? "");
        const list = [...games.values()]
          .filter((g) => {
            const start = Date.parse(g.startTime);
            return (Number.isNaN(from) || start >= from) && (Number.isNaN(to) || start <= to);
          })
          .map(toFeed);
        return send(res, 200, list);
      }
      const match = /^\/events\/([^/]+)$/.exec(url.pathname);
      if (match) {
        const arrivedAt = performance.timeOrigin + performance.now();
        const id = decodeURIComponent(match[1]!);
        const poller = String(req.headers["x-poller"] ?? "edge");
        lastPoll.set(`${id}\u0000${poller}`, arrivedAt);
        requests.event++;
        requests.byPoller[poller] = (requests.byPoller[poller] ?? 0) + 1;
        const pending = armed.get(id);
        if (pending !== undefined && (pending.poller === "any" || pending.poller === poller)) {
          armed.delete(id);
          const game = games.get(id);
          if (game !== undefined) mergeInto(game, pending.set);
          // epoch ms with sub-millisecond resolution (the fan-out benchmark measures from here)
          const at = arrivedAt;
          applied.set(id, at);
          seen.set(id, new Map());
          for (const waiter of appliedWaiters.get(id) ?? []) waiter(at);
          appliedWaiters.delete(id);
        }
        const seenBy = seen.get(id);
        if (seenBy !== undefined && !seenBy.has(poller)) {
          seenBy.set(poller, arrivedAt);
          const key = `${id}\u0000${poller}`;
          for (const waiter of seenWaiters.get(key) ?? []) waiter(arrivedAt);
          seenWaiters.delete(key);
        }
        if (failIfDown(res, id)) return;
        const game = games.get(id);
        if (game === undefined) return send(res, 404, { error: "unknown event" });
        return send(res, 200, toFeed(game));
      }
      return send(res, 404, { error: "not found" });
    } catch (error) {
      log(`simulator: ${(error as Error).message}`);
      if (!res.headersSent) send(res, 400, { error: (error as Error).message });
    }
  });
  server.keepAliveTimeout = 5_000;
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  await new Promise<void>((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolveListen());
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  log(`provider simulator on ${url}`);

  return {
    url,
    port,
    control,
    whenApplied,
    whenSeen,
    lastPollAt: (id, poller) => lastPoll.get(`${id}\u0000${poller}`),
    game: (id) => {
      const game = games.get(id);
      return game === undefined ? undefined : toFeed(game);
    },
    requests,
    close: () =>
      new Promise<void>((resolveClose) => {
        clearInterval(timer);
        for (const res of hanging) res.destroy();
        for (const socket of sockets) socket.destroy();
        server.close(() => resolveClose());
      }),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const port = Number(process.env.PROVIDER_PORT ?? 8090);
  const simulator = await startProviderSimulator({ port, log: (m) => console.log(m) });
  console.log(`  events:  ${simulator.url}/events?from=...&to=...   ${simulator.url}/events/sim-live-1`);
  console.log(`  control: POST ${simulator.url}/__control  (see the header of scripts/provider-simulator.ts)`);
  const stop = async () => {
    await simulator.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
  exitWithParent(() => void stop());
}
