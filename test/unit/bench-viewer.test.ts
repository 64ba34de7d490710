/**
 * The simulated viewer (test/support): LL-HLS helpers on parsed playlists,
 * the modelled playhead, the sync controller on modelled playheads (virtual
 * time), and the viewer itself against a tiny in-process LL-HLS server whose
 * playlist grows by one part per blocking request (ordering, not timing).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import HLS from "hls-parser";
import type { MediaPlaylist } from "hls-parser/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chainStarts, playheadAt } from "../../bench/lib/playhead.js";
import { ModelPlayhead } from "../support/model-playhead.js";
import { blockingUrl, joinPoint, mediaUnits, nextDirective, offersLowLatency, runSimulatedViewer } from "../support/simulated-viewer.js";
import { SyncController, targetDelayFromPlaylist } from "../../web/player/sync-controller.js";

const T0 = Date.UTC(2026, 0, 1);
const PART = 0.5;
const PARTS_PER_SEGMENT = 4;

/** An LL-HLS media playlist like our origin's, after `total` parts (4 of 0.5 s per 2 s segment). */
function llPlaylist(total: number, options: { window?: number; partsListedFor?: number; ended?: boolean } = {}): string {
  const window = options.window ?? 6;
  const listedFor = options.partsListedFor ?? 2;
  const complete = Math.floor(total / PARTS_PER_SEGMENT);
  const open = total % PARTS_PER_SEGMENT;
  const firstMsn = Math.max(0, complete - window);
  const lines = [
    "#EXTM3U",
    "#EXT-X-VERSION:9",
    "#EXT-X-TARGETDURATION:2",
    `#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=${3 * PART},HOLD-BACK=6`,
    `#EXT-X-PART-INF:PART-TARGET=${PART}`,
    `#EXT-X-MEDIA-SEQUENCE:${firstMsn}`,
    '#EXT-X-MAP:URI="init-e-0.mp4"',
  ];
  const partLines = (msn: number, count: number) => {
    for (let i = 0; i < count; i++) {
      lines.push(`#EXT-X-PART:DURATION=${PART},URI="e-p${msn * PARTS_PER_SEGMENT + i}.m4s"${i % 2 === 0 ? ",INDEPENDENT=YES" : ""}`);
    }
  };
  for (let msn = firstMsn; msn < complete; msn++) {
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(T0 + msn * 2000).toISOString()}`);
    if (msn >= complete - listedFor) partLines(msn, PARTS_PER_SEGMENT);
    lines.push("#EXTINF:2.000,", `e-${msn}.m4s`);
  }
  if (!options.ended) {
    if (open > 0) {
      lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(T0 + complete * 2000).toISOString()}`);
      partLines(complete, open);
    }
    lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="e-p${total}.m4s"`);
  } else lines.push("#EXT-X-ENDLIST");
  return lines.join("\n") + "\n";
}

const parse = (text: string) => HLS.parse(text) as MediaPlaylist;
const BASE = "http://127.0.0.1:1/live/s/360p/index.m3u8";

describe("LL-HLS playlist helpers", () => {
  it("recognizes an LL-HLS playlist and lists parts where listed, whole segments elsewhere, without the hint", () => {
    const playlist = parse(llPlaylist(4 * 8 + 2)); // 8 complete segments, 2 parts of the 9th
    expect(offersLowLatency(playlist)).toBe(true);
    const units = mediaUnits(playlist, BASE);
    // window 6: msn 2..7 complete; parts listed for 6, 7 and the open 8 (within 3 target durations of the end)
    expect(units.filter((u) => u.part < 0).map((u) => u.msn)).toEqual([2, 3, 4, 5]);
    expect(units.filter((u) => u.part >= 0).map((u) => u.uri.split("/").at(-1))).toEqual([
      ...Array.from({ length: 10 }, (_, i) => `e-p${24 + i}.m4s`),
    ]);
    const open = units.filter((u) => u.msn === 8);
    expect(open.map((u) => [u.part, u.offset, u.start! - T0, u.independent])).toEqual([
      [0, 0, 16_000, true],
      [1, 0.5, 16_500, false],
    ]);
    expect(units.every((u) => u.mapUri?.endsWith("/init-e-0.mp4"))).toBe(true);
  });

  it("asks for the next part, or part 0 of the next segment once the newest part closes a segment (as hls.js)", () => {
    expect(nextDirective(parse(llPlaylist(4 * 8 + 2)))).toEqual({ msn: 8, part: 2 });
    expect(nextDirective(parse(llPlaylist(4 * 8)))).toEqual({ msn: 8, part: 0 });
    expect(nextDirective(parse(llPlaylist(4 * 8 + 3)))).toEqual({ msn: 8, part: 3 });
    expect(blockingUrl(BASE, { msn: 8, part: 2 })).toBe(`${BASE}?_HLS_msn=8&_HLS_part=2`);
    expect(blockingUrl(`${BASE}?_HLS_msn=1&_HLS_part=1`, { msn: 9 })).toBe(`${BASE}?_HLS_msn=9`);
  });

  it("joins PART-HOLD-BACK behind the newest part, at the independent part at or before it", () => {
    const playlist = parse(llPlaylist(4 * 8 + 2)); // edge at 17.0 s of program time
    const units = mediaUnits(playlist, BASE);
    const join = joinPoint(units, 1.5)!; // target 15.5 s: part 3 of msn 7 → independent part 2 (15.0 s)
    expect(units[join.index]).toMatchObject({ msn: 7, part: 2 });
    expect(join.at! - T0).toBe(15_500);
    const late = joinPoint(units, 1.0)!; // target 16.0 s: part 0 of msn 8, independent itself
    expect(units[late.index]).toMatchObject({ msn: 8, part: 0 });
    expect(late.at! - T0).toBe(16_000);
    expect(joinPoint([], 1)).toBeNull();
  });
});

describe("modelled playhead", () => {
  it("starts when media covers the start, plays at its rate, stalls at the end of the buffer and resumes", () => {
    const head = new ModelPlayhead();
    head.start(10_250, 0);
    expect(head.playing).toBe(false);
    head.addMedia(10_000, 10_500, 100);
    expect(head.playing).toBe(true);
    expect(head.startedAt).toBe(100);
    head.addMedia(10_500, 11_000, 150);
    head.advance(600); // 500 ms at 1x
    expect(head.position).toBe(10_750);
    expect(head.bufferedAhead()).toBeCloseTo(0.25);
    head.advance(1_100); // runs out at 11_000 after 250 ms, stalled 250 ms
    expect(head.position).toBe(11_000);
    expect(head.playing).toBe(false);
    expect(head.stalls).toBe(1);
    expect(head.stalledMs).toBe(250);
    head.addMedia(11_000, 11_500, 1_300); // arrives 200 ms later
    expect(head.playing).toBe(true);
    expect(head.stalledMs).toBe(450);
    head.rate = 1.05;
    head.advance(1_500);
    expect(head.position).toBeCloseTo(11_210);
  });

  it("merges touching media, jumps small holes and seeks", () => {
    const head = new ModelPlayhead({ gapToleranceMs: 50, maxGapJumpMs: 500 });
    head.addMedia(0, 1_000, 0);
    head.addMedia(1_020, 2_000, 0); // 20 ms of PDT jitter: one range
    head.addMedia(2_300, 3_000, 0); // a 300 ms hole
    expect(head.buffered).toEqual([
      [0, 2_000],
      [2_300, 3_000],
    ]);
    head.start(1_900, 0);
    head.advance(200); // reaches the hole after 100 ms and jumps it
    expect(head.position).toBe(2_300);
    expect(head.playing).toBe(true);
    head.seek(5_000, 300); // past the buffer: waits for media there
    expect(head.playing).toBe(false);
    expect(head.seeks).toBe(1);
    head.addMedia(4_900, 5_400, 400);
    expect(head.playing).toBe(true);
    expect(head.positionAt(500)).toBe(5_100);
  });
});

describe("sync controller on modelled playheads (virtual time)", () => {
  it("brings viewers that joined at different points within the lock band of each other", () => {
    // Media is published in 0.5 s parts, each available 0.8 s after its start; viewers join at
    // different moments and positions (as PART-HOLD-BACK joins do), with and without the controller.
    const targetDelay = targetDelayFromPlaylist({ partHoldBack: 1.5, targetDuration: 2 })!;
    const viewers = [3_000, 4_300, 5_700, 7_100, 9_600].map((joinAt, i) => ({
      joinAt,
      joinOffset: [-1.2, -1.9, -1.5, -1.05, -2.2][i]!,
      head: new ModelPlayhead(),
      controller: new SyncController(),
      synced: new ModelPlayhead(),
    }));
    let published = 0;
    for (let now = 0; now <= 60_000; now += 100) {
      const publishUpTo = now - 800;
      while (published <= publishUpTo) {
        for (const v of viewers) {
          if (v.joinAt <= now) {
            v.head.addMedia(published, published + 500, now);
            v.synced.addMedia(published, published + 500, now);
          }
        }
        published += 500;
      }
      for (const v of viewers) {
        if (now < v.joinAt) continue;
        if (v.head.position === null) {
          // joining: everything published so far arrives at once
          for (let t = 0; t < published; t += 500) {
            v.head.addMedia(t, t + 500, now);
            v.synced.addMedia(t, t + 500, now);
          }
          v.head.start(now + v.joinOffset * 1000, now);
          v.synced.start(now + v.joinOffset * 1000, now);
        }
        v.head.advance(now);
        v.synced.advance(now);
        const decision = v.controller.update({
          now,
          programTime: v.synced.position,
          bufferedAhead: v.synced.bufferedAhead(),
          targetDelay,
          playing: v.synced.playing,
        });
        v.synced.rate = decision.rate;
        if (decision.seekTo !== null) v.synced.seek(decision.seekTo, now);
      }
    }
    const spread = (xs: number[]) => Math.max(...xs) - Math.min(...xs);
    expect(viewers.every((v) => v.head.playing && v.synced.playing)).toBe(true);
    const free = spread(viewers.map((v) => v.head.position!));
    const synced = spread(viewers.map((v) => v.synced.position!));
    expect(free).toBeGreaterThan(1_000);
    expect(synced).toBeLessThanOrEqual(100);
    for (const v of viewers) expect(Math.abs(v.synced.position! - (60_000 - targetDelay * 1000))).toBeLessThanOrEqual(50);
  });
});

describe("playhead over LL-HLS parts (bench/lib/playhead.ts)", () => {
  it("places parts at their offset within the segment", () => {
    const starts = chainStarts({ 10: 2, 11: 2 });
    const played = [
      { msn: 10, offset: 1.5, duration: 0.5, loadedAt: 1_000 },
      { msn: 11, offset: 0, duration: 0.5, loadedAt: 1_200 },
      { msn: 11, offset: 0.5, duration: 0.5, loadedAt: 2_200 },
    ];
    expect(playheadAt(played, starts, 1_000)).toBe(1.5);
    expect(playheadAt(played, starts, 1_600)).toBeCloseTo(2.1);
    expect(playheadAt(played, starts, 2_100)).toBeCloseTo(2.5); // stalled, waiting for the third part
    expect(playheadAt(played, starts, 2_300)).toBeCloseTo(2.6);
  });
});

/**
 * A tiny LL-HLS server: each stream's playlist starts at 8 complete segments
 * and a part; a blocking request for a part that does not exist yet adds
 * parts until it does (time passes instantly). Streams named "plain…" serve
 * the same playlist without the LL-HLS tags and grow a segment per reload.
 * Records every request path and query, by stream.
 */
function fakeOrigin() {
  const state = new Map<string, { total: number; plainLoads: number }>();
  const requestsBy: Array<{ stream: string; path: string }> = [];
  const partTries = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const stream = url.pathname.split("/")[2] ?? "";
    requestsBy.push({ stream, path: url.pathname + url.search });
    if (url.pathname.endsWith("master.m3u8")) {
      res.writeHead(200, { "content-type": "application/vnd.apple.mpegurl" });
      res.end("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-STREAM-INF:BANDWIDTH=800000\n360p/index.m3u8\n");
      return;
    }
    if (url.pathname.endsWith("index.m3u8")) {
      const ll = !stream.startsWith("plain");
      const s = state.get(stream) ?? { total: 4 * 8 + 1, plainLoads: 0 };
      state.set(stream, s);
      const msn = url.searchParams.get("_HLS_msn");
      const part = url.searchParams.get("_HLS_part");
      if (msn !== null) {
        const wanted = Number(msn) * PARTS_PER_SEGMENT + (part === null ? PARTS_PER_SEGMENT : Number(part) + 1);
        if (wanted > s.total) s.total = wanted;
      } else if (!ll && ++s.plainLoads > 1) s.total += PARTS_PER_SEGMENT; // a standard client reloads: a segment later
      let text = llPlaylist(s.total);
      if (!ll)
        text = text
          .split("\n")
          .filter((l) => !/^#EXT-X-(PART|PRELOAD-HINT|SERVER-CONTROL|PART-INF)/.test(l))
          .join("\n");
      // small pause so the viewer's loop yields (not a timing assumption)
      setTimeout(() => {
        res.writeHead(200, { "content-type": "application/vnd.apple.mpegurl" });
        res.end(text);
      }, 5);
      return;
    }
    // "flaky…" streams: part 31 fails once with a 500; "hang…" streams: part 31 never answers
    if (url.pathname.endsWith("-p31.m4s")) {
      const tries = (partTries.get(stream) ?? 0) + 1;
      partTries.set(stream, tries);
      if (stream.startsWith("hang")) return; // left open: the viewer's time-out ends it
      // "dropped…": the connection goes away under the first try; "dropall…": under every try
      if ((stream.startsWith("dropped") && tries === 1) || stream.startsWith("dropall")) {
        req.socket.destroy();
        return;
      }
      if (stream.startsWith("flaky") && tries === 1) {
        res.writeHead(500).end();
        return;
      }
    }
    res.writeHead(200, { "content-type": "video/iso.segment" });
    res.end(Buffer.alloc(100));
  });
  return {
    server,
    /** Paths (stream id replaced by "s") of the requests for `stream`. */
    of(stream: string): string[] {
      return requestsBy.filter((r) => r.stream === stream).map((r) => r.path.replace(`/live/${stream}/`, "/live/s/"));
    },
  };
}

describe("simulated viewer against a fake LL-HLS origin", () => {
  const origin = fakeOrigin();
  let base = "";
  beforeAll(async () => {
    await new Promise<void>((r) => origin.server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(origin.server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => origin.server.close(() => r())));

  it("joins with one plain load, then blocks on the next part and fetches every part once, in order", async () => {
    // long enough for several reloads on a loaded machine (the fake origin answers each at once)
    const stats = await runSimulatedViewer({
      masterUrl: `${base}/live/ll/master.m3u8`,
      durationMs: 1_500,
      variantIndex: 0,
      recordTimeline: true,
    });
    expect(stats.mode).toBe("ll");
    expect(stats.errors).toEqual([]);
    const [master, firstMedia, ...rest] = origin.of("ll");
    expect(master).toBe("/live/s/master.m3u8");
    expect(firstMedia).toBe("/live/s/360p/index.m3u8");
    const blocking = rest.filter((r) => r.includes("_HLS_msn"));
    expect(blocking.length).toBeGreaterThan(3);
    // (a request cut by the deadline may or may not have reached the server)
    expect(blocking.length).toBeGreaterThanOrEqual(stats.blockingReloads - 1);
    expect(blocking.length).toBeLessThanOrEqual(stats.blockingReloads);
    expect(rest.filter((r) => r.endsWith("index.m3u8"))).toEqual([]); // no plain reload after the first
    // Directives step part by part, and to part 0 of the next segment after the 4th part.
    const directives = blocking.map((r) => {
      const q = new URL(r, "http://x").searchParams;
      return Number(q.get("_HLS_msn")) * PARTS_PER_SEGMENT + Number(q.get("_HLS_part"));
    });
    for (let i = 1; i < directives.length; i++) expect(directives[i]).toBe(directives[i - 1]! + 1);
    expect(blocking[0]).toBe("/live/s/360p/index.m3u8?_HLS_msn=8&_HLS_part=1");
    // Parts only (the join lies within listed parts), each once, consecutive from the join.
    const parts = rest.filter((r) => /-p\d+\.m4s$/.test(r)).map((r) => Number(/-p(\d+)\.m4s$/.exec(r)![1]));
    expect(rest.filter((r) => /e-\d+\.m4s$/.test(r))).toEqual([]);
    expect(parts.length).toBeGreaterThanOrEqual(stats.parts);
    expect(parts.length).toBeLessThanOrEqual(stats.parts + 1);
    expect(new Set(parts).size).toBe(parts.length);
    for (let i = 1; i < parts.length; i++) expect(parts[i]).toBe(parts[i - 1]! + 1);
    // PART-HOLD-BACK 1.5 s before the end of part 32 (16.5 s): 15.0 s = part 30, independent.
    expect(parts[0]).toBe(30);
    expect(rest.filter((r) => r.endsWith("init-e-0.mp4"))).toHaveLength(1);
    expect(stats.timeline![0]).toMatchObject({ msn: 7, part: 2, offset: 1, duration: 0.5 });
  });

  it("plays standard HLS when forced (whole segments, plain reloads) and when the playlist has no parts", async () => {
    for (const [stream, mode] of [
      ["forced", "standard"],
      ["plain", "auto"],
    ] as const) {
      const stats = await runSimulatedViewer({ masterUrl: `${base}/live/${stream}/master.m3u8`, durationMs: 300, variantIndex: 0, mode });
      const requests = origin.of(stream);
      expect(stats.mode).toBe("standard");
      expect(stats.errors).toEqual([]);
      expect(stats.parts).toBe(0);
      expect(stats.blockingReloads).toBe(0);
      expect(requests.some((r) => r.includes("_HLS_") || /-p\d+\.m4s$/.test(r))).toBe(false);
      // three target durations behind the live edge: msn 5, 6, 7 of the first load
      const segments = requests.filter((r) => /e-\d+\.m4s$/.test(r));
      expect(segments.slice(0, 3)).toEqual(["/live/s/360p/e-5.m4s", "/live/s/360p/e-6.m4s", "/live/s/360p/e-7.m4s"]);
      expect(segments.length).toBeGreaterThanOrEqual(stats.segments);
    }
  });

  it("retries a failed part, and gives up on one that does not answer in time and moves on", async () => {
    const flaky = await runSimulatedViewer({ masterUrl: `${base}/live/flaky/master.m3u8`, durationMs: 3_000, variantIndex: 0 });
    expect(flaky.errors).toEqual([expect.stringMatching(/^500 .*-p31\.m4s$/)]);
    const flakyParts = origin.of("flaky").filter((r) => /-p\d+\.m4s$/.test(r));
    expect(flakyParts.filter((r) => r.endsWith("-p31.m4s"))).toHaveLength(2);
    expect(flakyParts.some((r) => r.endsWith("-p32.m4s"))).toBe(true);

    // a time-out that a loaded machine's ordinary answers stay well inside, so only the hanging part hits it
    const hang = await runSimulatedViewer({
      masterUrl: `${base}/live/hang/master.m3u8`,
      durationMs: 6_000,
      variantIndex: 0,
      requestTimeoutMs: 1_000,
    });
    expect(hang.errors).toHaveLength(3);
    for (const e of hang.errors) expect(e).toMatch(/^no answer within 1000 ms .*-p31\.m4s$/);
    expect(origin.of("hang").some((r) => r.endsWith("-p32.m4s"))).toBe(true);
  }, 30_000);

  it("sends a request again once when the connection drops under it, as browsers do; a second drop is an error", async () => {
    const once = await runSimulatedViewer({ masterUrl: `${base}/live/dropped/master.m3u8`, durationMs: 2_000, variantIndex: 0 });
    expect(once.errors).toEqual([]);
    expect(once.retried).toBe(1);
    expect(origin.of("dropped").filter((r) => r.endsWith("-p31.m4s"))).toHaveLength(2);
    expect(origin.of("dropped").some((r) => r.endsWith("-p32.m4s"))).toBe(true);

    const always = await runSimulatedViewer({ masterUrl: `${base}/live/dropall/master.m3u8`, durationMs: 2_000, variantIndex: 0 });
    expect(always.errors.length).toBeGreaterThan(0);
    for (const e of always.errors) expect(e).toMatch(/\((UND_ERR_SOCKET|ECONNRESET|EPIPE)\) .*-p31\.m4s$/);
    // every error is a request that was tried twice
    expect(always.retried).toBe(always.errors.length);
    expect(origin.of("dropall").filter((r) => r.endsWith("-p31.m4s"))).toHaveLength(2 * always.errors.length);
  }, 30_000);

  it("models its playhead from the join point, with the sync controller when asked", async () => {
    const stats = await runSimulatedViewer({
      masterUrl: `${base}/live/sync/master.m3u8`,
      durationMs: 300,
      variantIndex: 0,
      // the fake playlist's program time starts at T0: a server clock on that timeline
      playhead: { sync: true, serverNow: () => T0 + 17_000, tickMs: 20 },
    });
    expect(stats.playhead).toBeDefined();
    expect(stats.playhead!.targetDelay).toBe(targetDelayFromPlaylist({ partHoldBack: 1.5, targetDuration: 2 }));
    expect(stats.playhead!.startedAt).not.toBeNull();
    expect(stats.playhead!.position).toBeGreaterThanOrEqual(T0 + 15_000);
    expect(stats.playhead!.syncState).not.toBe("off");
  });
});
