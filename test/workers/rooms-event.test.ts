import { createExecutionContext, createScheduledController, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import worker from "../../workers/index.js";
import type { EventRoom } from "../../workers/rooms/event-room.js";
import { eventRoom } from "../../workers/stubs.js";
import { edge, errorCode, randomId, sleep } from "./helpers.js";
import { createStreamRow, eventStats, openSocket, signedPost, simulator, until, type Frame, type TestSocket } from "./socket-helpers.js";

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

/** A game in the simulator (not ticking by itself), ingested into D1 through the signed cron route. */
async function newGame(fields: Record<string, unknown> = {}) {
  const id = `evt-${randomId(8)}`;
  await simulator({
    create: {
      id,
      sport: "basketball",
      status: "in_progress",
      startTime: new Date(Date.now() - 600_000).toISOString(),
      home: { name: "Harbor City Herons", abbr: "HCH", score: 10 },
      away: { name: "Summit Peaks", abbr: "SUM", score: 8 },
      period: 1,
      clockSeconds: 600,
      details: { possession: "HCH" },
      auto: false,
      ...fields,
    },
  });
  const cron = await signedPost("/api/internal/cron/run", { tasks: ["ingress"] });
  expect(cron.status).toBe(200);
  return id;
}

const updates = (s: TestSocket) => s.frames.filter((f) => f.type === "event_update");

describe("cron: event ingress and the live monitor", () => {
  it("ingress stores events within ±24 h; GET /api/events filters by status", async () => {
    const live = await newGame();
    const later = `evt-${randomId(8)}`;
    await simulator({ create: { id: later, status: "scheduled", startTime: new Date(Date.now() + 3600_000).toISOString() } });
    const far = `evt-${randomId(8)}`;
    await simulator({ create: { id: far, status: "scheduled", startTime: new Date(Date.now() + 3 * 86_400_000).toISOString() } });
    const report = (await (await signedPost("/api/internal/cron/run", {})).json()) as {
      ingress: { upserted: number };
      monitor: { ensured: number };
    };
    expect(report.ingress.upserted).toBeGreaterThanOrEqual(2);
    expect(report.monitor.ensured).toBeGreaterThanOrEqual(1);

    const inProgress = (await (await edge("/api/events?status=in_progress")).json()) as {
      events: { eventId: string; home: { score: number } }[];
    };
    expect(inProgress.events.find((e) => e.eventId === live)).toMatchObject({ home: { score: 10 } });
    const scheduled = (await (await edge("/api/events?status=scheduled")).json()) as { events: { eventId: string }[] };
    expect(scheduled.events.map((e) => e.eventId)).toContain(later);
    expect(scheduled.events.map((e) => e.eventId)).not.toContain(far);
    expect(scheduled.events.map((e) => e.eventId)).not.toContain(live);
    expect((await edge("/api/events?status=paused")).status).toBe(400);
    expect((await edge(`/api/events/${live}`)).status).toBe(200);
    expect(await errorCode(await edge(`/api/events/nope-${randomId(5)}`))).toBe("unknown_event");

    // the monitor made the in-progress event's room poll
    expect((await eventStats(live)).polling).toBe(true);
    expect((await edge("/api/internal/cron/run", { method: "POST", body: "{}" })).status).toBe(401);
  });

  it("the scheduled handler runs ingress on the 10-minute cron", async () => {
    const id = `evt-${randomId(8)}`;
    await simulator({ create: { id, status: "scheduled", startTime: new Date(Date.now() + 7200_000).toISOString() } });
    const ctx = createExecutionContext();
    await worker.scheduled!(createScheduledController({ cron: "*/10 * * * *", scheduledTime: Date.now() }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect((await edge(`/api/events/${id}`)).status).toBe(200);
  });
});

describe("EventRoom", () => {
  it("snapshot on join; every socket gets the same event_update (only what changed) in the same order", async () => {
    const id = await newGame();
    const sockets = await Promise.all(Array.from({ length: 10 }, () => join(id)));
    const snapshot = sockets[0]!.frames.find((f) => f.type === "event_snapshot")!;
    expect(snapshot.event).toMatchObject({ eventId: id, status: "in_progress", home: { score: 10 }, away: { score: 8 }, clock: "10:00" });

    await simulator({ set: { id, home: { score: 12 } } });
    const first = await sockets[0]!.next(
      (f) => f.type === "event_update" && (f.changes as { home?: { score?: number } }).home?.score === 12,
    );
    expect(first.changes).toEqual({ home: { score: 12 } });
    await simulator({ set: { id, clock: "09:41", details: { possession: "SUM" } } });
    const second = await sockets[0]!.next((f) => f.type === "event_update" && (f.changes as { clock?: string }).clock === "09:41");
    expect(second.changes).toEqual({ clock: "09:41", details: { possession: "SUM" } });
    expect(second.seq).toBe(first.seq + 1);
    for (const s of sockets) {
      await s.next((f) => f.seq === second.seq);
      expect(updates(s).map((f) => [f.seq, f.changes])).toEqual(updates(sockets[0]!).map((f) => [f.seq, f.changes]));
    }
    // a late joiner gets the current state
    const late = await join(id);
    expect(late.frames.find((f) => f.type === "event_snapshot")!.event).toMatchObject({ home: { score: 12 }, clock: "09:41" });
    // event rooms take no client frames but `snapshot`
    late.send({ type: "chat", text: "hi", ref: "x" });
    expect((await late.next((f) => f.ref === "x")).code).toBe("unknown_type");
  });

  it("provider outage and garbage: last good state kept, counted, backoff, recovery", async () => {
    const id = await newGame();
    const socket = await join(id);
    await simulator({ mode: "error", event: id });
    await until(async () => ((await eventStats(id)).feed.failures >= 2 ? true : undefined), 8_000, "failures");
    await simulator({ mode: "garbage", event: id });
    await until(async () => ((await eventStats(id)).feed.malformed >= 1 ? true : undefined), 8_000, "malformed answers");
    await simulator({ mode: "hang", event: id });
    await until(async () => ((await eventStats(id)).feed.lastError?.startsWith("timeout") ? true : undefined), 8_000, "a timeout");
    const during = await eventStats(id);
    expect(during.event).toMatchObject({ home: { score: 10 } });
    expect(updates(socket).length).toBe(0);
    socket.send({ type: "snapshot" });
    const snap = await socket.next((f) => f.type === "event_snapshot" && (f.feed as { ok: boolean }).ok === false);
    expect(snap.event).toMatchObject({ home: { score: 10 } });

    await simulator({ mode: "ok", event: id });
    await simulator({ set: { id, home: { score: 13 } } });
    const recovered = await socket.next((f) => f.type === "event_update", 8_000, "the update after recovery");
    expect(recovered.changes).toEqual({ home: { score: 13 } });
    await until(async () => ((await eventStats(id)).feed.failures === 0 ? true : undefined));
  });

  it("final: the last update is broadcast, then polling stops once the final has held (EVENT_FINAL_GRACE_MS)", async () => {
    const id = await newGame();
    const socket = await join(id);
    // this room's grace only (60 s by default; event-final-grace.test.ts has the rest of it)
    await runInDurableObject(eventRoom(env, id), (instance: EventRoom) => {
      const room = instance as unknown as { env: Env };
      room.env = { ...room.env, EVENT_FINAL_GRACE_MS: "500" } as Env;
    });
    await simulator({ set: { id, status: "final", clock: "00:00", home: { score: 99 } } });
    const last = await socket.next((f) => f.type === "event_update");
    expect(last.changes).toMatchObject({ status: "final", home: { score: 99 } });
    await until(async () => ((await eventStats(id)).polling ? undefined : true), 5_000, "polling to stop");
    const polls = (await eventStats(id)).feed.polls;
    await sleep(800);
    expect((await eventStats(id)).feed.polls).toBe(polls);
    const row = (await (await edge(`/api/events/${id}`)).json()) as { status: string; home: { score: number } };
    expect(row).toMatchObject({ status: "final", home: { score: 99 } });
  });

  it("stops polling when nobody needs it, resumes when a socket joins", async () => {
    const id = await newGame();
    const socket = await join(id);
    socket.close();
    await until(async () => ((await eventStats(id)).polling ? undefined : true), 5_000, "polling to stop");
    await simulator({ set: { id, away: { score: 20 } } });
    const back = await join(id);
    expect(back.frames.find((f) => f.type === "event_snapshot")!.event).toMatchObject({ away: { score: 20 } });
    expect((await eventStats(id)).polling).toBe(true);
  });

  it("updates of a stream's event are recorded into that stream's log", async () => {
    const id = await newGame();
    const { streamId } = await createStreamRow({ status: "live", eventId: id, startedAt: Date.now() - 5_000 });
    const chat = await openSocket(`/ws/streams/${streamId}`);
    open.push(chat);
    await chat.next((f) => f.type === "hello");
    await join(id);
    await simulator({ set: { id, home: { score: 15 } } });
    const recorded = await chat.next(
      (f) => f.type === "event_update" && (f.changes as { home?: { score?: number } }).home?.score === 15,
      8_000,
      "event update in the stream room",
    );
    expect(recorded).toMatchObject({ eventId: id, changes: { home: { score: 15 } } });
    expect(recorded.offsetMs as number).toBeGreaterThanOrEqual(5_000);
    const log = (await (await edge(`/api/streams/${streamId}/log?from=0&to=600000`)).json()) as { frames: Frame[] };
    expect(log.frames.some((f) => f.type === "event_update" && f.seq === recorded.seq)).toBe(true);
  });
});

describe("replay log API", () => {
  it("validates the window (≤ 10 min), returns frames in order, caches once ended", async () => {
    const { streamId } = await createStreamRow({ status: "live", startedAt: Date.now() - 1_000 });
    const socket = await openSocket(`/ws/streams/${streamId}`);
    open.push(socket);
    await socket.next((f) => f.type === "hello");
    for (let i = 0; i < 5; i++) {
      socket.send({ type: "chat", text: `log ${i}`, ref: `l${i}` });
      await socket.next((f) => f.ref === `l${i}`);
    }
    for (const bad of ["", "?from=0", "?from=0&to=600001", "?from=10&to=5", "?from=a&to=b", "?from=0&to=0"]) {
      const res = await edge(`/api/streams/${streamId}/log${bad}`);
      expect(res.status, bad).toBe(400);
      expect(await errorCode(res)).toBe("bad_window");
    }
    expect((await edge(`/api/streams/${randomId()}/log?from=0&to=1000`)).status).toBe(404);

    const live = await edge(`/api/streams/${streamId}/log?from=0&to=600000`);
    expect(live.status).toBe(200);
    expect(live.headers.get("Cache-Control")).toBe("no-store");
    const body = (await live.json()) as { frames: Frame[]; ended: boolean; startedAt: number };
    expect(body.ended).toBe(false);
    const texts = body.frames.filter((f) => f.type === "chat").map((f) => f.text);
    expect(texts).toEqual(["log 0", "log 1", "log 2", "log 3", "log 4"]);
    const seqs = body.frames.map((f) => f.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    for (const f of body.frames) expect(f.offsetMs as number).toBeGreaterThanOrEqual(0);
    // an empty window
    const empty = (await (await edge(`/api/streams/${streamId}/log?from=-600000&to=-1`)).json()) as { frames: Frame[] };
    expect(empty.frames).toEqual([]);

    const ended = await signedPost(`/api/internal/streams/${streamId}/system`, { event: "stream_ended" });
    expect(ended.status).toBe(200);
    const first = await edge(`/api/streams/${streamId}/log?from=0&to=600000`);
    expect(first.headers.get("Cache-Control")).toBe("public, max-age=86400");
    const firstBody = (await first.json()) as { frames: Frame[]; ended: boolean };
    expect(firstBody.ended).toBe(true);
    expect(firstBody.frames.at(-1)).toMatchObject({ type: "system", event: "stream_ended" });
    const second = await edge(`/api/streams/${streamId}/log?from=0&to=600000`);
    expect(second.headers.get("X-Cache-Tier")).toBe("edge-hit");
    expect(await second.json()).toEqual(firstBody);
  });
});
