/**
 * Event fan-out shards (workers/rooms/fanout/): the Worker spreads sockets
 * over shards, every socket gets the same frames in the same order with the
 * same seq, replay with `since` works on any shard, a lost push or a
 * restarted shard loses and reorders nothing.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { EventRoom } from "../../workers/rooms/event-room.js";
import type { ShardDelivery, ShardReport } from "../../workers/rooms/fanout/shard-protocol.js";
import { forgetPlacements } from "../../workers/rooms/fanout/placement.js";
import { eventRoom, eventShard } from "../../workers/stubs.js";
import { BASE, randomId, sleep } from "./helpers.js";
import {
  anonToken,
  eventStats,
  envWith,
  openOnShard,
  openThroughWorker,
  signedPost,
  simulator,
  until,
  type Frame,
  type TestSocket,
} from "./socket-helpers.js";

const open: TestSocket[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) s.close();
  await simulator({ mode: "ok" });
});

/** A socket through the Worker's upgrade route (token, placement on a shard). */
async function connect(eventId: string, { capacity, since }: { capacity?: number; since?: number } = {}): Promise<TestSocket> {
  const params = new URLSearchParams({ token: await anonToken() });
  if (since !== undefined) params.set("since", String(since));
  const request = new Request(`${BASE}/ws/events/${eventId}?${params}`, { headers: { Upgrade: "websocket" } });
  const socket = await openThroughWorker(
    request,
    capacity === undefined ? env : envWith({ EVENT_SHARD_SOCKETS: String(capacity) }),
    "event_snapshot",
  );
  open.push(socket);
  return socket;
}

/** A socket straight on shard `index` (what the Worker hands over, without placement). */
async function connectToShard(eventId: string, index: number, since: number | null = null): Promise<TestSocket> {
  const socket = await openOnShard(eventShard(env, eventId, index), "event_snapshot", since);
  open.push(socket);
  return socket;
}

async function newGame() {
  const id = `evt-${randomId(8)}`;
  await simulator({
    create: {
      id,
      sport: "basketball",
      status: "in_progress",
      startTime: new Date(Date.now() - 600_000).toISOString(),
      home: { name: "Harbor City Herons", abbr: "HCH", score: 10 },
      away: { name: "Summit Peaks", abbr: "SUM", score: 8 },
      period: 2,
      clockSeconds: 300,
      auto: false,
    },
  });
  const cron = await signedPost("/api/internal/cron/run", { tasks: ["ingress"] });
  expect(cron.status).toBe(200);
  return id;
}

const helloOf = (s: TestSocket) => s.frames.find((f) => f.type === "hello")!;
const updates = (s: TestSocket) => s.frames.filter((f) => f.type === "event_update");
const scoreIs = (score: number) => (f: Frame) =>
  f.type === "event_update" && (f.changes as { home?: { score?: number } }).home?.score === score;

/** Sets the home score at the provider and waits until every socket has the update; returns it (from the first socket). */
async function score(id: string, value: number, sockets: TestSocket[]): Promise<Frame> {
  await simulator({ set: { id, home: { score: value } } });
  const frames = await Promise.all(sockets.map((s) => s.next(scoreIs(value), 8_000, `score ${value}`)));
  return frames[0]!;
}

