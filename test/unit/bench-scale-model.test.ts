import { describe, expect, it } from "vitest";
import {
  DEFAULT_SCALE_INPUTS,
  audienceAtLimit,
  fmt,
  mediaLoad,
  objectRates,
  relaySensitivity,
  SENSITIVITY_ISOLATE_RPS,
  scaleModel,
  socketLoad,
  viewerRps,
  type ScaleInputs,
} from "../../bench/lib/scale-model.js";
import { renderScaleModel } from "../../bench/lib/scale-model-report.js";
import { parseScaleArgs } from "../../bench/scale-model.js";

/** Round figures so the arithmetic can be checked by hand. */
const ROUND: ScaleInputs = {
  ...DEFAULT_SCALE_INPUTS,
  viewers: 1_000_000,
  colos: 100,
  regions: 10,
  renditions: 2,
  audioRenditions: 0,
  partSeconds: 0.25,
  segmentSeconds: 2,
  plainPlaylistMaxAgeSeconds: 1,
  llShare: 1,
  isolateRps: 8_000,
  maxIsolatesPerColo: 100,
};

describe("scale model: object rates and viewer requests", () => {
  it("counts parts, blocking answers, segments and plain refreshes per playlist", () => {
    const r = objectRates(ROUND);
    expect(r.partsPerSecond).toBe(4);
    expect(r.blockingAnswersPerSecond).toBe(4);
    expect(r.segmentsPerSecond).toBe(0.5);
    expect(r.plainRefreshesPerSecond).toBe(1);
    expect(r.liveEdgePerSecond).toBe(8);
    expect(r.perColoPerSecond).toBe(1.5);
    expect(objectRates({ ...ROUND, audioRenditions: 1 }).playlists).toBe(3);
  });

  it("an LL-HLS viewer makes a blocking reload and a part per part; a separate audio playlist doubles it", () => {
    expect(viewerRps(ROUND)).toBe(8);
    expect(viewerRps({ ...ROUND, audioRenditions: 1 })).toBe(16);
    expect(viewerRps({ ...ROUND, llShare: 0, standardViewerRps: 1.2 })).toBeCloseTo(1.2);
    expect(viewerRps({ ...ROUND, llShare: 0.5, standardViewerRps: 1 })).toBeCloseTo(4.5);
  });
});

describe("scale model: media tiers", () => {
  it("follows the requests from the viewers to the origin", () => {
    const m = mediaLoad(ROUND);
    expect(m.viewersPerColo).toBe(10_000);
    expect(m.colosPerRegion).toBe(10);
    // 10,000 viewers × 8 req/s = 80,000 req/s per colo → 10 isolates of 8,000
    expect(m.isolatesPerColo).toBe(10);
    expect(m.edgeRps).toBe(8_000_000);
    // every isolate asks for each live-edge object of both playlists; segments and plain refreshes once per colo
    expect(m.coloToRelayRps).toBe(10 * 2 * 8 + 2 * 1.5);
    expect(m.relayRps).toBe(10 * (10 * 2 * 8 + 2 * 1.5));
    // the mother: each object once per region; the origin: once
    expect(m.motherRps).toBe(10 * 2 * 9.5);
    expect(m.originRps).toBe(2 * 9.5);
    expect(m.heldAtRelay).toBe(10 * 10 * 2);
    expect(m.heldAtMother).toBe(20);
  });

  it("a small audience reaches few colos and regions, and isolates only ask for what their viewers watch", () => {
    const m = mediaLoad(ROUND, 5);
    expect(m.activeColos).toBe(5);
    expect(m.activeRegions).toBe(5);
    expect(m.isolatesPerColo).toBe(1);
    expect(m.coloToRelayRps).toBe(1 * 8 + 1 * 1.5);
    expect(m.motherRps).toBe(5 * 1 * 9.5);
    expect(mediaLoad(ROUND, 0).edgeRps).toBe(0);
  });

  it("caps isolates per colo", () => {
    expect(mediaLoad({ ...ROUND, maxIsolatesPerColo: 4 }).isolatesPerColo).toBe(4);
  });

  it("finds the smallest audience past a limit, or none", () => {
    expect(audienceAtLimit((n) => n * 2, 1_000)).toBe(501);
    expect(audienceAtLimit(() => 5, 1_000)).toBeNull();
    expect(audienceAtLimit(() => 5_000, 1_000)).toBe(1);
  });

  it("names, per tier, the audience where one instance passes the Durable Object limit", () => {
    const report = scaleModel(ROUND);
    const relay = report.tiers.find((t) => t.tier.startsWith("regional relay"))!;
    const mother = report.tiers.find((t) => t.tier.startsWith("mother"))!;
    expect(relay.limitRps).toBe(1_000);
    expect(relay.rpsPerInstance).toBe(1_630);
    // the audience found is the first one over the limit
    expect(relay.audienceAtLimit).not.toBeNull();
    expect(mediaLoad(ROUND, relay.audienceAtLimit!).relayRps).toBeGreaterThan(1_000);
    expect(mediaLoad(ROUND, relay.audienceAtLimit! - 1).relayRps).toBeLessThanOrEqual(1_000);
    // the mother's rate stops growing once every region has every playlist: 190 req/s
    expect(mother.rpsPerInstance).toBe(190);
    expect(mother.audienceAtLimit).toBeNull();
    expect(
      scaleModel({ ...ROUND, regions: 100, colos: 300 }).tiers.find((t) => t.tier.startsWith("mother"))!.audienceAtLimit,
    ).not.toBeNull();
  });
});

