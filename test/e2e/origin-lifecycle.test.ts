/**
 * The origin on its own, against a small signed control plane: a refused key
 * never starts FFmpeg, an accepted one does, and stopping the origin leaves no
 * FFmpeg behind.
 */
import { createServer, type Server } from "node:http";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyRequest } from "../../common/signing.js";
import { loadOriginConfig } from "../../origin/config.js";
import { startOrigin, type RunningOrigin } from "../../origin/main.js";
import { startTestSource } from "../../origin/tools/test-source.js";
import { runningTranscoderPids, runningTranscoders } from "../../origin/transcode/transcoder.js";
import { eventually, sleep } from "./helpers.js";

const SECRET = "lifecycle-secret-0123456789abcdef";
const GOOD_KEY = "sk_lifecycle_good_key_0001";
/** Stream keys the fake control plane accepts, and the stream each maps to. */
const KEYS: Record<string, string> = { [GOOD_KEY]: "lifecycle0001", sk_lifecycle_good_key_0002: "lifecycle0002" };

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("origin lifecycle", () => {
  let control: Server;
  let origin: RunningOrigin;
  const calls: Array<{ path: string; signed: boolean; body: string }> = [];
  const ports = { control: 19787, http: 19080, rtmp: 19935 };

  beforeAll(async () => {
    control = createServer((req, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", async () => {
        const signed =
          (await verifyRequest(SECRET, req.method!, req.url!, body, {
            timestamp: req.headers[TIMESTAMP_HEADER] as string,
            nonce: req.headers[NONCE_HEADER] as string,
            signature: req.headers[SIGNATURE_HEADER] as string,
          })) !== null;
        calls.push({ path: req.url!, signed, body });
        res.setHeader("content-type", "application/json");
        if (!signed) {
          res.statusCode = 401;
          res.end(JSON.stringify({ error: { code: "bad_signature", message: "no" } }));
        } else if (req.url === "/api/internal/publish") {
          const streamId = KEYS[JSON.parse(body).streamKey as string];
          res.statusCode = streamId ? 200 : 404;
          res.end(JSON.stringify(streamId ? { streamId } : { error: { code: "unknown_stream_key", message: "no" } }));
        } else {
          res.end("{}");
        }
      });
    });
    await new Promise<void>((r) => control.listen(ports.control, "127.0.0.1", () => r()));
    origin = await startOrigin(
      loadOriginConfig({
        ORIGIN_SHARED_SECRET: SECRET,
        WORKER_URL: `http://127.0.0.1:${ports.control}`,
        ORIGIN_HTTP_PORT: String(ports.http),
        RTMP_PORT: String(ports.rtmp),
        ORIGIN_BIND: "127.0.0.1",
        LADDER: "tiny",
        X264_PRESET: "ultrafast",
        ORIGIN_DATA_DIR: mkdtempSync(join(tmpdir(), "origin-lifecycle-")),
      }),
      () => {},
    );
  });
  afterAll(async () => {
    await origin?.stop();
    await new Promise((r) => control?.close(r));
  });

  it("signs every call to the control plane", async () => {
    await eventually(
      async () => (calls.some((c) => c.path === "/api/internal/origins/heartbeat") ? true : undefined),
      5_000,
      "a heartbeat",
    );
    expect(calls.every((c) => c.signed)).toBe(true);
  });

  it("refuses an unknown key without starting FFmpeg", async () => {
    const source = startTestSource({
      rtmpUrl: `rtmp://127.0.0.1:${ports.rtmp}/live/sk_not_a_real_key_000`,
      width: 160,
      height: 90,
      durationSec: 10,
    });
    let sawTranscoder = false;
    const watcher = setInterval(() => (sawTranscoder ||= runningTranscoders() > 0), 20);
    const code = await Promise.race([source.exited, sleep(15_000).then(() => "still running")]);
    clearInterval(watcher);
    await source.stop();
    expect(code).not.toBe("still running");
    expect(sawTranscoder).toBe(false);
    expect(calls.some((c) => c.path === "/api/internal/publish" && c.body.includes("sk_not_a_real_key_000"))).toBe(true);
  });

  it("takes two broadcasters at once, then leaves no FFmpeg running after stop()", async () => {
    const sources = Object.keys(KEYS).map((key) =>
      startTestSource({ rtmpUrl: `rtmp://127.0.0.1:${ports.rtmp}/live/${key}`, width: 160, height: 90, durationSec: 30 }),
    );
    try {
      for (const streamId of Object.values(KEYS)) {
        await eventually(
          async () => (origin.registry.get(streamId)?.packager.getObject("master.m3u8") ? true : undefined),
          20_000,
          `packaged output of ${streamId}`,
        );
      }
      expect(origin.registry.counts().active).toBe(2);
      const pids = runningTranscoderPids();
      expect(pids.length).toBe(2);
      await origin.stop();
      expect(runningTranscoders()).toBe(0);
      await eventually(async () => (pids.every((pid) => !isAlive(pid)) ? true : undefined), 5_000, "FFmpeg to exit");
      expect(calls.some((c) => c.path === "/api/internal/streams/lifecycle0001/status" && c.body.includes('"ended"'))).toBe(true);
    } finally {
      await Promise.all(sources.map((source) => source.stop()));
    }
  });
});
