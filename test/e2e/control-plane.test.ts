/**
 * Control plane on the local stack (wrangler dev + origin + FFmpeg): a real
 * RTMP publish drives the lifecycle; real `ws` clients are the audience;
 * the replay page in Chromium shows a chat message at the moment it was sent.
 */
import type { Browser } from "playwright-core";
import { afterAll, describe, expect, inject, it } from "vitest";
import WebSocket from "ws";
import { signRequest } from "../../common/signing.js";
import { startTestSource, type TestSource } from "../../origin/tools/test-source.js";
import { createStream, eventually, sleep } from "./helpers.js";
import { launchChromium } from "./web-helpers.js";

type Frame = {
  type: string;
  seq: number;
  event?: string;
  text?: string;
  offsetMs?: number;
  data?: Record<string, unknown>;
  [k: string]: unknown;
};

const edge = () => inject("edgeUrl");

async function token(): Promise<string> {
  const res = await fetch(`${edge()}/api/session`, { method: "POST", headers: { authorization: `Bearer ${inject("apiKey")}` } });
  return ((await res.json()) as { token: string }).token;
}

async function internal(method: string, path: string, body: unknown) {
  const raw = JSON.stringify(body);
  const headers = await signRequest(inject("secret"), method, path, raw);
  const res = await fetch(`${edge()}${path}`, { method, headers: { ...headers, "content-type": "application/json" }, body: raw });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

class Client {
  readonly frames: Frame[] = [];
  readonly ws: WebSocket;
  readonly open: Promise<void>;
  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on("message", (data) => this.frames.push(JSON.parse(String(data)) as Frame));
    this.open = new Promise((resolve, reject) => {
      this.ws.once("open", () => resolve());
      this.ws.once("error", reject);
    });
  }
  wait(match: (f: Frame) => boolean, timeoutMs: number, what: string): Promise<Frame> {
    return eventually(async () => this.frames.find(match), timeoutMs, what);
  }
  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    const closed = new Promise((r) => this.ws.once("close", r));
    this.ws.close();
    await closed;
  }
}

const system = (event: string) => (f: Frame) => f.type === "system" && f.event === event;