describe("scale model: how the relay depends on the isolate assumption", () => {
  it("fewer requests per isolate mean more isolates and more relay requests; one isolate per colo is the floor", () => {
    const rows = relaySensitivity(ROUND);
    expect(rows.map((r) => r.isolateRps)).toEqual([...SENSITIVITY_ISOLATE_RPS]);
    for (let k = 1; k < rows.length; k++) {
      expect(rows[k]!.isolatesPerColo).toBeLessThanOrEqual(rows[k - 1]!.isolatesPerColo);
      expect(rows[k]!.relayRps).toBeLessThanOrEqual(rows[k - 1]!.relayRps);
    }
    const single = rows.at(-1)!;
    expect(single.isolatesPerColo).toBe(1);
    // 10 colos per region × 2 playlists × (8 live-edge + 1.5 per-colo objects/s)
    expect(single.relayRps).toBe(10 * 2 * 9.5);
    expect(single.audienceAtLimit).toBeNull();
    expect(scaleModel(ROUND).relaySensitivity).toEqual(rows);
  });
});

describe("scale model: sockets", () => {
  it("spreads sockets over shards and counts the room's pushes and plan requests", () => {
    const storm = { ...ROUND, sockets: 100_000, shardSockets: 1_000, eventUpdatesPerSecond: 2, socketJoinSeconds: 100 };
    const s = socketLoad({ ...storm, shardPlanColoCache: 0 });
    expect(s.shards).toBe(100);
    expect(s.socketsPerShard).toBe(1_000);
    expect(s.roomPushesPerSecond).toBe(200);
    // 1,000 joins/s, every placing isolate asks the plan once a second (at most the isolates there are: 100 colos × 10)
    expect(s.roomPlanRps).toBe(1_000);
    expect(s.shardRpsDuringJoin).toBe(10 + 2);
    expect(s.socketsPerObject).toBe(1_000);
    // with the plan shared through each colo's cache: one asker per colo
    expect(socketLoad({ ...storm, shardPlanColoCache: 1 }).roomPlanRps).toBe(100);
    expect(scaleModel({ ...storm, shardPlanColoCache: 1 }).socketAudienceAtLimit[2]!.audience).toBeNull();
    expect(scaleModel({ ...storm, isolateRps: 1_000, shardPlanColoCache: 0 }).socketAudienceAtLimit[2]!.audience).not.toBeNull();
  });

  it("without shards every socket is on the room: the hibernatable socket limit is the audience limit", () => {
    const report = scaleModel({ ...ROUND, shardSockets: 0 });
    expect(report.sockets.shards).toBe(0);
    expect(report.sockets.socketsPerObject).toBe(ROUND.sockets);
    const unsharded = report.socketAudienceAtLimit[0]!;
    expect(unsharded.audience).toBe(32_769);
    expect(report.socketAudienceAtLimit[1]!.audience).toBeNull();
  });

  it("with shards, the room's pushes limit the audience at limit × shard size / updates per second", () => {
    const report = scaleModel({ ...ROUND, shardSockets: 1_000, eventUpdatesPerSecond: 1 });
    expect(report.socketAudienceAtLimit[1]!.audience).toBe(1_000_001);
  });
});

