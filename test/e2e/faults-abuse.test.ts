/**
 * Abuse, end to end on the local stack (signed origin calls, chat limits, presence churn, API input):
 * a captured signed call replayed against wrangler dev, chat limits and mutes
 * over real `ws` sockets, presence churn of 200 sockets next to a healthy
 * client, a 50 MB chunked body over a real TCP connection, dot segments in
 * /live URLs.
 */
import { request } from "node:http";
import { afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import WebSocket from "ws";
import { signRequest } from "../../common/signing.js";
import { createStream, type CreatedStream, eventually, sleep } from "./helpers.js";

interface Frame {
  type: string;
  seq: number;
  ts: number;
  [key: string]: unknown;
}

const edge = () => inject("edgeUrl");
const sockets: WebSocket[] = [];
afterEach(() => {
  for (const ws of sockets.splice(0)) ws.terminate();
});

/** A socket and every frame it received. */
async function connect(streamId: string, token: string, since?: number) {
  const url = `${edge().replace(/^http/, "ws")}/ws/streams/${streamId}?token=${encodeURIComponent(token)}${since === undefined ? "" : `&since=${since}`}`;
  const ws = new WebSocket(url);
  sockets.push(ws);
  const frames: Frame[] = [];
  const listeners = new Set<() => void>();
  ws.on("message", (data) => {
    frames.push(JSON.parse(String(data)) as Frame);
    for (const listener of listeners) listener();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  /** Resolves as soon as a matching frame arrives (no polling: the ack timings below depend on it). */
  const next = (match: (f: Frame) => boolean, what = "a frame", timeoutMs = 10_000) =>
    new Promise<Frame>((resolve, reject) => {
      const check = () => {
        const hit = frames.find(match);
        if (hit === undefined) return false;
        listeners.delete(check);
        clearTimeout(timer);
        resolve(hit);
        return true;
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      if (!check()) listeners.add(check);
    });
  await next((f) => f.type === "hello", "hello");
  return { ws, frames, next };
}

async function anonToken(): Promise<string> {
  const res = await fetch(`${edge()}/api/session/anonymous`, { method: "POST" });
  if (res.status !== 201) throw new Error(`anonymous session: ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}

async function ownerToken(): Promise<string> {
  const res = await fetch(`${edge()}/api/session`, { method: "POST", headers: { authorization: `Bearer ${inject("apiKey")}` } });
  return ((await res.json()) as { token: string }).token;
}

const presence = (f: Frame) => f.type === "system" && (f.event === "member_added" || f.event === "member_removed");

describe("abuse, end to end", () => {
  let stream: CreatedStream;
  beforeAll(async () => {
    stream = await createStream("abuse e2e");
  });

  it("a captured signed system post, replayed 3 times, delivers one gift", async () => {
    const viewer = await connect(stream.streamId, await anonToken());
    const path = `/api/internal/streams/${stream.streamId}/system`;
    const body = JSON.stringify({ event: "gift", data: { from: "e2e", kind: "trophy" } });
    const headers = { "content-type": "application/json", ...(await signRequest(inject("secret"), "POST", path, body)) };
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetch(`${edge()}${path}`, { method: "POST", headers, body })).status);
    await sleep(500);
    const gifts = viewer.frames.filter((f) => f.type === "system" && f.event === "gift").length;
    console.log(`e2e: a signed system post sent 3 times: statuses ${statuses.join(",")}, ${gifts} gift(s) delivered`);
    expect(statuses).toEqual([200, 409, 409]);
    expect(gifts).toBe(1);
  });

  it("one token on 10 sockets gets one burst; a muted anonymous viewer's next anonymous session is muted", async () => {
    const chatStream = await createStream("abuse e2e chat");
    const token = await anonToken();
    const ten = await Promise.all(Array.from({ length: 10 }, () => connect(chatStream.streamId, token)));
    ten.forEach((s, i) => {
      for (let k = 0; k < 10; k++) s.ws.send(JSON.stringify({ type: "chat", text: `s${i} m${k}`, ref: `s${i}_${k}` }));
    });
    const answered = await eventually(
      async () => {
        const answers = ten.flatMap((s) => s.frames.filter((f) => (f.type === "ack" || f.type === "error") && typeof f.ref === "string"));
        return answers.length >= 100 ? answers : undefined;
      },
      15_000,
      "100 answers",
    );
    const accepted = answered.filter((f) => f.type === "ack").length;
    console.log(`e2e: one token on 10 sockets, 100 chats at once: ${accepted} accepted`);
    expect(accepted).toBeLessThanOrEqual(14);

    // every client of the local stack is 127.0.0.1: one address
    const owner = await connect(chatStream.streamId, await ownerToken());
    const troll = await connect(chatStream.streamId, await anonToken());
    const trollId = ((troll.frames.find((f) => f.type === "hello")!.you as { id: string }) ?? {}).id;
    owner.ws.send(JSON.stringify({ type: "mute", userId: trollId, ref: "mute" }));
    await owner.next((f) => f.ref === "mute", "the mute's ack");
    troll.ws.close();
    const again = await connect(chatStream.streamId, await anonToken());
    again.ws.send(JSON.stringify({ type: "chat", text: "new identity", ref: "evade" }));
    const answer = await again.next((f) => f.ref === "evade", "the chat's answer");
    console.log(`e2e: muted viewer back with a new anonymous session: ${answer.type === "ack" ? "ack" : answer.code}`);
    expect(answer.code).toBe("muted");
  });

  it("200 sockets opening and closing write a few presence frames; a healthy client's chats are all acknowledged", async () => {
    const churnStream = await createStream("abuse e2e presence");
    const healthy = await connect(churnStream.streamId, await anonToken());
    const helloSeq = healthy.frames.find((f) => f.type === "hello")!.seq;
    const token = await anonToken();
    // the healthy client chats 5 times a second (its limit) all through the churn, each ack timed
    // (the delay is logged, not asserted: on a loaded 2-core CI machine it measures the machine)
    const latencies: number[] = [];
    const refused: string[] = [];
    const pending: Promise<void>[] = [];
    const chat = setInterval(() => {
      const ref = `h${pending.length}`;
      const sent = Date.now();
      healthy.ws.send(JSON.stringify({ type: "chat", text: `healthy ${ref}`, ref }));
      pending.push(
        healthy
          .next((f) => f.ref === ref, "the healthy client's answer", 30_000)
          .then((answer) => {
            latencies.push(Date.now() - sent);
            if (answer.type !== "ack") refused.push(`${ref}: ${String(answer.code)}`);
          }),
      );
    }, 200);
    const started = Date.now();
    for (let round = 0; round < 2; round++) {
      const opened = await Promise.all(Array.from({ length: 100 }, () => connect(churnStream.streamId, token)));
      for (const s of opened) s.ws.close();
    }
    const churnMs = Date.now() - started;
    await eventually(
      async () => (healthy.frames.filter(presence).at(-1)?.viewerCount === 1 ? true : undefined),
      15_000,
      "the count to settle",
    );
    clearInterval(chat);
    await Promise.all(pending);
    const reader = await connect(churnStream.streamId, token, helloSeq);
    const readerHello = reader.frames.find((f) => f.type === "hello")!;
    const logged = reader.frames.filter((f) => f.seq <= readerHello.seq && presence(f) && f !== readerHello).length;
    const sorted = [...latencies].sort((a, b) => a - b);
    const worst = sorted.at(-1)!;
    const median = sorted[Math.floor(sorted.length / 2)]!;
    console.log(
      `e2e: 200 sockets in and out (${churnMs} ms): ${logged} presence log frames; healthy client's acks over ${sorted.length} chats: median ${median} ms, worst ${worst} ms, ${refused.length} rate_limited`,
    );
    expect(logged).toBeLessThanOrEqual(Math.ceil(churnMs / 250) + 4);
    // Nothing the healthy client sent is lost or refused for the churn's sake. A loaded room can
    // still hand it a rate_limited answer: its bucket (5/s, burst 10) counts arrivals at the room,
    // and chats that queued behind the churn arrive together.
    expect(sorted.length).toBe(pending.length);
    expect(refused.filter((r) => !r.endsWith(": rate_limited"))).toEqual([]);
    expect(refused.length).toBeLessThan(pending.length / 2);
  });

  it("a 50 MB chunked body gets a readable 413, every time", async () => {
    const url = new URL(edge());
    const attempt = () =>
      new Promise<string>((resolve) => {
        const req = request(
          {
            host: url.hostname,
            port: url.port,
            path: "/api/streams",
            method: "POST",
            headers: { authorization: `Bearer ${inject("apiKey")}`, "content-type": "application/json" },
          },
          (res) => {
            let text = "";
            res.on("data", (d) => (text += d));
            res.on("end", () =>
              resolve(`${res.statusCode} ${text.includes("payload_too_large") ? "payload_too_large" : text.slice(0, 60)}`),
            );
            res.on("error", (e) => resolve(`response ${(e as NodeJS.ErrnoException).code}`));
          },
        );
        req.on("error", (e) => resolve(`request ${(e as NodeJS.ErrnoException).code}`));
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        let sent = 0;
        const write = () => {
          while (sent < 50 * 1024 * 1024) {
            sent += chunk.length;
            if (!req.write(chunk)) return void req.once("drain", write);
          }
          req.end();
        };
        write();
      });
    const outcomes: string[] = [];
    for (let i = 0; i < 5; i++) outcomes.push(await attempt());
    console.log(`e2e: 50 MB chunked bodies: ${outcomes.join(" | ")}`);
    expect(outcomes).toEqual(Array(5).fill("413 payload_too_large"));
  });

  it("dot segments never reach the Worker: the runtime resolves them, the route they name checks its own credentials", async () => {
    const url = new URL(edge());
    const get = (path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request({ host: url.hostname, port: url.port, path, method: "GET" }, (res) => {
          let body = "";
          res.on("data", (d) => (body += d));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("error", reject);
        req.end();
      });
    const direct = await get(`/api/internal/streams/${stream.streamId}/telemetry`);
    expect(direct.status).toBe(401);
    for (const path of [
      `/live/${stream.streamId}/../../api/internal/streams/${stream.streamId}/telemetry`,
      `/live/${stream.streamId}/%2e%2e/%2E%2e/api/internal/streams/${stream.streamId}/telemetry`,
    ]) {
      expect(await get(path), path).toEqual(direct);
    }
  });
});
