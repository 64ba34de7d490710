/**
 * Crash recovery, end to end with real processes: an origin box (its own
 * process, in the vip pool so the stream lands on it) is killed with SIGKILL
 * mid-stream and started again. The stream must continue: the media sequence
 * goes on after an EXT-X-DISCONTINUITY (before: back to 0 with a new epoch,
 * and hls.js froze), and the recording covers the whole stream.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MediaPlaylist } from "hls-parser/types.js";
import { afterAll, describe, expect, inject, it } from "vitest";
import { startTestSource, type TestSource } from "../../origin/tools/test-source.js";
import { ROOT } from "../../scripts/stack.js";
import { eventually, fetchText, parsePlaylist, signedPost, sleep } from "./helpers.js";

const ORIGIN_ID = `origin-restart-${Math.random().toString(36).slice(2, 8)}`;
const HTTP_PORT = Number(process.env.E2E_ORIGIN_HTTP_PORT ?? 18080) + 7;
const RTMP_PORT = Number(process.env.E2E_RTMP_PORT ?? 11935) + 7;

function startOriginProcess(dataDir: string): ChildProcess {
  const child = spawn(process.execPath, ["--import", "tsx", "origin/main.ts"], {
    cwd: ROOT,
    stdio: ["ignore", process.env.E2E_VERBOSE ? "inherit" : "ignore", process.env.E2E_VERBOSE ? "inherit" : "ignore"],
    env: {
      ...process.env,
      ORIGIN_ID,
      ORIGIN_SHARED_SECRET: inject("secret"),
      WORKER_URL: inject("edgeUrl"),
      ORIGIN_HTTP_PORT: String(HTTP_PORT),
      RTMP_PORT: String(RTMP_PORT),
      ORIGIN_BIND: "127.0.0.1",
      ORIGIN_POOL: "vip",
      ORIGIN_CAPACITY: "5",
      ORIGIN_DATA_DIR: dataDir,
      LADDER: "tiny",
      X264_PRESET: "ultrafast",
      RECONNECT_GRACE_MS: "4000",
      THUMBNAILS: "0",
    },
  });
  return child;
}

describe("origin crash and restart", () => {
  const edge = inject("edgeUrl");
  const dataDir = mkdtempSync(join(tmpdir(), "origin-restart-"));
  let origin: ChildProcess | undefined;
  const sources: TestSource[] = [];

  afterAll(async () => {
    for (const source of sources) await source.stop();
    if (origin && origin.exitCode === null) {
      origin.kill("SIGTERM");
      await new Promise((r) => origin!.once("exit", r));
    }
  });

  it("continues the media sequence after a discontinuity, and the recording covers both sides of the crash", async () => {
    origin = startOriginProcess(dataDir);
    await eventually(
      async () => ((await fetch(`http://127.0.0.1:${HTTP_PORT}/healthz`).catch(() => undefined))?.ok ? true : undefined),
      30_000,
      "the origin process",
    );
    const { apiKey } = await signedPost<{ apiKey: string }>("/api/internal/dev/broadcasters", { name: "vip broadcaster", role: "vip" });
    // the vip pool's origin: this process (it heartbeats at start)
    const created = await eventually(
      async () => {
        const response = await fetch(`${edge}/api/streams`, {
          method: "POST",
          headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
          body: JSON.stringify({ title: "crash test" }),
        });
        const stream = (await response.json()) as { streamId: string; ingestUrl: string; originId: string };
        return response.status === 201 && stream.originId === ORIGIN_ID ? stream : undefined;
      },
      20_000,
      "a stream on the restartable origin",
    );
    expect(created.ingestUrl).toContain(`:${RTMP_PORT}/`);
    sources.push(startTestSource({ rtmpUrl: created.ingestUrl, width: 320, height: 180, durationSec: 120 }));

    const master = await eventually(
      async () => {
        const r = await fetchText(`${edge}/live/${created.streamId}/master.m3u8`);
        return r.status === 200 ? r.text : undefined;
      },
      40_000,
      "the master playlist",
    );
    const topPlaylist = /^(\S+\/index\.m3u8)$/m.exec(master)![1]!; // the top rendition: the one recorded
    const mediaUrl = `${edge}/live/${created.streamId}/${topPlaylist}`;
    const media = async () => parsePlaylist((await fetchText(mediaUrl)).text) as MediaPlaylist;
    const before = await eventually(
      async () => {
        const p = await media();
        return p.segments.length >= 4 ? p : undefined;
      },
      30_000,
      "four segments before the crash",
    );
    const lastBefore = before.segments.at(-1)!;
    const epochBefore = lastBefore.uri.split("-")[0];
    const lastMsnBefore = lastBefore.mediaSequenceNumber;

    origin.kill("SIGKILL");
    await new Promise((r) => origin!.once("exit", r));
    await sources[0]!.stop(); // its connection died with the origin
    origin = startOriginProcess(dataDir);
    await eventually(
      async () => ((await fetch(`http://127.0.0.1:${HTTP_PORT}/healthz`).catch(() => undefined))?.ok ? true : undefined),
      30_000,
      "the restarted origin",
    );
    sources.push(startTestSource({ rtmpUrl: created.ingestUrl, width: 320, height: 180, durationSec: 120 }));

    const after = await eventually(
      async () => {
        const p = await media();
        return p.segments.some((s) => !s.uri.startsWith(`${epochBefore}-`)) ? p : undefined;
      },
      40_000,
      "segments from the restarted origin",
    );
    const firstNew = after.segments.find((s) => !s.uri.startsWith(`${epochBefore}-`))!;
    console.log(`before the crash: msn ${lastMsnBefore} (${epochBefore}); after: msn ${firstNew.mediaSequenceNumber} (${firstNew.uri})`);
    expect(firstNew.mediaSequenceNumber).toBeGreaterThan(lastMsnBefore);
    expect(firstNew.discontinuity).toBe(true);
    expect(firstNew.programDateTime!.getTime()).toBeGreaterThan(lastBefore.programDateTime!.getTime());
    expect(after.mediaSequenceBase!).toBeGreaterThan(lastMsnBefore - 6);

    // end the stream: the broadcaster stops, the grace runs out, the recording is closed
    await sources[1]!.stop();
    const vod = await eventually(
      async () => {
        // index.m3u8 (the master) is uploaded last: then the rendition's VOD playlist is there too
        const r = await fetchText(`${edge}/vod/${created.streamId}/index.m3u8`);
        if (r.status !== 200) return undefined;
        return parsePlaylist((await fetchText(`${edge}/vod/${created.streamId}/${topPlaylist}`)).text) as MediaPlaylist;
      },
      40_000,
      "the recording",
    );
    const epochs = new Set(vod.segments.map((s) => s.uri.split("-")[0]));
    expect(epochs.size).toBe(2);
    expect(vod.segments.filter((s) => s.discontinuity)).toHaveLength(1);
    expect(vod.segments.some((s) => s.uri === lastBefore.uri)).toBe(true);
    // every segment of the recording is in R2, before and after the crash
    for (const segment of [vod.segments[0]!, vod.segments.at(-1)!]) {
      const r = await fetch(`${edge}/vod/${created.streamId}/${topPlaylist.replace(/index\.m3u8$/, "")}${segment.uri}`);
      expect(r.status).toBe(200);
      await r.arrayBuffer();
    }
    await sleep(100);
  });
});
