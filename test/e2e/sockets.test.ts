/**
 * Sockets end to end: real `ws` clients against the local stack (wrangler dev
 * with the Worker, StreamRoom and EventRoom Durable Objects, D1) and the event
 * provider simulator the Worker polls.
 */
import { afterEach, describe, expect, inject, it } from "vitest";
import WebSocket from "ws";
import { signRequest } from "../../common/signing.js";
import { eventually, sleep } from "./helpers.js";

interface Frame {
  type: string;
  seq: number;
  ts: number;
  [key: string]: unknown;
}

class Client {
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly listeners = new Set<() => void>();

  constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      this.frames.push(JSON.parse(String(data)) as Frame);
      for (const l of this.listeners) l();
    });
    this.closed = new Promise((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: String(reason) })));
  }

  send(frame: unknown) {
    this.ws.send(JSON.stringify(frame));
  }

  next(match: (f: Frame) => boolean, timeoutMs = 10_000, what = "a frame"): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const found = this.frames.find(match);
      if (found) return resolve(found);
      const listener = () => {
        const hit = this.frames.find(match);
        if (hit) {
          this.listeners.delete(listener);
          clearTimeout(timer);
          resolve(hit);
        }
      };
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`timed out waiting for ${what}; last frames ${JSON.stringify(this.frames.slice(-3))}`));
      }, timeoutMs);
      this.listeners.add(listener);
    });
  }

  close() {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }
}

const edge = () => inject("edgeUrl");
const wsBase = () => edge().replace(/^http/, "ws");
const clients: Client[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await control({ mode: "ok" });
});

async function anonToken(): Promise<string> {
  const res = await fetch(`${edge()}/api/session/anonymous`, { method: "POST" });
  if (res.status !== 201) throw new Error(`anonymous session: ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}

async function broadcasterToken(): Promise<string> {
  const res = await fetch(`${edge()}/api/session`, { method: "POST", headers: { authorization: `Bearer ${inject("apiKey")}` } });
  return ((await res.json()) as { token: string }).token;
}

function connect(path: string, token: string, query = "", headers: Record<string, string> = {}): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${wsBase()}${path}?token=${encodeURIComponent(token)}${query}`, { headers });
    const client = new Client(ws);
    ws.once("open", () => {
      clients.push(client);
      resolve(client);
    });
    ws.once("unexpected-response", (_req, res) =>
      reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode })),
    );
    ws.once("error", reject);
  });
}

async function internal(method: "GET" | "POST", path: string, body?: unknown) {
  const raw = body === undefined ? "" : JSON.stringify(body);
  const headers = await signRequest(inject("secret"), method, path, raw);
  const res = await fetch(`${edge()}${path}`, {
    method,
    headers: { ...headers, "content-type": "application/json" },
    body: method === "POST" ? raw : undefined,
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function control(command: Record<string, unknown>) {
  const res = await fetch(`${inject("providerUrl")}/__control`, { method: "POST", body: JSON.stringify(command) });
  if (!res.ok) throw new Error(`simulator: ${res.status} ${await res.text()}`);
}

async function stats(eventId: string) {
  return (await internal("GET", `/api/internal/events/${eventId}/stats`)) as {
    event: { home: { score: number } } | null;
    polling: boolean;
    feed: { failures: number; errors: number; malformed: number; lastError: string | null };
  };
}

let gameCounter = 0;
async function newGame(): Promise<string> {
  const id = `e2e-game-${Date.now().toString(36)}-${gameCounter++}`;
  await control({
    create: {
      id,
      sport: "basketball",
      status: "in_progress",
      startTime: new Date(Date.now() - 15 * 60_000).toISOString(),
      home: { name: "Harbor City Herons", abbr: "HCH", score: 40 },
      away: { name: "Summit Peaks", abbr: "SUM", score: 37 },
      period: 2,
      clock: "06:00",
      details: { possession: "HCH" },
      auto: false,
    },
  });
  const report = (await internal("POST", "/api/internal/cron/run", {})) as { ingress: { upserted?: number; error?: string } };
  expect(report.ingress.error).toBeUndefined();
  return id;
}

async function inBatches<T>(count: number, batch: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < count; i += batch) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(batch, count - i) }, (_, k) => make(i + k)))));
  }
  return out;
}

const updatesOf = (c: Client) => c.frames.filter((f) => f.type === "event_update");

