/**
 * The bench's LL-HLS figures (pure parts): options, the offload mix and
 * figures per object type, origin metric deltas with blocking answers and
 * parts, and the sync spread of modelled playheads.
 */
import { describe, expect, it } from "vitest";
import { oursOriginDelta, parsePrometheus } from "../../bench/lib/origin-counts.js";
import { lineChart } from "../../bench/lib/svg.js";
import { parseOptions } from "../../bench/options.js";
import { standardShare } from "../../bench/lib/viewers.js";
import { offloadFigures, offloadRows, type OffloadEntry } from "../../bench/phases/offload-report.js";
import { chainedPositions, modelledPositions } from "../../bench/phases/sync.js";
import type { ViewerStats } from "../support/simulated-viewer.js";

describe("bench options for LL-HLS", () => {
  it("passes --part-ms through and compares 200 ms parts in a full run only", () => {
    expect(parseOptions([], "/out")).toMatchObject({ partMs: null, comparePartMs: [200], offloadStandardPct: 10 });
    expect(parseOptions(["--smoke"], "/out").comparePartMs).toEqual([]);
    const o = parseOptions(["latency", "--part-ms", "500", "--compare-part-ms", "250,200", "--offload-standard-pct", "0"], "/out");
    expect(o).toMatchObject({ phases: ["latency"], partMs: 500, comparePartMs: [250, 200], offloadStandardPct: 0 });
    expect(parseOptions(["--compare-part-ms", "0"], "/out").comparePartMs).toEqual([]);
    expect(() => parseOptions(["--part-ms", "50"], "/out")).toThrow(/100 to 2000/);
    expect(() => parseOptions(["--part-ms", "333.5"], "/out")).toThrow(/whole milliseconds/);
    expect(() => parseOptions(["--offload-standard-pct", "150"], "/out")).toThrow(/percentage/);
  });
});

describe("offload mix and figures", () => {
  it("spreads the standard-HLS share over the audience, at least one viewer", () => {
    const pick = (count: number, pct: number) =>
      Array.from({ length: count }, (_, i) => standardShare(count, pct)(i)).filter((m) => m === "standard").length;
    expect(pick(10, 10)).toBe(1);
    expect(pick(100, 10)).toBe(10);
    expect(pick(1000, 10)).toBe(100);
    expect(pick(5, 10)).toBe(1);
    expect(pick(100, 0)).toBe(0);
    const modes = Array.from({ length: 10 }, (_, i) => standardShare(10, 20)(i));
    expect(modes.filter((m) => m === "standard")).toHaveLength(2);
    expect(modes.filter((m) => m === "auto")).toHaveLength(8);
  });

  it("reads blocking answers and parts from the origin's metrics", () => {
    const before = parsePrometheus(
      [
        'origin_hls_requests_total{type="blocking",status="200"} 10',
        'origin_hls_requests_total{type="part",status="200"} 10',
        'origin_hls_object_fetches_total{type="blocking"} 10',
        'origin_hls_unique_objects_total{type="blocking"} 10',
        'origin_hls_object_fetches_total{type="part"} 10',
        'origin_hls_unique_objects_total{type="part"} 10',
      ].join("\n"),
    );
    const after = parsePrometheus(
      [
        'origin_hls_requests_total{type="blocking",status="200"} 70',
        'origin_hls_requests_total{type="blocking",status="503"} 1',
        'origin_hls_requests_total{type="part",status="200"} 70',
        'origin_hls_requests_total{type="media",status="200"} 20',
        'origin_hls_object_fetches_total{type="blocking"} 70',
        'origin_hls_unique_objects_total{type="blocking"} 70',
        'origin_hls_object_fetches_total{type="part"} 70',
        'origin_hls_unique_objects_total{type="part"} 68',
        'origin_hls_object_fetches_total{type="media"} 20',
        'origin_hls_unique_objects_total{type="media"} 2',
        'origin_hls_max_fetches_per_object{type="part"} 2',
        'origin_hls_max_fetches_per_object{type="blocking"} 1',
      ].join("\n"),
    );
    const delta = oursOriginDelta(before, after);
    expect(delta.requestsByType).toEqual({ blocking: 61, part: 60, media: 20 });
    expect(delta.fetchesByType).toEqual({ blocking: 60, part: 60, media: 20 });
    expect(delta.uniqueByType).toEqual({ blocking: 60, part: 58, media: 2 });
    expect(delta.maxPerObjectByType).toEqual({ part: 2, blocking: 1 });

    const entry: OffloadEntry = {
      system: "ours",
      viewers: 10,
      load: "1",
      origin: delta,
      aggregate: {
        viewers: 10,
        requests: 1_000,
        requestsByType: { blocking: 480, part: 480, media: 30, master: 10 },
        segments: 5,
        parts: 480,
        blockingReloads: 480,
        bytes: 0,
        errors: 0,
        errorSamples: [],
        retried: 0,
        tiers: { "edge-hit": 500, "edge-coalesced": 100, origin: 400 },
        distinctByType: { segment: 5, init: 2, part: 60, blocking: 60 },
        renditions: 2,
        seconds: 10,
        byMode: {
          ll: { viewers: 9, requests: 900, viewerSeconds: 90, medianLagMs: 900 },
          standard: { viewers: 1, requests: 20, viewerSeconds: 10, medianLagMs: 4_100 },
        },
      },
    };
    const f = offloadFigures(entry);
    expect(f.originPerObject.blocking).toBe(1);
    expect(f.originPerObject.part).toBeCloseTo(60 / 58);
    expect(f.originPerObject.segment).toBeUndefined();
    expect(f.requestsPerViewerSecond).toEqual({ ll: 10, standard: 2 });
    expect(f.plainPlaylistFetchesPerSecond).toBe(1);
    expect(f.offloadPct).toBeCloseTo(100 * (1 - 141 / 1000));
    expect(f.edgeHitPct).toBe(60);
    expect(f.tiers).toBe("edge-hit 500, origin 400, edge-coalesced 100");
    expect(f.lag).toBe("0.90 s / 4.10 s");
    const peerEntry: OffloadEntry = {
      ...entry,
      system: "peer",
      origin: {
        requests: 30,
        requestsByType: { media: 20, segment: 10 },
        fetchesByType: { media: 20, segment: 10 },
        uniqueByType: { media: 2, segment: 10 },
        maxPerObjectByType: { segment: 1 },
      },
      aggregate: { ...entry.aggregate, byMode: { standard: { viewers: 10, requests: 200, viewerSeconds: 100, medianLagMs: null } } },
    };
    expect(offloadRows([entry], [10], false).every((r) => r.peer === null)).toBe(true);
    const rows = offloadRows([entry, peerEntry], [10], true);
    const byMeasure = new Map(rows.map((r) => [r.measure, r]));
    expect(byMeasure.get("origin fetches per blocking playlist answer")).toMatchObject({ ours: 1, peer: "n/a (no LL-HLS)" });
    expect(byMeasure.get("origin fetches per segment")).toMatchObject({ ours: null, peer: 1 });
    expect(byMeasure.get("requests per viewer per second, standard viewers")).toMatchObject({ ours: 2, peer: 2 });
    expect(byMeasure.get("requests per viewer per second, LL-HLS viewers")).toMatchObject({ ours: 10, peer: "n/a (no LL-HLS)" });
    expect(byMeasure.get("most origin fetches of one part / blocking answer / segment")?.ours).toBe("2 / 1 / —");
    expect(byMeasure.get("viewers' lag behind live at the end, median, LL-HLS / standard")).toMatchObject({
      ours: "0.90 s / 4.10 s",
      peer: null,
    });

    // the like-for-like run (every viewer of ours on standard HLS) gets its own group, beside the mixed one
    const standardOurs: OffloadEntry = { ...peerEntry, system: "ours", allStandard: true };
    const both = offloadRows([entry, peerEntry, standardOurs, { ...peerEntry, allStandard: true }], [10], true);
    const groups = [...new Set(both.map((r) => r.group))];
    expect(groups).toEqual(["offload 10 viewers", "offload 10 viewers, all standard HLS on both"]);
    const standardRows = both.filter((r) => r.group.endsWith("on both"));
    expect(standardRows.find((r) => r.measure === "origin fetches per segment")).toMatchObject({ ours: 1, peer: 1 });
    // the mixed group still pairs the mixed entry with the peer's
    expect(both.find((r) => r.group === "offload 10 viewers" && r.measure === "origin fetches per segment")).toMatchObject({
      ours: null,
      peer: 1,
    });
  });
});

