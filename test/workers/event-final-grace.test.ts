/**
 * A provider that says `final` for a few seconds and then
 * `in_progress` again left the event room silent for good (late joiners got
 * the stale final, the cron did not revive it). A final now counts only once
 * it has held EVENT_FINAL_GRACE_MS (60 s here, as in wrangler.toml; tests
 * that need it shorter give one room a shorter grace), and a confirmed final
 * is asked again when a socket joins or the cron's monitor calls.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { EventRoom } from "../../workers/rooms/event-room.js";
import { eventRoom } from "../../workers/stubs.js";
import { edge, randomId, sleep } from "./helpers.js";
import { eventStats, openSocket, signedPost, simulator, until, type Frame, type TestSocket } from "./socket-helpers.js";

const open: TestSocket[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) s.close();
  await simulator({ mode: "ok" });
});

async function join(eventId: string) {
  const socket = await openSocket(`/ws/events/${eventId}`);
  open.push(socket);
  await socket.next((f) => f.type === "event_snapshot");
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
      period: 4,
      clockSeconds: 5,
      auto: false,
    },
  });
  const cron = await signedPost("/api/internal/cron/run", { tasks: ["ingress"] });
  expect(cron.status).toBe(200);
  return id;
}

/** This room only: another EVENT_FINAL_GRACE_MS (its env object; parseConfig reads each env object once). */
async function setGrace(eventId: string, ms: number) {
  await runInDurableObject(eventRoom(env, eventId), (instance: EventRoom) => {
    const room = instance as unknown as { env: Env };
    room.env = { ...room.env, EVENT_FINAL_GRACE_MS: String(ms) } as Env;
  });
}

const statusIs = (status: string) => (f: Frame) => f.type === "event_update" && (f.changes as { status?: string }).status === status;
const snapshotOf = (s: TestSocket) => s.frames.find((f) => f.type === "event_snapshot")!.event;

describe("a transient final does not freeze the event room", () => {
  it("final for 3 s, then in_progress again: the room keeps polling and publishing, late joiners get the live score", async () => {
    const id = await newGame();
    const socket = await join(id);
    await simulator({ set: { id, status: "final" } });
    await socket.next(statusIs("final"), 5_000, "final");
    await sleep(3_000);
    const during = await eventStats(id);
    expect(during.polling).toBe(true); // the final is not confirmed yet (grace 60 s)
    await simulator({ set: { id, status: "in_progress", home: { score: 12 } } });
    const back = await socket.next(statusIs("in_progress"), 5_000, "in_progress again");
    expect(back.changes).toMatchObject({ status: "in_progress", home: { score: 12 } });
    const late = await join(id);
    expect(snapshotOf(late)).toMatchObject({ status: "in_progress", home: { score: 12 } });
    expect((await eventStats(id)).polling).toBe(true);
    // and it goes on
    await simulator({ set: { id, home: { score: 14 } } });
    await late.next((f) => f.type === "event_update" && (f.changes as { home?: { score?: number } }).home?.score === 14);
  });

  it("a final that holds for the grace period stops polling", async () => {
    const id = await newGame();
    const socket = await join(id);
    await setGrace(id, 1_000);
    await simulator({ set: { id, status: "final", home: { score: 20 } } });
    await socket.next(statusIs("final"));
    expect((await eventStats(id)).polling).toBe(true);
    await until(async () => ((await eventStats(id)).polling ? undefined : true), 5_000, "polling to stop");
    const polls = (await eventStats(id)).feed.polls;
    await sleep(800);
    expect((await eventStats(id)).feed.polls).toBe(polls);
  });

  it("a confirmed final the provider takes back: the cron's monitor revives the room", async () => {
    const id = await newGame();
    const socket = await join(id);
    await setGrace(id, 500);
    await simulator({ set: { id, status: "final" } });
    await socket.next(statusIs("final"));
    await until(async () => ((await eventStats(id)).polling ? undefined : true), 5_000, "polling to stop");
    expect(((await (await edge(`/api/events/${id}`)).json()) as { status: string }).status).toBe("final");

    await simulator({ set: { id, status: "in_progress", home: { score: 30 } } });
    await sleep(600); // the room asks a confirmed final again at most once per grace period
    // ingress sees the provider's list say in_progress, the monitor asks the room, the room asks the provider
    const report = (await (await signedPost("/api/internal/cron/run", {})).json()) as { monitor: { ensured: number } };
    expect(report.monitor.ensured).toBeGreaterThanOrEqual(1);
    const back = await socket.next(statusIs("in_progress"), 5_000, "in_progress after the cron");
    expect(back.changes).toMatchObject({ status: "in_progress", home: { score: 30 } });
    expect((await eventStats(id)).polling).toBe(true);
  });

  it("a confirmed final the provider takes back: a late joiner makes the room ask again and gets the live score", async () => {
    const id = await newGame();
    const first = await join(id);
    await setGrace(id, 500);
    await simulator({ set: { id, status: "final" } });
    await first.next(statusIs("final"));
    await until(async () => ((await eventStats(id)).polling ? undefined : true), 5_000, "polling to stop");
    await simulator({ set: { id, status: "in_progress", home: { score: 33 } } });
    await sleep(2_100); // past the grace, and past the shard's own snapshot freshness (2 s)
    const late = await join(id);
    expect(snapshotOf(late)).toMatchObject({ status: "in_progress", home: { score: 33 } });
    expect((await first.next(statusIs("in_progress"))).changes).toMatchObject({ home: { score: 33 } });
    expect((await eventStats(id)).polling).toBe(true);
  });
});