describe("EventRoom with real sockets", () => {
  it("200 clients get the same updates in the same order after provider changes; a late joiner gets the snapshot", async () => {
    const eventId = await newGame();
    const tokens = await inBatches(200, 25, () => anonToken());
    const sockets = await inBatches(200, 50, async (i) => {
      const client = await connect(`/ws/events/${eventId}`, tokens[i]!);
      await client.next((f) => f.type === "event_snapshot");
      return client;
    });
    for (const s of sockets) {
      expect(s.frames.find((f) => f.type === "event_snapshot")!.event).toMatchObject({ eventId, home: { score: 40 }, clock: "06:00" });
    }

    const changes = [
      { set: { id: eventId, home: { score: 42 } }, check: (f: Frame) => (f.changes as { home?: { score?: number } }).home?.score === 42 },
      {
        set: { id: eventId, clock: "05:41", details: { possession: "SUM" } },
        check: (f: Frame) => (f.changes as { clock?: string }).clock === "05:41",
      },
      {
        set: { id: eventId, away: { score: 40 }, clock: "05:20" },
        check: (f: Frame) => (f.changes as { clock?: string }).clock === "05:20",
      },
    ];
    for (const change of changes) {
      await control({ set: change.set });
      await Promise.all(sockets.map((s) => s.next((f) => f.type === "event_update" && change.check(f), 15_000, "the update")));
    }
    const reference = updatesOf(sockets[0]!).map((f) => [f.seq, f.changes]);
    expect(reference.map(([, c]) => c)).toEqual([
      { home: { score: 42 } },
      { clock: "05:41", details: { possession: "SUM" } },
      { away: { score: 40 }, clock: "05:20" },
    ]);
    for (const s of sockets) expect(updatesOf(s).map((f) => [f.seq, f.changes])).toEqual(reference);

    const late = await connect(`/ws/events/${eventId}`, await anonToken());
    const snapshot = await late.next((f) => f.type === "event_snapshot");
    expect(snapshot.event).toMatchObject({ home: { score: 42 }, away: { score: 40 }, clock: "05:20", details: { possession: "SUM" } });
    expect(snapshot.seq).toBe(reference.at(-1)![0]);
  });

  it("provider outage, garbage and a hanging feed: last state kept, counted; recovery when the feed returns", async () => {
    const eventId = await newGame();
    const sockets = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const c = await connect(`/ws/events/${eventId}`, await anonToken());
        await c.next((f) => f.type === "event_snapshot");
        return c;
      }),
    );

    await control({ mode: "error", event: eventId });
    await eventually(async () => ((await stats(eventId)).feed.failures >= 2 ? true : undefined), 15_000, "failures to be counted");
    await control({ mode: "garbage", event: eventId });
    await eventually(async () => ((await stats(eventId)).feed.malformed >= 2 ? true : undefined), 20_000, "malformed answers");
    await control({ mode: "hang", event: eventId });
    await eventually(async () => ((await stats(eventId)).feed.lastError?.startsWith("timeout") ? true : undefined), 20_000, "a timeout");
    const during = await stats(eventId);
    expect(during.event).toMatchObject({ home: { score: 40 } });
    expect(during.polling).toBe(true);
    for (const s of sockets) expect(updatesOf(s)).toHaveLength(0);
    sockets[0]!.send({ type: "snapshot" });
    const snap = await sockets[0]!.next((f) => f.type === "event_snapshot" && (f.feed as { ok: boolean }).ok === false);
    expect(snap.event).toMatchObject({ home: { score: 40 } });

    await control({ mode: "ok", event: eventId });
    await control({ set: { id: eventId, home: { score: 43 } } });
    const budget = inject("providerBackoffMs") + 2_000 + 5_000;
    await Promise.all(sockets.map((s) => s.next((f) => f.type === "event_update", budget, "the update after recovery")));
    for (const s of sockets) expect(updatesOf(s).map((f) => f.changes)).toEqual([{ home: { score: 43 } }]);
    await eventually(async () => ((await stats(eventId)).feed.failures === 0 ? true : undefined), 10_000, "a healthy feed");
  });

  it("refuses an upgrade without a valid token (401 before any socket)", async () => {
    const eventId = await newGame();
    await expect(connect(`/ws/events/${eventId}`, "forged.token.value")).rejects.toMatchObject({ status: 401 });
  });
});

