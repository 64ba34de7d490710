/** Viewer source selection with hysteresis (workers/streams/viewer-source.ts). */
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../workers/config.js";
import { decideSource, nextMode } from "../../workers/streams/viewer-source.js";

const thresholdsFromEnv = (t1: string | undefined, t2: string | undefined) =>
  parseConfig({ PLAY_EDGE_THRESHOLD: t1, PLAY_DIRECT_THRESHOLD: t2 }).control.thresholds;

describe("viewer source selection (FIG. 7 + hysteresis)", () => {
  const t = { t1: 10, t2: 5 };
  it("direct below T1, edge from T1", () => {
    expect(decideSource("viewer", 9, "origin", t)).toMatchObject({ source: "origin", mode: "origin" });
    expect(decideSource("anonymous", 10, "origin", t)).toMatchObject({ source: "edge", mode: "edge" });
    expect(decideSource(null, 50, "origin", t)).toMatchObject({ source: "edge" });
  });
  it("hysteresis: stays on the edge until below T2", () => {
    expect(decideSource("viewer", 9, "edge", t)).toMatchObject({ source: "edge", mode: "edge" });
    expect(decideSource("viewer", 5, "edge", t)).toMatchObject({ source: "edge", mode: "edge" });
    expect(decideSource("viewer", 4, "edge", t)).toMatchObject({ source: "origin", mode: "origin" });
    const walk = [3, 9, 10, 7, 6, 5, 4, 8].reduce<string[]>((modes, n) => {
      const current = (modes[modes.length - 1] ?? "origin") as "origin" | "edge";
      return [...modes, nextMode(current, n, t)];
    }, []);
    expect(walk).toEqual(["origin", "origin", "edge", "edge", "edge", "edge", "origin", "origin"]);
  });
  it("VIP and media always direct, whatever the count; the mode still follows the count", () => {
    expect(decideSource("vip", 1000, "edge", t)).toMatchObject({ source: "origin", mode: "edge", reason: "priority_role" });
    expect(decideSource("media", 12, "origin", t)).toMatchObject({ source: "origin", mode: "edge" });
  });
  it("thresholds from env keep T2 < T1", () => {
    expect(thresholdsFromEnv(undefined, undefined)).toEqual({ t1: 10, t2: 5 });
    expect(thresholdsFromEnv("3", "2")).toEqual({ t1: 3, t2: 2 });
    expect(thresholdsFromEnv("3", "7")).toEqual({ t1: 3, t2: 2 });
  });
});
