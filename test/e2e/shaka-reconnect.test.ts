/**
 * Interop: Shaka Player (a second player implementation besides hls.js) in
 * Debian's Chromium plays a live stream through the edge across a
 * broadcaster reconnect: the publisher stops, a new one starts within the
 * grace period, the playlists carry EXT-X-DISCONTINUITY, and playback goes
 * on past it with the master's audio group. An earlier build measured
 * 4 stalls after a live reconnect; this counts Shaka's buffering events and
 * errors and asserts behaviour (no fatal error, the playhead plays into the
 * new run and keeps moving), not timings.
 *
 * Which Shaka: 5.2.12 with `manifest.hls.ignoreManifestProgramDateTime`,
 * i.e. the presentation timeline taken from the playlist's EXTINF durations,
 * as hls.js takes it. Shaka's default places live segments by
 * EXT-X-PROGRAM-DATE-TIME, and our PDT jumps forward at a reconnect by the
 * time the broadcaster was away (it is the publisher's wall clock, which the
 * sync and latency figures rest on): with that, Shaka 5.2.12 rebuilds its
 * segment index ("full playlist rebuild selected for overlap recovery"),
 * finds no segment at its playhead ("Iterator ... should never be null"),
 * jumps forward, and in 5 of our 7 runs then sat stuck (the other two went
 * on, with recoverable errors). The default configuration is opened too
 * and its outcome logged, not asserted.
 *
 * The page is a small static one served by the test (Shaka from
 * node_modules; SHAKA_DEBUG=1 for the debug build); media comes from the
 * edge, cross-origin, as a player site's page would load it.
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import type { MediaPlaylist } from "hls-parser/types.js";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startTestSource, type TestSource } from "../../origin/tools/test-source.js";
import { createStream, eventually, fetchText, parsePlaylist, sleep, type CreatedStream } from "./helpers.js";
import { launchChromium } from "./web-helpers.js";

const require = createRequire(import.meta.url);
const SHAKA = readFileSync(
  require.resolve(
    process.env.SHAKA_DEBUG ? "shaka-player/dist/shaka-player.compiled.debug.js" : "shaka-player/dist/shaka-player.compiled.js",
  ),
  "utf8",
);

/** What the page exposes on window.__shaka. */
interface ShakaReport {
  loaded: boolean;
  /** Shaka's errors (severity 2 = CRITICAL); an exception from load() counts as critical. */
  errors: Array<{ code: number; severity: number; category: number; message?: string }>;
  /** `buffering` events with buffering=true after playback had started: stalls. */
  stalls: number;
  /** `waiting` events of the video element after playback had started. */
  waiting: number;
  currentTime: number;
  /** Program date-time at the playhead (ms), from EXT-X-PROGRAM-DATE-TIME. */
  playheadDate: number | null;
  paused: boolean;
  audioCodec: string | null;
  videoCodec: string | null;
  /** Once a second: [wall ms, currentTime, playhead date ms, buffered end, readyState, audio buffered end, video buffered end]. */
  samples: Array<[number, number, number | null, number | null, number, number | null, number | null]>;
  /** The last requests Shaka's networking engine made (for a diagnosis): [wall ms, type, URL path and query]. */
  requests: Array<[number, number, string]>;
}

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>shaka interop</title></head>
<body>
<video id="video" muted autoplay playsinline width="320" height="180"></video>
<script src="/shaka.js"></script>
<script>
  const report = { loaded: false, errors: [], stalls: 0, waiting: 0, currentTime: 0, playheadDate: null, paused: true, audioCodec: null, videoCodec: null, samples: [], requests: [] };
  window.__shaka = report;
  (async () => {
    shaka.polyfill.installAll();
    const video = document.getElementById("video");
    const player = new shaka.Player();
    await player.attach(video);
    player.getNetworkingEngine().registerRequestFilter((type, request) => {
      const url = new URL(request.uris[0]);
      report.requests.push([Date.now(), type, url.pathname + url.search]);
      if (report.requests.length > 30) report.requests.shift();
    });
    let started = false;
    video.addEventListener("playing", () => { started = true; });
    video.addEventListener("waiting", () => { if (started) report.waiting++; });
    player.addEventListener("buffering", (e) => { if (e.buffering && started) report.stalls++; });
    player.addEventListener("error", (e) => {
      const d = e.detail;
      report.errors.push({ code: d.code, severity: d.severity, category: d.category, message: JSON.stringify(d.data || []).slice(0, 200) });
    });
    setInterval(() => {
      report.currentTime = video.currentTime;
      report.paused = video.paused;
      const date = player.getPlayheadTimeAsDate();
      report.playheadDate = date ? date.getTime() : null;
      const active = player.getVariantTracks().find((t) => t.active);
      report.audioCodec = active ? active.audioCodec : null;
      report.videoCodec = active ? active.videoCodec : null;
      const last = report.samples[report.samples.length - 1];
      if (!last || Date.now() - last[0] >= 1000) {
        const b = video.buffered;
        const info = player.getBufferedInfo();
        const end = (ranges) => (ranges.length ? ranges[ranges.length - 1].end : null);
        report.samples.push([Date.now(), video.currentTime, report.playheadDate, b.length ? b.end(b.length - 1) : null, video.readyState, end(info.audio), end(info.video)]);
      }
    }, 200);
    const config = new URLSearchParams(location.search).get("config");
    if (config) player.configure(JSON.parse(config));
    try {
      await player.load(new URLSearchParams(location.search).get("src"));
      report.loaded = true;
      await video.play().catch(() => {});
    } catch (e) {
      report.errors.push({ code: e.code, severity: e.severity === undefined ? 2 : e.severity, category: e.category, message: String(e && e.message || e) });
    }
  })();