describe("StreamRoom with real sockets and the replay log", () => {
  it("chat in order, reconnect with since, event updates recorded, log window in order, cached once ended", async () => {
    const eventId = await newGame();
    const response = await fetch(`${edge()}/api/streams`, {
      method: "POST",
      headers: { authorization: `Bearer ${inject("apiKey")}`, "content-type": "application/json" },
      body: JSON.stringify({ title: "sockets e2e", eventId }),
    });
    expect(response.status).toBe(201);
    const { streamId } = (await response.json()) as { streamId: string };
    await internal("POST", `/api/internal/streams/${streamId}/status`, { originId: inject("originId"), status: "live" });

    // since=0: the whole log so far (stream_started came before this socket)
    const owner = await connect(`/ws/streams/${streamId}`, await broadcasterToken(), "&since=0");
    const started = await owner.next((f) => f.type === "system" && f.event === "stream_started");
    expect(started.startedAt).toBeGreaterThan(0);
    const readerToken = await anonToken();
    const reader = await connect(`/ws/streams/${streamId}`, readerToken, "", { "user-agent": "Mozilla/5.0 (iPhone) Mobile" });
    await reader.next((f) => f.type === "hello");
    const viewer = await connect(`/ws/streams/${streamId}`, await anonToken());
    await viewer.next((f) => f.type === "hello");
    const info = (await (await fetch(`${edge()}/api/streams/${streamId}`)).json()) as { viewerCount: number };
    expect(info.viewerCount).toBe(3);

    // a burst of 10 from a real socket arrives in order, everywhere
    for (let i = 0; i < 10; i++) viewer.send({ type: "chat", text: `burst ${i}` });
    const expected = Array.from({ length: 10 }, (_, i) => `burst ${i}`);
    for (const c of [owner, reader, viewer]) {
      await eventually(async () => (c.frames.filter((f) => f.type === "chat").length >= 10 ? true : undefined), 10_000, "10 chats");
      expect(c.frames.filter((f) => f.type === "chat").map((f) => f.text)).toEqual(expected);
    }

    // group message to mobile viewers only
    const group = await internal("POST", `/api/internal/streams/${streamId}/system`, {
      event: "gift",
      data: { note: "mobile" },
      group: { device: "mobile" },
    });
    expect(group).toMatchObject({ recipients: 1 });
    await reader.next((f) => (f.data as { note?: string } | undefined)?.note === "mobile");

    // the reader drops; chat and an event update happen; it comes back with since
    const lastSeen = Math.max(
      ...reader.frames.filter((f) => !["hello", "error", "ack"].includes(f.type) && f.group === undefined).map((f) => f.seq),
    );
    reader.close();
    await reader.closed;
    await sleep(2_100); // the chat bucket refills
    for (let i = 0; i < 3; i++) viewer.send({ type: "chat", text: `while away ${i}` });
    await control({ set: { id: eventId, home: { score: 45 } } });
    await viewer.next(
      (f) => f.type === "event_update" && (f.changes as { home?: { score?: number } }).home?.score === 45,
      15_000,
      "event update in the stream room",
    );
    await viewer.next((f) => f.type === "chat" && f.text === "while away 2");

    const back = await connect(`/ws/streams/${streamId}`, readerToken, `&since=${lastSeen}`);
    const hello = await back.next((f) => f.type === "hello");
    viewer.send({ type: "chat", text: "after return" });
    await back.next((f) => f.type === "chat" && f.text === "after return");
    const log = back.frames.filter((f) => !["hello", "error", "ack", "pong"].includes(f.type));
    expect(log[0]!.seq).toBe(lastSeen + 1);
    for (let i = 1; i < log.length; i++) expect(log[i]!.seq).toBe(log[i - 1]!.seq + 1);
    expect(hello.replayed).toBe(log.filter((f) => f.seq <= (hello.seq as number)).length);
    expect(log.filter((f) => f.type === "chat").map((f) => f.text)).toEqual([
      "while away 0",
      "while away 1",
      "while away 2",
      "after return",
    ]);
    expect(log.some((f) => f.type === "event_update")).toBe(true);

    // the log window: everything since the start, in order, with offsets
    const window = await fetch(`${edge()}/api/streams/${streamId}/log?from=0&to=600000`);
    expect(window.status).toBe(200);
    expect(window.headers.get("cache-control")).toBe("no-store");
    const body = (await window.json()) as { frames: Frame[]; ended: boolean };
    const seqs = body.frames.map((f) => f.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    const offsets = body.frames.map((f) => f.offsetMs as number);
    for (let i = 1; i < offsets.length; i++) expect(offsets[i]!).toBeGreaterThanOrEqual(offsets[i - 1]!);
    expect(body.frames.filter((f) => f.type === "chat").map((f) => f.text)).toEqual([
      ...expected,
      "while away 0",
      "while away 1",
      "while away 2",
      "after return",
    ]);
    expect(body.frames.find((f) => f.type === "event_snapshot")).toBeDefined();
    expect(body.frames.some((f) => f.type === "event_update")).toBe(true);
    expect((await fetch(`${edge()}/api/streams/${streamId}/log?from=0&to=600001`)).status).toBe(400);

    await internal("POST", `/api/internal/streams/${streamId}/status`, { originId: inject("originId"), status: "ended" });
    await owner.next((f) => f.type === "system" && f.event === "stream_ended");
    const ended = await fetch(`${edge()}/api/streams/${streamId}/log?from=0&to=600000`);
    expect(ended.headers.get("cache-control")).toBe("public, max-age=86400");
    const again = await fetch(`${edge()}/api/streams/${streamId}/log?from=0&to=600000`);
    expect(again.headers.get("x-cache-tier")).toBe("edge-hit");
  });
});
