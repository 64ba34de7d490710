/**
 * Which fan-out shard takes a new event or stream socket (the Worker's
 * upgrade route, api/sockets.ts). docs/architecture.md, "Event fan-out
 * shards" (streams are placed the same way, "Stream fan-out shards").
 *
 * Each isolate keeps, per room, the room's shard plan (the shards it knows
 * and the sockets each last reported, asked again after PLAN_TTL_MS) and the
 * sockets it placed itself in the last RECENT_MS (a shard reports its count
 * with a delay). A shard's estimated load is the larger of the two. A new
 * socket goes to a shard with room left, chosen at random weighted by the
 * room left (many isolates with the same stale plan do not all pile onto the
 * same shard); when every known shard is full, to the next index: N grows
 * with the audience. The shard itself refuses a socket beyond the capacity
 * (503 + x-shard-full, checked in the turn that accepts), so the cap holds
 * whatever the estimates; the route then marks it full and picks again.
 *
 * The plan an isolate fetches is also kept in the colo's Cache API for
 * PLAN_TTL_MS, and read from there first: while an audience joins, every
 * isolate of every colo places sockets, and the room would otherwise answer
 * one plan request per isolate per PLAN_TTL_MS (the scale model,
 * bench/results/scale-model.md, puts its ~1,000 req/s limit at about 60,000
 * sockets joining in a minute); with the colo's copy it is about one per colo.
 */
import type { Env } from "../../env.js";
import { eventRoom, eventShard, streamRoom, streamShard } from "../../stubs.js";
import { CONNECT_HEADER, type ConnectRequest } from "../room.js";
import { chooseShard } from "./choose-shard.js";
import { SHARD_CAPACITY_HEADER, SHARD_FULL_HEADER, type ShardPlan } from "./shard-protocol.js";

const PLAN_TTL_MS = 1_000;
const RECENT_MS = 10_000;
/** a shard that refused a socket counts as full this long */
const FULL_MS = 5_000;
const ATTEMPTS = 4;
const ROOMS_KEPT = 1_000;

/** The rooms with fan-out shards. */
export type ShardedKind = "event" | "stream";
type ShardEnv = Pick<Env, "EVENT_ROOM" | "EVENT_SHARD" | "STREAM_ROOM" | "STREAM_SHARD">;

interface RoomPlacement {
  plan: Map<number, number>;
  fetchedAt: number;
  /** this isolate's placements per shard, times in ms */
  placed: Map<number, number[]>;
  fullUntil: Map<number, number>;
  /** upgrades on their way to each shard */
  pending: Map<number, number>;
  refreshing: Promise<void> | null;
}

/** Per isolate: what it knows about each room's shards, by `<kind>:<id>`. */
const rooms = new Map<string, RoomPlacement>();

function placementOf(kind: ShardedKind, id: string): RoomPlacement {
  const key = `${kind}:${id}`;
  let entry = rooms.get(key);
  if (entry === undefined) {
    if (rooms.size >= ROOMS_KEPT) {
      const oldest = rooms.keys().next().value;
      if (oldest !== undefined) rooms.delete(oldest);
    }
    entry = { plan: new Map(), fetchedAt: 0, placed: new Map(), fullUntil: new Map(), pending: new Map(), refreshing: null };
    rooms.set(key, entry);
  }
  return entry;
}