describe("control plane on the local stack", () => {
  let source: TestSource | undefined;
  let browser: Browser | undefined;
  const clients: Client[] = [];
  afterAll(async () => {
    await source?.stop();
    await browser?.close();
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
  });

  async function join(streamId: string): Promise<Client> {
    const client = new Client(`${edge().replace(/^http/, "ws")}/ws/streams/${streamId}?token=${encodeURIComponent(await token())}`);
    clients.push(client);
    await client.open;
    return client;
  }

  it("replay recreates the scorebug: a score change shows up when the playhead reaches it, not before", async () => {
    // A simulated game the EventRoom polls; the stream is about it.
    const eventId = `replay-game-${Date.now().toString(36)}`;
    const steer = async (command: Record<string, unknown>) => {
      const res = await fetch(`${inject("providerUrl")}/__control`, { method: "POST", body: JSON.stringify(command) });
      expect(res.ok).toBe(true);
    };
    await steer({
      create: {
        id: eventId,
        sport: "basketball",
        status: "in_progress",
        startTime: new Date(Date.now() - 600_000).toISOString(),
        home: { name: "Herons", abbr: "HER", score: 40 },
        away: { name: "Peaks", abbr: "PKS", score: 37 },
        period: 2,
        clock: "06:00",
        details: {},
        auto: false,
      },
    });
    expect((await internal("POST", "/api/internal/cron/run", {})).status).toBe(200);
    const stream = await createStream("replay scorebug", { eventId });
    const viewer = await join(stream.streamId);
    const fan = new Client(`${edge().replace(/^http/, "ws")}/ws/events/${eventId}?token=${encodeURIComponent(await token())}`);
    clients.push(fan);
    await fan.open;
    await fan.wait((f) => f.type === "event_snapshot", 15_000, "event snapshot");

    source = startTestSource({ rtmpUrl: stream.ingestUrl, width: 320, height: 180, frameRate: 15, videoBitrate: "300k", durationSec: 60 });
    await viewer.wait(system("stream_started"), 40_000, "stream_started");
    await sleep(6_000);
    await steer({ set: { id: eventId, home: { score: 45 } } });
    const update = await viewer.wait(
      (f) => f.type === "event_update" && (f.changes as { home?: { score?: number } } | undefined)?.home?.score === 45,
      15_000,
      "the score change in the stream's room",
    );
    expect(update.offsetMs).toBeTypeOf("number");
    await sleep(6_000);
    await source.stop();
    source = undefined;
    await viewer.wait(system("stream_ended"), 40_000, "stream_ended");
    await eventually(
      async () => ((await fetch(`${edge()}/api/streams/${stream.streamId}/replay`)).status === 200 ? true : undefined),
      20_000,
      "the replay",
    );

    browser ??= await launchChromium();
    const page = await browser.newPage();
    await page.goto(`${edge()}/replay/${stream.streamId}`);
    const samples: Array<{ offsetMs: number | null; home: number | null }> = [];
    const shown = await eventually(
      async () => {
        const s = await page.evaluate(() => {
          const r = (window as unknown as { __replay: { offsetMs: number | null; score: { home?: { score?: number } } | null } }).__replay;
          return { offsetMs: r.offsetMs, home: r.score?.home?.score ?? null };
        });
        samples.push(s);
        return s.home === 45 ? s : undefined;
      },
      40_000,
      "the new score in the replay's scorebug",
    );
    expect(shown.offsetMs!).toBeGreaterThanOrEqual(update.offsetMs!);
    const before = samples.filter((s) => s.offsetMs !== null && s.offsetMs < update.offsetMs! - 500);
    expect(before.length).toBeGreaterThan(0);
    expect(before.some((s) => s.home === 40)).toBe(true);
    for (const s of before) expect(s.home).not.toBe(45);
    await page.close();
  });

  it("watchdog on demand ends a never-started stream (time override), stream_ended reaches its room", async () => {
    const stream = await createStream("never started");
    const client = await join(stream.streamId);
    const early = await internal("POST", "/api/internal/cron/watchdog", {
      now: Date.now() + 60_000,
      streamIds: [stream.streamId],
      origins: false,
    });
    expect(early.body.streamsEnded).toEqual([]);
    const late = await internal("POST", "/api/internal/cron/watchdog", {
      now: Date.now() + 10 * 60_000 + 5_000,
      streamIds: [stream.streamId],
      origins: false,
    });
    expect(late.body.streamsEnded).toEqual([{ streamId: stream.streamId, reason: "watchdog_never_started" }]);
    await client.wait(system("stream_ended"), 5_000, "stream_ended");
    const info = (await (await fetch(`${edge()}/api/streams/${stream.streamId}`)).json()) as Record<string, unknown>;
    expect(info).toMatchObject({ status: "ended", endReason: "watchdog_never_started" });
    await client.close();
  });

  it("RTMP lifecycle: stream_started, thumbnail, scripted audience → final stats, stream_ended, replay page in sync", async () => {
    const stream = await createStream("control e2e");
    const play = (await (await fetch(`${edge()}/api/streams/${stream.streamId}/play`)).json()) as Record<string, unknown>;
    expect(play).toMatchObject({ source: "origin", url: `${inject("originUrl")}/hls/${stream.streamId}/master.m3u8` });

    const a = await join(stream.streamId);
    const b = await join(stream.streamId);
    const c = await join(stream.streamId);
    source = startTestSource({ rtmpUrl: stream.ingestUrl, width: 320, height: 180, frameRate: 15, videoBitrate: "300k", durationSec: 60 });
    const started = await a.wait(system("stream_started"), 40_000, "stream_started");
    expect(started.offsetMs).toBeTypeOf("number");

    const thumb = await a.wait(system("thumbnail"), 30_000, "thumbnail event");
    const info = (await (await fetch(`${edge()}/api/streams/${stream.streamId}`)).json()) as Record<string, unknown>;
    expect(info.thumbnailUrl).toBe(thumb.data?.url);
    expect((await fetch(String(info.thumbnailUrl))).headers.get("content-type")).toBe("image/jpeg");

    // the audience: 3 joined before the start; one leaves, one more comes and goes
    await sleep(2_000);
    a.ws.send(JSON.stringify({ type: "chat", text: "hello replay" }));
    const chat = await b.wait((f) => f.type === "chat" && f.text === "hello replay", 5_000, "chat");
    await c.close();
    const d = await join(stream.streamId);
    await sleep(500);
    await d.close();
    await sleep(4_000);

    await source.stop();
    source = undefined;
    await a.wait(system("stream_ended"), 40_000, "stream_ended");
    const ended = (await (await fetch(`${edge()}/api/streams/${stream.streamId}`)).json()) as Record<string, any>;
    expect(ended.status).toBe("ended");
    expect(ended.stats).toMatchObject({ peakViewers: 3, joins: 4, leaves: 2 });
    expect(ended.stats.avgViewers).toBeGreaterThan(1.5);
    expect(ended.stats.avgViewers).toBeLessThanOrEqual(3);

    const replay = await eventually(
      async () => {
        const res = await fetch(`${edge()}/api/streams/${stream.streamId}/replay`);
        return res.status === 200 ? ((await res.json()) as Record<string, any>) : undefined;
      },
      20_000,
      "the replay",
    );
    expect(replay.vodUrl).toBe(`${edge()}/vod/${stream.streamId}/index.m3u8`);

    browser ??= await launchChromium();
    const page = await browser.newPage();
    await page.goto(`${edge()}/replay/${stream.streamId}`);
    const samples: Array<{ offsetMs: number | null; chat: string[] }> = [];
    const shown = await eventually(
      async () => {
        const s = await page.evaluate(() => {
          const r = (window as unknown as { __replay: { offsetMs: number | null; chat: Array<{ text: string }> } }).__replay;
          return { offsetMs: r.offsetMs, chat: r.chat.map((m) => m.text) };
        });
        samples.push(s);
        return s.chat.includes("hello replay") ? s : undefined;
      },
      40_000,
      "the chat message in the replay",
    );
    // shown once the playhead reached the moment it was sent, not before
    expect(shown.offsetMs!).toBeGreaterThanOrEqual(chat.offsetMs!);
    const before = samples.filter((s) => s.offsetMs !== null && s.offsetMs < chat.offsetMs! - 500);
    expect(before.length).toBeGreaterThan(0);
    for (const s of before) expect(s.chat).not.toContain("hello replay");
    await page.close();
  });
});