describe("sync spread of modelled playheads", () => {
  const viewer = (
    playhead: ViewerStats["playhead"],
    timeline?: ViewerStats["timeline"],
    durations?: ViewerStats["durations"],
  ): ViewerStats => ({
    requests: 0,
    errors: [],
    retried: 0,
    segments: 0,
    parts: 0,
    blockingReloads: 0,
    bytes: 0,
    tiers: {},
    playlists: [],
    ended: false,
    startedAt: 0,
    playhead,
    timeline,
    durations,
  });
  const head = (position: number | null, at: number, playing: boolean, rate = 1) => ({
    position,
    at,
    playing,
    rate,
    startedAt: 0,
    stalls: 0,
    stalledMs: 0,
    seeks: 0,
    syncState: "locked" as const,
    offset: 0,
    targetDelay: 1.3,
    samples: [],
  });

  it("moves each playhead to the common instant at its rate, unless stalled, and skips those that never played", () => {
    const stats = [
      viewer(head(10_000, 1_000, true)),
      viewer(head(10_000, 1_100, true, 1.05)),
      viewer(head(9_000, 900, false)),
      viewer(head(null, 1_000, false)),
      viewer(undefined),
    ];
    expect(modelledPositions(stats, 1_200)).toEqual([10_200, 10_000 + 100 * 1.05, 9_000]);
  });

  it("places standard viewers on the EXTINF-chained timeline", () => {
    const a = viewer(
      undefined,
      [
        { msn: 1, duration: 2, loadedAt: 0, discontinuity: false },
        { msn: 2, duration: 2, loadedAt: 100, discontinuity: false },
      ],
      { 1: 2, 2: 2 },
    );
    const b = viewer(undefined, [{ msn: 2, duration: 2, loadedAt: 500, discontinuity: false }], { 2: 2, 3: 2 });
    expect(chainedPositions([a, b], 1_500)).toEqual([1.5, 3]);
  });
});

describe("latency chart legend", () => {
  it("wraps the legend onto rows of as many 240 px entries as fit (two at 760 px)", () => {
    const series = Array.from({ length: 5 }, (_, i) => ({
      name: `s${i}`,
      color: "#000",
      points: [
        [0, 1],
        [1, 2],
      ] as Array<[number, number]>,
    }));
    const svg = lineChart(series, { title: "t", xLabel: "x", yLabel: "y", height: 420 });
    const ys = [...svg.matchAll(/<text x="[\d.]+" y="([\d.]+)">s\d<\/text>/g)].map((m) => Number(m[1]));
    expect(ys).toEqual([370, 370, 388, 388, 406]);
  });
});
