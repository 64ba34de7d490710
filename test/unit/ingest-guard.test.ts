/**
 * The RTMP port's defences, on a real node-media-server with real FFmpeg
 * publishers and raw TCP clients: connection cap per address, handshake
 * deadline, silent-publisher watchdog, and stream keys never logged.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { connect, type Socket } from "node:net";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { resolveFfmpeg } from "../../origin/ffmpeg.js";
import { redactStreamKeys } from "../../origin/ingest/connection-guard.js";
import { RtmpIngest, type IncomingPublish } from "../../origin/ingest/rtmp-ingest.js";

const PORT = 19_000 + Math.floor(Math.random() * 500);
const KEY = "sk_secretStreamKey_0123456789abcdef";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function publisher(key: string): ChildProcess {
  return spawn(
    resolveFfmpeg(),
    [
      "-hide_banner",
      "-loglevel",
      "error",
      "-nostdin",
      "-re",
      "-f",
      "lavfi",
      "-i",
      "testsrc2=size=160x90:rate=15",
      "-t",
      "30",
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      "-tune",
      "zerolatency",
      "-pix_fmt",
      "yuv420p",
      "-g",
      "15",
      "-f",
      "flv",
      `rtmp://127.0.0.1:${PORT}/live/${key}`,
    ],
    { stdio: "ignore" },
  );
}

function rawClient(): Promise<{ socket: Socket; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const opened = Date.now();
    const socket = connect({ host: "127.0.0.1", port: PORT }, () => {
      const closed = new Promise<number>((done) => socket.once("close", () => done(Date.now() - opened)));
      resolve({ socket, closed });
    });
    socket.on("error", () => {});
    socket.resume(); // read (and drop) what the server sends, so its close is seen
    socket.once("error", reject);
  });
}

describe("RTMP ingest defences", { timeout: 30_000 }, () => {
  let ingest: RtmpIngest;
  const publishes: IncomingPublish[] = [];
  const ended: IncomingPublish[] = [];
  const logs: string[] = [];
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    const spy = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
      logs.push(args.map(String).join(" "));
    });
    ingest = new RtmpIngest({
      bindHost: "127.0.0.1",
      port: PORT,
      dataDir: mkdtempSync(join(tmpdir(), "ingest-guard-")),
      log: (m) => logs.push(m),
      maxConnectionsPerAddress: 6,
      handshakeTimeoutMs: 1_500,
      mediaIdleTimeoutMs: 1_500,
      onPublish: (publish) => {
        publishes.push(publish);
        publish.onEnd(() => ended.push(publish));
        publish.attach(() => {});
      },
    });
    await ingest.start();
    spy.mockClear();
  });

  afterAll(async () => {
    for (const child of children) child.kill("SIGKILL");
    await ingest?.stop();
    vi.restoreAllMocks();
  });

  it("closes connections that never publish (silent or garbage) by the handshake deadline, and caps them per address", async () => {
    const clients = await Promise.all(Array.from({ length: 9 }, () => rawClient().catch(() => undefined)));
    // a third of them send garbage, which resets no deadline
    clients.forEach((c, i) => i % 3 === 0 && c?.socket.write(Buffer.alloc(2000, 0x41)));
    const closedAfter = await Promise.all(clients.map((c) => (c ? Promise.race([c.closed, sleep(6_000).then(() => Infinity)]) : 0)));
    // everything is closed: refused over the cap at once, the rest by the deadline (garbage may be refused earlier by NMS itself)
    expect(
      closedAfter.every((ms) => ms < 4_000),
      JSON.stringify(closedAfter),
    ).toBe(true);
    const silent = closedAfter.filter((_, i) => i % 3 !== 0);
    for (const ms of silent) expect(ms < 500 || (ms >= 1_400 && ms < 4_000), `closed after ${ms} ms`).toBe(true);
    for (let i = 0; i < 20 && ingest.guardStats().open > 0; i++) await sleep(50); // the server side's close events
    const stats = ingest.guardStats();
    expect(stats.refused).toBe(3); // 9 connections, cap 6
    expect(stats.timedOut).toBeGreaterThanOrEqual(silent.filter((ms) => ms >= 1_400).length);
    expect(stats.open).toBe(0);
  });

  it("closes a publisher that stops sending media (SIGSTOP), and a new publish with the same key is accepted", async () => {
    const first = publisher(KEY);
    children.push(first);
    for (let i = 0; i < 100 && publishes.length === 0; i++) await sleep(100);
    expect(publishes).toHaveLength(1);
    await sleep(1_000);
    expect(ended).toHaveLength(0);
    first.kill("SIGSTOP");
    const stoppedAt = Date.now();
    for (let i = 0; i < 80 && ended.length === 0; i++) await sleep(100);
    expect(ended).toHaveLength(1);
    expect(Date.now() - stoppedAt).toBeLessThan(5_000);

    // the path is free again: the broadcaster's reconnect is taken (before: "already has a publisher")
    const second = publisher(KEY);
    children.push(second);
    for (let i = 0; i < 100 && publishes.length < 2; i++) await sleep(100);
    expect(publishes).toHaveLength(2);
    expect(publishes[1]!.isActive()).toBe(true);
    first.kill("SIGKILL");
    second.kill("SIGKILL");
  });

  it("never logs a stream key: node-media-server's own messages are redacted at the source", async () => {
    // a second publisher on a path that has one makes node-media-server log the path at error level
    const a = publisher("sk_anotherSecretKey_abcdef012345");
    children.push(a);
    for (let i = 0; i < 100 && publishes.length < 3; i++) await sleep(100);
    const b = publisher("sk_anotherSecretKey_abcdef012345");
    children.push(b);
    await sleep(2_500);
    a.kill("SIGKILL");
    b.kill("SIGKILL");
    const all = logs.join("\n");
    expect(all).toContain("<redacted>"); // the refusal was logged...
    expect(all).not.toContain("sk_anotherSecretKey_abcdef012345"); // ...without the key
    expect(all).not.toContain(KEY);
  });

  it("redactStreamKeys", () => {
    expect(redactStreamKeys("FLV session x 1.2.3.4 push /live/sk_abcdefgh12345678 error")).toBe(
      "FLV session x 1.2.3.4 push /live/<redacted> error",
    );
    expect(redactStreamKeys("invalid stream path characters: app=live, name=sk_abcdefgh12345678")).toBe(
      "invalid stream path characters: app=live, name=<redacted>",
    );
    expect(redactStreamKeys("Rtmp Server listening on port 0.0.0.0:1935")).toBe("Rtmp Server listening on port 0.0.0.0:1935");
    expect(redactStreamKeys("push /live/<redacted> error, streamPath=/live/sk_abcdefgh12345678 already has a publisher")).toBe(
      "push /live/<redacted> error, streamPath=/live/<redacted> already has a publisher",
    );
    expect(redactStreamKeys("Homepage: https://github.com/illuspas/Node-Media-Server")).toBe(
      "Homepage: https://github.com/illuspas/Node-Media-Server",
    );
    expect(redactStreamKeys("RTMP session abc 1.2.3.4 publish /live/sk_abcdefgh12345678, streamId 3")).toBe(
      "RTMP session abc 1.2.3.4 publish /live/<redacted>, streamId 3",
    );
  });
});
