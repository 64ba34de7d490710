/**
 * The watch page in a real browser: Debian's Chromium driven by
 * playwright-core plays the edge URL with hls.js, and the video advances.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestSource, type TestSource } from "../../origin/tools/test-source.js";
import { createStream, eventually, fetchText, sleep, type CreatedStream } from "./helpers.js";
import { launchChromium } from "./web-helpers.js";

describe("watch page in Chromium", () => {
  let browser: Browser;
  let stream: CreatedStream;
  let source: TestSource;

  beforeAll(async () => {
    stream = await createStream("browser");
    source = startTestSource({ rtmpUrl: stream.ingestUrl, width: 320, height: 180, durationSec: 40 });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await source?.stop();
  });

  it("plays the stream: currentTime advances", async () => {
    await eventually(
      async () => ((await fetchText(stream.playbackUrl)).status === 200 ? true : undefined),
      40_000,
      "the stream to be playable",
    );
    const page = await browser.newPage();
    const consoleErrors: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(message.text());
    });
    await page.goto(stream.watchUrl);
    expect(await page.title()).not.toBe("");
    const supported = await page.evaluate(() => MediaSource.isTypeSupported('video/mp4; codecs="avc1.64000d,mp4a.40.2"'));
    expect(supported, "this Chromium cannot decode H.264/AAC").toBe(true);

    const currentTime = () => page.evaluate(() => document.querySelector("video")?.currentTime ?? 0);
    const first = await eventually(
      async () => {
        const t = await currentTime();
        return t > 0.5 ? t : undefined;
      },
      30_000,
      "playback to start",
    );
    await sleep(3_000);
    const later = await currentTime();
    expect(later).toBeGreaterThan(first + 1.5);
    const paused = await page.evaluate(() => document.querySelector("video")?.paused);
    expect(paused).toBe(false);
    expect(consoleErrors.filter((e) => !/favicon/.test(e))).toEqual([]);
    await page.close();
  });
});