</script>
</body></html>`;

function servePage(): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url?.startsWith("/shaka.js")) {
      res.writeHead(200, { "content-type": "text/javascript" });
      res.end(SHAKA);
    } else if (req.url?.startsWith("/?") || req.url === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(PAGE);
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

const report = (page: Page) => page.evaluate(() => (window as unknown as { __shaka: ShakaReport }).__shaka);

describe("Shaka Player across a broadcaster reconnect", () => {
  const edge = inject("edgeUrl");
  let browser: Browser;
  let server: Server;
  let stream: CreatedStream;
  const sources: TestSource[] = [];

  beforeAll(async () => {
    server = await servePage();
    browser = await launchChromium();
    stream = await createStream("shaka");
  });
  afterAll(async () => {
    for (const source of sources) await source.stop();
    await browser?.close();
    server?.close();
  });

  it("plays through the edge, passes the discontinuity of a reconnect with its audio, and keeps playing without a fatal error", async () => {
    sources.push(startTestSource({ rtmpUrl: stream.ingestUrl, width: 320, height: 180, durationSec: 90 }));
    const masterUrl = `${edge}/live/${stream.streamId}/master.m3u8`;
    const master = await eventually(
      async () => {
        const r = await fetchText(masterUrl);
        return r.status === 200 ? r.text : undefined;
      },
      40_000,
      "the master playlist",
    );
    const mediaUrl = `${edge}/live/${stream.streamId}/${/^(\S+\/index\.m3u8)$/m.exec(master)![1]}`;

    const { port } = server.address() as AddressInfo;
    const consoleLines: string[] = [];
    const pageErrors: string[] = [];
    const open = async (config: object) => {
      const page = await browser.newPage();
      page.on("pageerror", (error) => pageErrors.push(String(error)));
      page.on("console", (message) => consoleLines.push(`${message.type()}: ${message.text()}`.slice(0, 300)));
      // which resource a "Failed to load resource" line was about
      page.on("response", (response) => {
        if (response.status() >= 400) consoleLines.push(`http ${response.status()}: ${response.url()}`.slice(0, 300));
      });
      await page.goto(
        `http://127.0.0.1:${port}/?src=${encodeURIComponent(masterUrl)}&config=${encodeURIComponent(JSON.stringify(config))}`,
      );
      return page;
    };
    // Shaka as configured by default places live HLS segments by EXT-X-PROGRAM-DATE-TIME; the page
    // under test takes the timeline from the playlist (EXTINF), as hls.js does (see the file's header).
    const byPlaylist = await open({ manifest: { hls: { ignoreManifestProgramDateTime: true } } });
    const byDefault = await open({});
    let last: ShakaReport | undefined;
    const diagnose = (error: unknown): never => {
      throw new Error(
        `${(error as Error).message}; shaka ${JSON.stringify(last)}; page errors ${JSON.stringify(pageErrors)}; console ${JSON.stringify(consoleLines.slice(-10))}`,
      );
    };
    const playingOn = (page: Page) =>
      eventually(
        async () => {
          const r = (last = await report(page));
          if (r.errors.some((e) => e.severity === 2)) throw new Error(`shaka: ${JSON.stringify(r.errors)}`);
          return r.loaded && r.currentTime > 2 && !r.paused ? r : undefined;
        },
        45_000,
        "Shaka playing",
      ).catch(diagnose);
    const playing = await playingOn(byPlaylist);
    await playingOn(byDefault); // both configurations load and play the CMAF stream (its audio group included)
    // the variant it plays has the audio rendition's codec: the master's AUDIO group was followed
    expect(playing.videoCodec).toMatch(/^avc1\./);
    expect(playing.audioCodec).toMatch(/^mp4a\.40\.2$/);

    // the broadcaster drops, and a new publisher comes back within the grace period
    const atDrop = await report(byPlaylist);
    await sources[0]!.stop();
    await sleep(2_000);
    sources.push(startTestSource({ rtmpUrl: stream.ingestUrl, width: 320, height: 180, durationSec: 90 }));
    await eventually(
      async () => {
        const p = parsePlaylist((await fetchText(mediaUrl)).text) as MediaPlaylist;
        const at = p.segments.findIndex((s) => s.discontinuity && s.uri);
        return at >= 0 && p.segments.length > at + 2 ? true : undefined;
      },
      40_000,
      "segments after the reconnect",
    );

    // The playhead plays into the new run: the old run had at most the live edge's hold-back (6 s)
    // and a part or two ahead of the playhead when it dropped, so 12 s further on is the new run's media.
    const past = await eventually(
      async () => {
        const r = (last = await report(byPlaylist));
        if (r.errors.some((e) => e.severity === 2)) throw new Error(`shaka: ${JSON.stringify(r.errors)}`);
        return r.currentTime > atDrop.currentTime + 12 ? r : undefined;
      },
      60_000,
      "Shaka's playhead past the discontinuity",
    ).catch(diagnose);
    // and keeps playing (a stall at the live edge of a loaded machine is allowed; being stuck is not)
    const later = await eventually(
      async () => {
        const r = (last = await report(byPlaylist));
        if (r.errors.some((e) => e.severity === 2)) throw new Error(`shaka: ${JSON.stringify(r.errors)}`);
        return r.currentTime > past.currentTime + 4 && !r.paused ? r : undefined;
      },
      30_000,
      "Shaka to keep playing after the discontinuity",
    ).catch(diagnose);
    expect(later.errors.filter((e) => e.severity === 2)).toEqual([]);
    expect(pageErrors).toEqual([]);
    // Shaka's default configuration, for the record (not asserted: see the header)
    const byPdt = await report(byDefault);
    const pdtAdvancing = byPdt.samples.length > 3 && byPdt.samples.at(-1)![1] > byPdt.samples.at(-4)![1] + 1;
    console.log(
      `Shaka (timeline from the playlist) across a reconnect: ${later.stalls} stalls (buffering events), ${later.waiting} waiting events, ` +
        `${later.errors.length} recoverable errors, ${(later.currentTime - atDrop.currentTime).toFixed(1)} s played since the drop; ` +
        `Shaka by default (timeline from PDT): ${byPdt.stalls} stalls, ${byPdt.errors.length} recoverable errors, ` +
        `${pdtAdvancing ? "playing" : `stuck at ${byPdt.currentTime.toFixed(1)} s`}`,
    );
    await byPlaylist.close();
    await byDefault.close();
  });
});