async function refreshPlan(
  env: ShardEnv,
  kind: ShardedKind,
  roomId: string,
  entry: RoomPlacement,
  now: number,
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<void> {
  if (now - entry.fetchedAt < PLAN_TTL_MS) return;
  if (!entry.refreshing) {
    entry.refreshing = startRefresh(env, kind, roomId, entry);
    // Other requests of this isolate await this one's fetch: keep it alive past its own request,
    // or the runtime cancels it with that request and they wait forever ("hung" errors).
    waitUntil(entry.refreshing);
  }
  await entry.refreshing;
}

function startRefresh(env: ShardEnv, kind: ShardedKind, roomId: string, entry: RoomPlacement): Promise<void> {
  return (async () => {
    try {
      const plan: ShardPlan = (await planFromColo(kind, roomId)) ?? (await planFromRoom(env, kind, roomId));
      entry.plan = new Map(plan.shards.map((s) => [s.index, s.sockets]));
    } catch (error) {
      // place on what this isolate knows; the shards still enforce their capacity
      console.warn(`${kind} ${roomId}: no shard plan from the room`, error);
    } finally {
      entry.fetchedAt = Date.now();
      entry.refreshing = null;
    }
  })();
}

/** Events' keys predate stream shards; streams' have their own path so an event and a stream of the same id never share one. */
const planKey = (kind: ShardedKind, id: string) =>
  `https://shard-plan.internal/${kind === "event" ? "" : `${kind}/`}${encodeURIComponent(id)}`;

/** The plan another isolate of this colo fetched less than PLAN_TTL_MS ago, if any. A failing cache is a miss. */
async function planFromColo(kind: ShardedKind, roomId: string): Promise<ShardPlan | undefined> {
  const hit = await caches.default.match(planKey(kind, roomId)).catch(() => undefined);
  if (hit === undefined) return undefined;
  const body: unknown = await hit.json().catch(() => null);
  return isPlan(body) ? body : undefined;
}

/** The room's plan, left in the colo's cache for the other isolates. */
async function planFromRoom(env: ShardEnv, kind: ShardedKind, roomId: string): Promise<ShardPlan> {
  const plan = kind === "event" ? await eventRoom(env, roomId).shardPlan() : await streamRoom(env, roomId).shardPlan();
  const copy = new Response(JSON.stringify(plan), {
    headers: { "Content-Type": "application/json", "Cache-Control": `max-age=${Math.max(1, Math.round(PLAN_TTL_MS / 1000))}` },
  });
  await caches.default
    .put(planKey(kind, roomId), copy)
    .catch((error: unknown) => console.warn(`${kind} ${roomId}: shard plan not cached`, error));
  return plan;
}

function isPlan(value: unknown): value is ShardPlan {
  if (value === null || typeof value !== "object" || !Array.isArray((value as ShardPlan).shards)) return false;
  return (value as ShardPlan).shards.every((s) => Number.isInteger(s?.index) && s.index >= 0 && Number.isFinite(s?.sockets));
}

/** Forgets what this isolate knows about every room's shards, as a new isolate of the same colo (tests). */
export function forgetPlacements(): void {
  rooms.clear();
}

/** index → estimated sockets: max(reported, placed here lately) + on their way, capacity while marked full. */
function estimates(entry: RoomPlacement, capacity: number, now: number): Map<number, number> {
  const out = new Map(entry.plan);
  for (const [index, times] of entry.placed) {
    while (times.length > 0 && now - times[0]! > RECENT_MS) times.shift();
    if (times.length === 0) entry.placed.delete(index);
    out.set(index, Math.max(out.get(index) ?? 0, times.length));
  }
  for (const [index, pending] of entry.pending) out.set(index, (out.get(index) ?? 0) + pending);
  for (const [index, until] of entry.fullUntil) {
    if (until <= now) entry.fullUntil.delete(index);
    else out.set(index, Math.max(out.get(index) ?? 0, capacity));
  }
  return out;
}

/**
 * Hands a WebSocket upgrade to a fan-out shard of room `roomId` (an event's
 * or a stream's) with room left (at most `capacity` sockets each): the
 * shard's 101, or its error.
 */
export async function upgradeOnShard(
  env: ShardEnv,
  kind: ShardedKind,
  roomId: string,
  connect: ConnectRequest,
  capacity: number,
  waitUntil: (promise: Promise<unknown>) => void,
) {
  const entry = placementOf(kind, roomId);
  let response: Response | null = null;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const now = Date.now();
    await refreshPlan(env, kind, roomId, entry, now, waitUntil);
    const index = chooseShard(estimates(entry, capacity, now), capacity);
    entry.pending.set(index, (entry.pending.get(index) ?? 0) + 1);
    try {
      const shard = kind === "event" ? eventShard(env, roomId, index) : streamShard(env, roomId, index);
      response = await shard.fetch(`https://rooms.internal/${kind}/${roomId}/${index}`, {
        headers: { Upgrade: "websocket", [CONNECT_HEADER]: JSON.stringify(connect), [SHARD_CAPACITY_HEADER]: String(capacity) },
      });
    } finally {
      const left = (entry.pending.get(index) ?? 1) - 1;
      if (left > 0) entry.pending.set(index, left);
      else entry.pending.delete(index);
    }
    if (response.status === 101) {
      const times = entry.placed.get(index) ?? [];
      times.push(Date.now());
      entry.placed.set(index, times);
      return response;
    }
    if (response.headers.get(SHARD_FULL_HEADER) === null) return response;
    entry.fullUntil.set(index, Date.now() + FULL_MS);
  }
  return response!;
}