describe("scale model: rendering and flags", () => {
  it("prints every tier, the limits and their documentation pages", () => {
    const md = renderScaleModel(scaleModel(DEFAULT_SCALE_INPUTS));
    for (const text of [
      "regional relay",
      "mother",
      "origin",
      "developers.cloudflare.com/durable-objects/platform/limits",
      "32,768",
      "ASSUMPTION",
    ]) {
      expect(md).toContain(text);
    }
  });

  it("formats numbers with 3 significant digits", () => {
    expect(fmt(1_234_567.8)).toBe("1,234,568");
    expect(fmt(10)).toBe("10");
    expect(fmt(12.34)).toBe("12.3");
    expect(fmt(0.3333)).toBe("0.333");
    expect(fmt(0)).toBe("0");
  });

  it("takes every input as a flag and refuses the rest", () => {
    const { inputs, outDir } = parseScaleArgs(["--viewers", "2000", "--shard-sockets", "0", "--out", "/tmp/x", "--ll-share", "0.5"]);
    expect(inputs.viewers).toBe(2000);
    expect(inputs.shardSockets).toBe(0);
    expect(inputs.llShare).toBe(0.5);
    expect(inputs.colos).toBe(DEFAULT_SCALE_INPUTS.colos);
    expect(outDir).toBe("/tmp/x");
    expect(() => parseScaleArgs(["--nope", "1"])).toThrow(/unknown option/);
    expect(() => parseScaleArgs(["--viewers", "0"])).toThrow(/positive/);
    expect(() => parseScaleArgs(["--colos"])).toThrow(/positive/);
    expect(() => parseScaleArgs(["--ll-share", "2"])).toThrow(/fraction/);
  });
});

describe("multi-colo phase (pure parts)", () => {
  it("spreads colos round-robin over the regions and routes a colo URL to the edge with the dev headers", async () => {
    const { pickColos, coloUrl, routeColoUrl } = await import("../../bench/phases/colos.js");
    const colos = pickColos(21);
    expect(colos).toHaveLength(21);
    expect(new Set(colos.map((c) => c.colo)).size).toBe(21);
    const perRegion = (r: string) => colos.filter((c) => c.region === r).length;
    expect([perRegion("na"), perRegion("eu"), perRegion("ap")]).toEqual([7, 7, 7]);
    expect(() => pickColos(31)).toThrow(/colos/);
    const url = coloUrl("http://127.0.0.1:27787/live/abc/master.m3u8", { colo: "fra", region: "eu" });
    expect(url).toBe("http://c-fra-eu.colo.invalid:27787/live/abc/master.m3u8");
    // a relative URI resolved against it keeps the colo
    const part = new URL("360p/x-p1.m4s", url).href;
    expect(routeColoUrl(part, "127.0.0.1")).toEqual({
      url: "http://127.0.0.1:27787/live/abc/360p/x-p1.m4s",
      headers: { "X-Dev-Colo": "fra", "X-Dev-Region": "eu" },
      region: "eu",
    });
    expect(routeColoUrl("http://127.0.0.1:27787/live/abc/master.m3u8", "127.0.0.1")).toBeNull();
  });
});
