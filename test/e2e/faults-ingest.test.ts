/**
 * Faults at ingest, end to end: a broadcaster whose connection stays open but
 * sends nothing (SIGSTOP on its encoder) no longer freezes the stream; the
 * stream goes to "reconnecting" and the broadcaster's next publish takes over.
 */
import type { MediaPlaylist } from "hls-parser/types.js";
import { afterAll, describe, expect, inject, it } from "vitest";
import { startTestSource, type TestSource } from "../../origin/tools/test-source.js";
import { createStream, eventually, fetchText, parsePlaylist } from "./helpers.js";

describe("silent broadcaster", () => {
  const edge = inject("edgeUrl");
  const sources: TestSource[] = [];
  afterAll(async () => {
    for (const source of sources) {
      source.process.kill("SIGCONT");
      await source.stop();
    }
  });

  it("a frozen encoder ends its run within seconds (reconnecting) and the next publish resumes the stream", async () => {
    const stream = await createStream("silent broadcaster");
    const first = startTestSource({ rtmpUrl: stream.ingestUrl, width: 320, height: 180, durationSec: 60 });
    sources.push(first);
    const mediaUrl = await eventually(
      async () => {
        const master = await fetchText(`${edge}/live/${stream.streamId}/master.m3u8`);
        if (master.status !== 200) return undefined;
        return `${edge}/live/${stream.streamId}/${/^(\S+\/index\.m3u8)$/m.exec(master.text)![1]}`;
      },
      40_000,
      "the stream to go live",
    );
    // This stream's own status, as the origin reports it to the control plane: the origin-wide
    // gauge also counts other files' streams still in their reconnect grace on the shared stack.
    const status = async () => ((await (await fetch(`${edge}/api/streams/${stream.streamId}`)).json()) as { status: string }).status;
    expect(await status()).toBe("live");

    first.process.kill("SIGSTOP"); // the TCP connection stays open, nothing is sent
    const frozenAt = Date.now();
    await eventually(
      async () => ((await status()) === "reconnecting" ? true : undefined),
      12_000,
      "the origin to notice the silent publisher",
    );
    const noticedAfter = Date.now() - frozenAt;
    console.log(`silent publisher noticed after ${noticedAfter} ms`);
    expect(noticedAfter).toBeLessThan(12_000);
    expect((await fetchText(mediaUrl)).text).not.toContain("#EXT-X-ENDLIST");

    // the broadcaster comes back (same key) within the grace period: accepted, a discontinuity, the stream goes on
    const second = startTestSource({ rtmpUrl: stream.ingestUrl, width: 320, height: 180, durationSec: 60 });
    sources.push(second);
    const resumed = await eventually(
      async () => {
        const playlist = parsePlaylist((await fetchText(mediaUrl)).text) as MediaPlaylist;
        return playlist.segments.some((s) => s.discontinuity) ? playlist : undefined;
      },
      30_000,
      "the stream to resume after a discontinuity",
    );
    expect(resumed.endlist).toBe(false);
    await eventually(async () => ((await status()) === "live" ? true : undefined), 10_000, "the stream to be live again");
  });
});
