/**
 * Stream fan-out shards end to end: real `ws` clients through the Worker
 * (wrangler dev) on a stream whose sockets live on several StreamShards.
 *
 * The shared e2e stack runs with the default STREAM_SHARD_SOCKETS (0: every
 * stream socket on the StreamRoom), which the other files rely on; this file
 * starts a small stack of its own with STREAM_SHARD_SOCKETS=2 (ports next to
 * the shared stack's), so turning shards on here changes nothing elsewhere.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startStack, type RunningStack } from "../../scripts/stack.js";
import { eventually } from "./helpers.js";

interface Frame {
  type: string;
  seq: number;
  ts: number;
  [key: string]: unknown;
}

/** Ports of this file's stack: the shared stack's plus this offset. */
const PORT_OFFSET = 17;
let stack: RunningStack | undefined;
let stateDir: string | undefined;
const clients: WebSocket[] = [];

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "edge-hls-e2e-shards-"));
  stack = await startStack({
    edgePort: Number(process.env.E2E_EDGE_PORT ?? 18787) + PORT_OFFSET,
    originHttpPort: Number(process.env.E2E_ORIGIN_HTTP_PORT ?? 18080) + PORT_OFFSET,
    rtmpPort: Number(process.env.E2E_RTMP_PORT ?? 11935) + PORT_OFFSET,
    stateDir,
    ladder: "tiny",
    // every client mints its anonymous session from 127.0.0.1
    workerVars: { STREAM_SHARD_SOCKETS: "2", ANON_SESSIONS_PER_MINUTE: "100000" },
    quiet: !process.env.E2E_VERBOSE,
    log: () => {},
  });
});

afterAll(async () => {
  await stack?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

afterEach(() => {
  for (const ws of clients.splice(0)) ws.terminate();
});

const edge = () => stack!.edgeUrl;

interface Client {
  ws: WebSocket;
  frames: Frame[];
  next(match: (f: Frame) => boolean, what: string): Promise<Frame>;
}

async function connect(token: string, query = ""): Promise<Client> {
  const ws = new WebSocket(`${edge().replace(/^http/, "ws")}/ws/streams/${streamId}?token=${encodeURIComponent(token)}${query}`);
  const frames: Frame[] = [];
  ws.on("message", (data) => frames.push(JSON.parse(String(data)) as Frame));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.once("error", reject);
  });
  clients.push(ws);
  const client: Client = {
    ws,
    frames,
    next: (match, what) => eventually(async () => frames.find(match), 10_000, what),
  };
  await client.next((f) => f.type === "hello", "hello");
  return client;
}

async function token(apiKey?: string): Promise<string> {
  const res = await fetch(`${edge()}/api/session${apiKey ? "" : "/anonymous"}`, {
    method: "POST",
    ...(apiKey ? { headers: { authorization: `Bearer ${apiKey}` } } : {}),
  });
  if (!res.ok) throw new Error(`session: ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}

const isLog = (f: Frame) => !["hello", "error", "ack"].includes(f.type) && f.group === undefined;
const hello = (c: Client) => c.frames.find((f) => f.type === "hello")!;
const chatLine = (c: Client) => c.frames.filter((f) => f.type === "chat").map((f) => `${f.seq}:${f.text as string}`);

let streamId = "";

describe("stream fan-out shards through the Worker", () => {
  it("sockets on three shards: every chat burst reaches every socket in one order, with one seq; reconnect with since on another shard", async () => {
    const created = await fetch(`${edge()}/api/streams`, {
      method: "POST",
      headers: { authorization: `Bearer ${stack!.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ title: "stream shards e2e" }),
    });
    expect(created.status).toBe(201);
    streamId = ((await created.json()) as { streamId: string }).streamId;
    await stack!.internalPost(`/api/internal/streams/${streamId}/status`, { originId: stack!.originId, status: "live" });

    const owner = await connect(await token(stack!.apiKey));
    const viewers: Client[] = [];
    for (let i = 0; i < 4; i++) viewers.push(await connect(await token()));
    const all = [owner, ...viewers];
    const shards = all.map((c) => hello(c).shard as number);
    expect(new Set(shards).size).toBe(3);
    expect(hello(owner)).toMatchObject({ you: { owner: true }, room: { kind: "stream", id: streamId } });
    await eventually(
      async () =>
        ((await (await fetch(`${edge()}/api/streams/${streamId}`)).json()) as { viewerCount: number }).viewerCount === 5 ? true : undefined,
      10_000,
      "the room to count the sockets of every shard",
    );

    // every socket sends a burst at once (within the per-user and per-address limits)
    all.forEach((c, i) => {
      for (let k = 0; k < 4; k++) c.ws.send(JSON.stringify({ type: "chat", text: `c${i}-${k}` }));
    });
    for (const c of all) await eventually(async () => (chatLine(c).length >= 20 ? true : undefined), 15_000, "20 chats");
    const reference = chatLine(owner);
    for (const c of all) expect(chatLine(c)).toEqual(reference);
    const seqs = owner.frames.filter((f) => f.type === "chat").map((f) => f.seq);
    // real clients' bursts arrive in order: each sender's chats in the order sent
    for (let i = 0; i < all.length; i++) {
      expect(reference.map((r) => r.split(":")[1]).filter((t) => t!.startsWith(`c${i}-`))).toEqual([0, 1, 2, 3].map((k) => `c${i}-${k}`));
    }
    expect(new Set(seqs).size).toBe(20);

    // a viewer drops and comes back with since: through the Worker it may land on any shard
    const leaving = viewers.find((c) => hello(c).shard === 0)!;
    const leavingToken = await token();
    const lastSeen = Math.max(...leaving.frames.filter(isLog).map((f) => f.seq));
    leaving.ws.terminate();
    for (let k = 0; k < 3; k++) owner.ws.send(JSON.stringify({ type: "chat", text: `while away ${k}` }));
    await owner.next((f) => f.type === "chat" && f.text === "while away 2", "the last chat while away");
    const back = await connect(leavingToken, `&since=${lastSeen}`);
    const backHello = hello(back);
    const replayed = back.frames.slice(0, back.frames.indexOf(backHello));
    expect(replayed.map((f) => f.seq)).toEqual(
      owner.frames.filter((f) => isLog(f) && f.seq > lastSeen && f.seq <= (backHello.seq as number)).map((f) => f.seq),
    );
    expect(replayed.filter((f) => f.type === "chat").map((f) => f.text)).toEqual(["while away 0", "while away 1", "while away 2"]);
    owner.ws.send(JSON.stringify({ type: "chat", text: "after return" }));
    const live = await back.next((f) => f.type === "chat" && f.text === "after return", "the live chat");
    expect(live).toEqual(await owner.next((f) => f.type === "chat" && f.text === "after return", "the live chat"));
    const log = back.frames.filter(isLog);
    for (let i = 1; i < log.length; i++) expect(log[i]!.seq).toBe(log[i - 1]!.seq + 1);
  });
});
