/**
 * The stream lifecycle between the control plane and the origin, end to end:
 * - an admin's end reaches the origin (ENDLIST, recording closed) — before,
 *   the origin kept ingesting a stream D1 said had ended;
 * - a rotated stream key takes the current publisher off the air — before,
 *   it stayed on;
 * - a publish whose transcoder cannot start never shows as live and ends with
 *   its reason — before, it stayed "live" forever (listed, /play 200, master 404).
 */
import { spawn } from "node:child_process";
import type { MediaPlaylist } from "hls-parser/types.js";
import { afterAll, describe, expect, inject, it } from "vitest";
import { resolveFfmpeg } from "../../origin/ffmpeg.js";
import { startTestSource, type TestSource } from "../../origin/tools/test-source.js";
import { createStream, eventually, fetchText, parsePlaylist, signedPost, sleep } from "./helpers.js";

const streamInfo = async (id: string) =>
  (await (await fetch(`${inject("edgeUrl")}/api/streams/${id}`)).json()) as { status: string; endReason?: string | null };

async function liveMediaUrl(streamId: string): Promise<string> {
  const master = await eventually(
    async () => {
      const r = await fetchText(`${inject("edgeUrl")}/live/${streamId}/master.m3u8`);
      return r.status === 200 ? r.text : undefined;
    },
    40_000,
    "the master playlist",
  );
  return `${inject("edgeUrl")}/live/${streamId}/${/^(\S+\/index\.m3u8)$/m.exec(master)![1]}`;
}

describe("control plane → origin", () => {
  const edge = inject("edgeUrl");
  const sources: TestSource[] = [];
  afterAll(async () => {
    for (const s of sources) await s.stop();
  });

  it("an admin's end reaches the origin: ENDLIST and a closed recording within a heartbeat or two", async () => {
    const { apiKey: adminKey } = await signedPost<{ apiKey: string }>("/api/internal/dev/broadcasters", {
      name: "e2e admin",
      role: "admin",
    });
    const stream = await createStream("admin end");
    sources.push(startTestSource({ rtmpUrl: stream.ingestUrl, width: 320, height: 180, durationSec: 60 }));
    const mediaUrl = await liveMediaUrl(stream.streamId);
    expect((await streamInfo(stream.streamId)).status).toBe("live");

    const ended = await fetch(`${edge}/api/admin/streams/${stream.streamId}/end`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminKey}` },
    });
    expect(ended.status).toBe(200);
    const endedAt = Date.now();
    const final = await eventually(
      async () => {
        const p = parsePlaylist((await fetchText(mediaUrl)).text) as MediaPlaylist;
        return p.endlist ? p : undefined;
      },
      20_000,
      "ENDLIST after the admin's end",
    );
    console.log(`admin end → ENDLIST at the edge after ${Date.now() - endedAt} ms`);
    expect(final.segments.length).toBeGreaterThan(0);
    await eventually(
      async () => ((await fetch(`${edge}/vod/${stream.streamId}/index.m3u8`)).status === 200 ? true : undefined),
      20_000,
      "the recording's playlist",
    );
    expect(await streamInfo(stream.streamId)).toMatchObject({ status: "ended", endReason: "admin" });
  });

  it("a rotated stream key takes the current publisher off the air; the new key publishes", async () => {
    const stream = await createStream("rotation");
    sources.push(startTestSource({ rtmpUrl: stream.ingestUrl, width: 320, height: 180, durationSec: 60 }));
    await liveMediaUrl(stream.streamId);
    const rotated = await fetch(`${edge}/api/streams/${stream.streamId}/key/rotate`, {
      method: "POST",
      headers: { authorization: `Bearer ${inject("apiKey")}` },
    });
    expect(rotated.status).toBe(200);
    const { streamKey: newKey } = (await rotated.json()) as { streamKey: string };
    await eventually(
      async () => ((await streamInfo(stream.streamId)).status === "reconnecting" ? true : undefined),
      20_000,
      "the old publisher dropped",
    );
    const newUrl = stream.ingestUrl.replace(/[^/]+$/, newKey);
    sources.push(startTestSource({ rtmpUrl: newUrl, width: 320, height: 180, durationSec: 60 }));
    await eventually(
      async () => ((await streamInfo(stream.streamId)).status === "live" ? true : undefined),
      30_000,
      "live again with the new key",
    );
  });

  it("a publish the transcoder cannot take (no video) never goes live and ends with start_failed", async () => {
    const stream = await createStream("no video");
    const audioOnly = spawn(
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
        "sine=frequency=440:sample_rate=48000",
        "-t",
        "20",
        "-c:a",
        "aac",
        "-f",
        "flv",
        stream.ingestUrl,
      ],
      { stdio: "ignore" },
    );
    try {
      const info = await eventually(
        async () => {
          const i = await streamInfo(stream.streamId);
          return i.status === "ended" ? i : undefined;
        },
        30_000,
        "the failed start to be reported",
      );
      expect(info.endReason).toBe("start_failed");
      const listed = (await (await fetch(`${edge}/api/streams?status=live`)).json()) as { streams: Array<{ streamId: string }> };
      expect(listed.streams.map((s) => s.streamId)).not.toContain(stream.streamId);
      expect((await fetch(`${edge}/api/streams/${stream.streamId}/play`)).status).toBe(409);
    } finally {
      audioOnly.kill("SIGKILL");
      await sleep(100);
    }
  });
});