describe("event fan-out shards", () => {
  it("the Worker spreads sockets over shards, at most EVENT_SHARD_SOCKETS each; N grows with the audience", async () => {
    const id = await newGame();
    const sockets: TestSocket[] = [];
    for (let i = 0; i < 5; i++) sockets.push(await connect(id, { capacity: 3 }));
    // a burst at once: the shards' cap holds whatever the estimates
    sockets.push(...(await Promise.all(Array.from({ length: 6 }, () => connect(id, { capacity: 3 })))));
    const perShard = new Map<number, number>();
    for (const s of sockets) {
      const shard = helloOf(s).shard as number;
      perShard.set(shard, (perShard.get(shard) ?? 0) + 1);
    }
    expect(
      [...perShard.values()].every((n) => n <= 3),
      JSON.stringify([...perShard]),
    ).toBe(true);
    expect(perShard.size).toBeGreaterThanOrEqual(4);
    expect(perShard.size).toBeLessThanOrEqual(5);
    for (const s of sockets) expect(helloOf(s)).toMatchObject({ room: { kind: "event", id }, eventId: id });

    // the room learns each shard's count (sync on the first socket, then every push's answer)
    await score(id, 11, sockets);
    const stats = await until(
      async () => {
        const s = await eventStats(id);
        return s.sockets === sockets.length ? s : undefined;
      },
      5_000,
      "the room to count every socket",
    );
    const shards = (stats as unknown as { shards: { index: number; sockets: number }[] }).shards;
    expect(new Map(shards.map((s) => [s.index, s.sockets]))).toEqual(perShard);
    expect(await eventRoom(env, id).viewerCount()).toBe(sockets.length);
  });

  it("the shard plan goes through the colo's cache: an isolate that fetched it leaves it there, a new one places from it", async () => {
    const id = await newGame();
    const first = await connect(id, { capacity: 3 });
    const key = `https://shard-plan.internal/${encodeURIComponent(id)}`;
    const cached = await caches.default.match(key);
    expect(cached, "the room's plan in the colo's cache").toBeDefined();
    expect(cached!.headers.get("Cache-Control")).toBe("max-age=1");
    expect(((await cached!.json()) as { shards: unknown[] }).shards).toEqual(expect.any(Array));

    // another isolate of the colo left a plan a moment ago: shard 0 full, shard 7 with room. A new
    // isolate places from it instead of asking the room (which knows only shard 0 with one socket).
    await caches.default.put(
      key,
      new Response(
        JSON.stringify({
          shards: [
            { index: 0, sockets: 3 },
            { index: 7, sockets: 0 },
          ],
        }),
        { headers: { "Cache-Control": "max-age=1" } },
      ),
    );
    forgetPlacements();
    const second = await connect(id, { capacity: 3 });
    expect(helloOf(first).shard).toBe(0);
    expect(helloOf(second).shard).toBe(7);
    // a malformed copy is ignored (the room is asked)
    await caches.default.put(key, new Response(JSON.stringify({ shards: "nope" }), { headers: { "Cache-Control": "max-age=1" } }));
    forgetPlacements();
    const third = await connect(id, { capacity: 3 });
    expect([0, 7]).toContain(helloOf(third).shard);
  });

  it("every socket on every shard gets the same frames, in the same order, with the same seq", async () => {
    const id = await newGame();
    const sockets = await Promise.all(Array.from({ length: 7 }, () => connect(id, { capacity: 2 })));
    expect(new Set(sockets.map((s) => helloOf(s).shard)).size).toBe(4);
    const snapshots = sockets.map((s) => s.frames.find((f) => f.type === "event_snapshot")!);
    for (const snap of snapshots) expect(snap.event).toEqual(snapshots[0]!.event);

    const firsts: Frame[] = [];
    for (let k = 1; k <= 5; k++) firsts.push(await score(id, 10 + k, sockets));
    await simulator({ set: { id, clock: "04:10", details: { possession: "SUM" } } });
    await Promise.all(sockets.map((s) => s.next((f) => f.type === "event_update" && (f.changes as { clock?: string }).clock === "04:10")));

    const reference = updates(sockets[0]!);
    expect(reference.length).toBe(6);
    // consecutive seqs: nothing else was logged in between, nothing skipped
    reference.forEach((f, i) => expect(f.seq).toBe(reference[0]!.seq + i));
    for (const s of sockets) expect(updates(s)).toEqual(reference); // same seq, same ts, same changes, same order
  });

  it("reconnect with since works on any shard: from the shard's own copy or from the room's log", async () => {
    const id = await newGame();
    const first = await connect(id, { capacity: 2 });
    const second = await connect(id, { capacity: 2 });
    const third = await connect(id, { capacity: 2 }); // a second shard
    const all = [first, second, third];
    expect(new Set(all.map((s) => helloOf(s).shard)).size).toBe(2);
    for (let k = 1; k <= 4; k++) await score(id, 20 + k, all);
    const original = updates(first);
    const since = original[0]!.seq - 1;

    // shard 0 and 1 replay from their own copies; shard 7 has never held a socket: from the room's log
    for (const index of [0, 1, 7]) {
      const again = await connectToShard(id, index, since);
      const hello = helloOf(again);
      const beforeHello = again.frames.slice(0, again.frames.indexOf(hello));
      expect(beforeHello, `shard ${index}`).toEqual(original);
      expect(hello).toMatchObject({ type: "hello", replayed: original.length, shard: index, seq: original.at(-1)!.seq });
      all.push(again);
    }
    // and through the Worker, wherever it places the socket
    const placed = await connect(id, { capacity: 2, since: original[1]!.seq });
    expect(placed.frames.slice(0, 2)).toEqual(original.slice(2));
    all.push(placed);

    // live frames follow the replay on every socket: no gap, no duplicate
    const live = await score(id, 99, all);
    for (const s of all) {
      const seqs = updates(s).map((f) => f.seq);
      expect(new Set(seqs).size).toBe(seqs.length);
      expect(seqs.at(-1)).toBe(live.seq);
      expect(seqs.at(-2)).toBe(live.seq - 1);
    }
  });

  it("a push the shard never got: the room pushes again, the shard fills the hole in order", async () => {
    const id = await newGame();
    const sockets = await Promise.all(Array.from({ length: 4 }, () => connect(id, { capacity: 2 })));
    await score(id, 30, sockets);
    const room = eventRoom(env, id);
    let lost = 0;
    // the room's next push to shard 1 is lost on the way (its stub answers without delivering)
    await runInDurableObject(room, (instance: EventRoom) => {
      const entry = (instance as unknown as { shards: { fanout: { shards: Map<number, { target: unknown }> } } }).shards.fanout.shards.get(
        1,
      )!;
      entry.target = {
        async deliver(delivery: ShardDelivery): Promise<ShardReport> {
          lost++;
          entry.target = null; // lost once; the next push takes a new stub
          return { index: 1, lastSeq: delivery.first - 1, sockets: 2, report: 0 };
        },
      };
    });
    const onShard1 = sockets.filter((s) => helloOf(s).shard === 1);
    expect(onShard1.length).toBe(2);
    await simulator({ set: { id, home: { score: 31 } } });
    await Promise.all(sockets.filter((s) => !onShard1.includes(s)).map((s) => s.next(scoreIs(31))));
    // either the room's resync (next poll) or the next push reveals the hole; the shard's sockets get 31 then 32
    await simulator({ set: { id, home: { score: 32 } } });
    await Promise.all(sockets.map((s) => s.next(scoreIs(32), 8_000, "score 32")));
    expect(lost).toBe(1);
    const reference = updates(sockets.find((s) => !onShard1.includes(s))!);
    for (const s of onShard1) expect(updates(s)).toEqual(reference);
  });

  it("a socket whose since is ahead of the shard it lands on (it came from a shard further along) gets nothing twice", async () => {
    const id = await newGame();
    const sockets = await Promise.all(Array.from({ length: 3 }, () => connect(id, { capacity: 2 })));
    await score(id, 35, sockets);
    // every push to shard 1 is lost until further notice: it stays behind
    const setTarget = (drop: boolean) =>
      runInDurableObject(eventRoom(env, id), (instance: EventRoom) => {
        const entry = (
          instance as unknown as { shards: { fanout: { shards: Map<number, { target: unknown }> } } }
        ).shards.fanout.shards.get(1)!;
        entry.target = drop
          ? {
              async deliver(delivery: ShardDelivery): Promise<ShardReport> {
                return { index: 1, lastSeq: delivery.first - 1, sockets: 1, report: 0 };
              },
            }
          : null;
      });
    await setTarget(true);
    const ahead = sockets.find((s) => helloOf(s).shard === 0)!;
    const behind = sockets.find((s) => helloOf(s).shard === 1)!;
    await simulator({ set: { id, home: { score: 36 } } });
    const seen = await ahead.next(scoreIs(36));
    await sleep(300);
    expect(updates(behind).at(-1)!.seq).toBe(seen.seq - 1);
    // a socket that saw seq k on shard 0 moves to shard 1, which is at k - 1: the shard catches up first
    const moved = await connectToShard(id, 1, seen.seq);
    expect(helloOf(moved)).toMatchObject({ replayed: 0, seq: seen.seq });
    expect(updates(behind).at(-1)!.seq).toBe(seen.seq); // its own socket got k on the way
    await setTarget(false);
    await score(id, 37, [moved, ...sockets]);
    expect(updates(moved).map((f) => f.seq)).toEqual([seen.seq + 1]);
    for (const s of sockets) expect(updates(s)).toEqual(updates(ahead));
  });

  it("a shard restarted: its sockets reconnect with since and miss nothing; the shard picks up the room's seq", async () => {
    const id = await newGame();
    const sockets = await Promise.all(Array.from({ length: 3 }, () => connect(id, { capacity: 2 })));
    await score(id, 40, sockets);
    const lost = sockets.filter((s) => helloOf(s).shard === 0);
    const kept = sockets.filter((s) => helloOf(s).shard !== 0);
    expect(lost.length).toBe(2);
    // restart shard 0: its memory and its sockets are gone, its storage stays
    await runInDurableObject(eventShard(env, id, 0), (_instance, state) => {
      setTimeout(() => {
        try {
          state.abort("test: shard restart");
        } catch {
          // abort throws by design
        }
      }, 5);
    });
    await Promise.all(lost.map((s) => s.closed));
    // updates while they are away
    await score(id, 41, kept);
    await score(id, 42, kept);
    const lastSeen = updates(lost[0]!).at(-1)!.seq;
    const back = await Promise.all(lost.map(() => connect(id, { capacity: 2, since: lastSeen })));
    for (const s of back) {
      const hello = helloOf(s);
      expect(s.frames.slice(0, s.frames.indexOf(hello))).toEqual(updates(kept[0]!).filter((f) => f.seq > lastSeen));
    }
    await score(id, 43, [...kept, ...back]);
    expect(updates(back[0]!).map((f) => f.seq)).toEqual(
      updates(kept[0]!)
        .filter((f) => f.seq > lastSeen)
        .map((f) => f.seq),
    );
    // a socket straight on the restarted shard is served from where the room is
    const onZero = await connectToShard(id, 0, lastSeen);
    expect(helloOf(onZero).seq).toBe(updates(kept[0]!).at(-1)!.seq);
    await score(id, 44, [onZero, ...kept]);
  });

  it("a socket that leaves is counted out; polling stops when the last socket of the last shard leaves", async () => {
    const id = await newGame();
    const sockets = await Promise.all(Array.from({ length: 3 }, () => connect(id, { capacity: 2 })));
    await score(id, 50, sockets);
    for (const s of sockets) s.close();
    await until(async () => ((await eventStats(id)).sockets === 0 ? true : undefined), 5_000, "no sockets");
    await until(async () => ((await eventStats(id)).polling ? undefined : true), 5_000, "polling to stop");
    // a new socket on a shard that had reported none starts polling again
    const back = await connect(id, { capacity: 2 });
    expect(helloOf(back).shard).toBeLessThanOrEqual(1);
    expect((await eventStats(id)).polling).toBe(true);
    await score(id, 51, [back]);
  });

  it("EVENT_SHARD_SOCKETS=0: sockets on the EventRoom itself, same frames", async () => {
    const id = await newGame();
    const direct = await connect(id, { capacity: 0 });
    const sharded = await connect(id);
    expect(helloOf(direct).shard).toBeUndefined();
    expect(helloOf(sharded).shard).toBe(0);
    await score(id, 60, [direct, sharded]);
    await sleep(100);
    expect(updates(direct)).toEqual(updates(sharded));
  });
});
