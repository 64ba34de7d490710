/** The telemetry aggregate per group (workers/rooms/telemetry.ts). */
import { describe, expect, it } from "vitest";
import { median, TelemetryAggregator } from "../../workers/rooms/telemetry.js";

describe("telemetry aggregation", () => {
  it("restoring each connection's latest state (as kept in socket attachments) gives the same summary", () => {
    const live = new TelemetryAggregator();
    live.report("c1", ["country:FR"], { bitrateKbps: 800, stallMs: 1000 });
    live.report("c1", ["country:FR"], { bitrateKbps: 1000 });
    live.report("c2", ["device:desktop"], { bitrateKbps: 2400, latencyMs: 900 });
    const woken = new TelemetryAggregator();
    for (const [id, groups] of [
      ["c1", ["country:FR"]],
      ["c2", ["device:desktop"]],
    ] as const) {
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

describe("median latency per group", () => {
  it("median of odd and even counts; null when empty", () => {
    expect(median([])).toBeNull();
    expect(median([7])).toBe(7);
    expect(median([3_000, 1_000, 2_000])).toBe(2_000);
    expect(median([4_000, 1_000, 3_000, 2_000])).toBe(2_500);
  });

  it("over each viewer's newest latency: one slow viewer moves the average, not the median", () => {
    const agg = new TelemetryAggregator();
    agg.report("fr-1", ["country:FR", "device:mobile"], { latencyMs: 1_200 });
    agg.report("fr-2", ["country:FR", "device:desktop"], { latencyMs: 1_400 });
    agg.report("fr-3", ["country:FR", "device:desktop"], { latencyMs: 30_000 });
    agg.report("us-1", ["country:US", "device:desktop"], { latencyMs: 2_000 });
    const s = agg.summary();
    expect(s["country:FR"]).toMatchObject({ connections: 3, medianLatencyMs: 1_400, avgLatencyMs: 10_866.7 });
    expect(s["device:desktop"]).toMatchObject({ connections: 3, medianLatencyMs: 2_000 });
    expect(s["device:mobile"]).toMatchObject({ medianLatencyMs: 1_200 });
    expect(s.all).toMatchObject({ connections: 4, medianLatencyMs: 1_700 });
  });

  it("a viewer counts once however often it reports; its newest latency replaces the old; leaving stops counting", () => {
    const agg = new TelemetryAggregator();
    for (let i = 0; i < 10; i++) agg.report("chatty", ["device:mobile"], { latencyMs: 9_000 + i });
    agg.report("quiet-1", ["device:mobile"], { latencyMs: 1_000 });
    agg.report("quiet-2", ["device:mobile"], { latencyMs: 1_100 });
    expect(agg.summary()["device:mobile"]).toMatchObject({ connections: 3, reports: 12, medianLatencyMs: 1_100 });
    // the chatty viewer caught up: its newest report is what counts
    agg.report("chatty", ["device:mobile"], { latencyMs: 900 });
    expect(agg.summary()["device:mobile"]!.medianLatencyMs).toBe(1_000);
    // a report without latency keeps the viewer's last latency (samples merge)
    agg.report("chatty", ["device:mobile"], { bitrateKbps: 300 });
    expect(agg.summary()["device:mobile"]!.medianLatencyMs).toBe(1_000);
    agg.remove("quiet-1");
    expect(agg.summary()["device:mobile"]).toMatchObject({ connections: 2, medianLatencyMs: 1_000 });
  });

  it("viewers without a latency (no program time yet) are left out of the median, not counted as zero", () => {
    const agg = new TelemetryAggregator();
    agg.report("joining", ["country:DE"], { bitrateKbps: 800, stallMs: 0 });
    expect(agg.summary()["country:DE"]).toMatchObject({ connections: 1, medianLatencyMs: null, avgLatencyMs: null });
    agg.report("playing", ["country:DE"], { latencyMs: 1_500 });
    expect(agg.summary()["country:DE"]).toMatchObject({ connections: 2, medianLatencyMs: 1_500 });
  });

  it("the same median after hibernation (state restored from each socket's attachment)", () => {
    const live = new TelemetryAggregator();
    live.report("a", ["device:desktop"], { latencyMs: 1_000 });
    live.report("b", ["device:desktop"], { latencyMs: 5_000 });
    live.report("b", ["device:desktop"], { latencyMs: 3_000 });
    const woken = new TelemetryAggregator();
    for (const id of ["a", "b"]) {
      const kept = live.latest(id)!;
      woken.restore(id, ["device:desktop"], kept.sample, kept.reports);
    }
    expect(woken.summary()["device:desktop"]!.medianLatencyMs).toBe(2_000);
    expect(woken.summary()).toEqual(live.summary());
  });
});
