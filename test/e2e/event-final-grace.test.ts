/**
 * A provider that flips from final back to in progress, end to end (wrangler dev, the provider simulator, real
 * `ws` clients): a provider that says `final` for 3 s and then `in_progress`
 * again no longer leaves the event room silent. The final is published, but
 * it counts only once it has held EVENT_FINAL_GRACE_MS (60 s), so the room
 * keeps polling, publishes the correction, and late joiners get the live score.
 */
import { afterEach, expect, inject, it } from "vitest";
import WebSocket from "ws";
import { signRequest } from "../../common/signing.js";
import { sleep } from "./helpers.js";

interface Frame {
  type: string;
  seq: number;
  [key: string]: unknown;
}

const edge = () => inject("edgeUrl");
const sockets: WebSocket[] = [];

afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await control({ mode: "ok" });
});

async function control(command: Record<string, unknown>) {
  const res = await fetch(`${inject("providerUrl")}/__control`, { method: "POST", body: JSON.stringify(command) });
  if (!res.ok) throw new Error(`simulator: ${res.status} ${await res.text()}`);
}

async function internal(method: "GET" | "POST", path: string, body?: unknown) {
  const raw = body === undefined ? "" : JSON.stringify(body);
  const headers = await signRequest(inject("secret"), method, path, raw);
  const res = await fetch(`${edge()}${path}`, {
    method,
    headers: { ...headers, "content-type": "application/json" },
    body: method === "POST" ? raw : undefined,
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

/** A client that keeps every frame; `next` waits for the first frame matching. */
async function join(eventId: string) {
  const res = await fetch(`${edge()}/api/session/anonymous`, { method: "POST" });
  const { token } = (await res.json()) as { token: string };
  const ws = new WebSocket(`${edge().replace(/^http/, "ws")}/ws/events/${eventId}?token=${encodeURIComponent(token)}`);
  sockets.push(ws);
  const frames: Frame[] = [];
  const waiters = new Set<() => void>();
  ws.on("message", (data) => {
    frames.push(JSON.parse(String(data)) as Frame);
    for (const w of waiters) w();
  });
  const next = (match: (f: Frame) => boolean, what: string, timeoutMs = 10_000) =>
    new Promise<Frame>((resolve, reject) => {
      const check = () => {
        const hit = frames.find(match);
        if (hit === undefined) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(hit);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(frames.map((f) => f.type))}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  await next((f) => f.type === "event_snapshot", "the snapshot");
  return { frames, next };
}

const statusIs = (status: string) => (f: Frame) => f.type === "event_update" && (f.changes as { status?: string }).status === status;

it("final for 3 s, then in_progress again: every client gets the correction, a late joiner the live score, polling goes on", async () => {
  const id = `e2e-final-${Date.now().toString(36)}`;
  await control({
    create: {
      id,
      sport: "basketball",
      status: "in_progress",
      startTime: new Date(Date.now() - 90 * 60_000).toISOString(),
      home: { name: "Harbor City Herons", abbr: "HCH", score: 98 },
      away: { name: "Summit Peaks", abbr: "SUM", score: 98 },
      period: 4,
      clock: "00:00",
      auto: false,
    },
  });
  await internal("POST", "/api/internal/cron/run", { tasks: ["ingress"] });
  const clients = await Promise.all([join(id), join(id), join(id)]);

  await control({ set: { id, status: "final" } });
  await Promise.all(clients.map((c) => c.next(statusIs("final"), "final")));
  await sleep(3_000);
  // overtime after all
  await control({ set: { id, status: "in_progress", period: "OT", clock: "05:00", home: { score: 100 } } });
  const corrections = await Promise.all(clients.map((c) => c.next(statusIs("in_progress"), "in_progress again")));
  for (const f of corrections)
    expect(f).toMatchObject({ seq: corrections[0]!.seq, changes: { status: "in_progress", home: { score: 100 } } });

  const late = await join(id);
  expect(late.frames.find((f) => f.type === "event_snapshot")!.event).toMatchObject({
    status: "in_progress",
    period: "OT",
    home: { score: 100 },
  });
  await control({ set: { id, away: { score: 101 } } });
  for (const c of [...clients, late])
    await c.next((f) => f.type === "event_update" && (f.changes as { away?: { score?: number } }).away?.score === 101, "the next update");
  const stats = (await internal("GET", `/api/internal/events/${id}/stats`)) as {
    polling: boolean;
    status: string;
    finalSince: number | null;
  };
  expect(stats).toMatchObject({ polling: true, status: "in_progress", finalSince: null });
});
