/** The telemetry aggregate per group (workers/rooms/telemetry.ts). */
import { describe, expect, it } from "vitest";
import { TelemetryAggregator } from "../../workers/rooms/telemetry.js";

describe("telemetry aggregation", () => {
  it("restoring each connection's latest state (as kept in socket attachments) gives the same summary", () => {
    const live = new TelemetryAggregator();
    live.report("c1", ["country:FR"], { bitrateKbps: 800, stallMs: 1000 });
    live.report("c1", ["country:FR"], { bitrateKbps: 1000 });
    live.report("c2", ["device:desktop"], { bitrateKbps: 2400, latencyMs: 900 });
    const woken = new TelemetryAggregator();
    for (const [id, groups] of [["c1", ["country:FR"]], ["c2", ["device:desktop"]]] as const) {
      const kept = live.latest(id)!;
      woken.restore(id, [...groups], kept.sample, kept.reports);
    }
    expect(woken.summary()).toEqual(live.summary());
    expect(woken.reports).toBe(3);
    expect(live.latest("c1")).toEqual({ sample: { bitrateKbps: 1000, stallMs: 1000 }, reports: 2 });
    expect(live.latest("nope")).toBeUndefined();
  });

  it("latest report per connection, averaged per group", () => {
    const agg = new TelemetryAggregator();
    agg.report("c1", ["country:FR", "device:mobile"], { bitrateKbps: 800, stallMs: 1000 });
    agg.report("c2", ["country:FR", "device:desktop"], { bitrateKbps: 2400, stallMs: 0 });
    agg.report("c3", ["country:US", "device:desktop"], { bitrateKbps: 3000 });
    agg.report("c1", ["country:FR", "device:mobile"], { bitrateKbps: 1000 }); // replaces c1's bitrate
    const s = agg.summary();
    expect(s.all).toMatchObject({ connections: 3, reports: 4, avgBitrateKbps: 2133.3, avgStallMs: 500 });
    expect(s["country:FR"]).toMatchObject({ connections: 2, avgBitrateKbps: 1700, avgStallMs: 500 });
    expect(s["device:desktop"]).toMatchObject({ connections: 2, avgBitrateKbps: 2700, avgStallMs: 0 });
    expect(s["country:US"]).toMatchObject({ avgStallMs: null });
    agg.remove("c3");
    expect(agg.summary()["country:US"]).toBeUndefined();
    expect(agg.reports).toBe(4);
  });
});
