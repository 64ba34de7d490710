/** Origin selection (workers/control/selection.ts). */
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../workers/config.js";
import { fitsIdeal, selectOrigin, type OriginLoadRow } from "../../workers/control/selection.js";

const idealRatioFromEnv = (value: string | undefined) => parseConfig({ ORIGIN_IDEAL_RATIO: value }).control.idealRatio;

const NOW = 1_000_000;
const opts = { now: NOW, livenessMs: 15_000, idealRatio: 0.6 };

function o(id: string, activeStreams: number, capacity = 10, extra: Partial<OriginLoadRow> = {}): OriginLoadRow {
  return { id, pool: "standard", capacity, activeStreams, egressBps: 0, cpu: 0, lastHeartbeatAt: NOW - 1000, removedAt: null, ...extra };
}

describe("origin selection", () => {
  it("least loaded under ideal (60%), not just least streams", () => {
    const r = selectOrigin([o("a", 4, 10), o("b", 10, 100), o("c", 1, 2)], "broadcaster", opts);
    expect(r).toMatchObject({ kind: "selected", origin: { id: "b" }, aboveIdeal: false, pool: "standard" });
  });
  it("ideal means room for one more stream at ≤ 60% of max", () => {
    expect(fitsIdeal(o("x", 5, 10), 0.6)).toBe(true); // 6 ≤ 6
    expect(fitsIdeal(o("x", 6, 10), 0.6)).toBe(false);
  });
  it("all above ideal → least loaded under max, flagged aboveIdeal (alert)", () => {
    const r = selectOrigin([o("a", 8, 10), o("b", 7, 10), o("c", 10, 10)], "broadcaster", opts);
    expect(r).toMatchObject({ kind: "selected", origin: { id: "b" }, aboveIdeal: true });
  });
  it("all at maximum → full", () => {
    expect(selectOrigin([o("a", 10, 10), o("b", 3, 3)], "broadcaster", opts)).toEqual({ kind: "full", pools: ["standard"] });
    expect(selectOrigin([], "broadcaster", opts).kind).toBe("full");
  });
  it("stale heartbeats, removed origins and zero capacity are out of the pool", () => {
    const r = selectOrigin(
      [o("stale", 0, 10, { lastHeartbeatAt: NOW - 15_001 }), o("gone", 0, 10, { removedAt: NOW - 5 }), o("zero", 0, 0), o("ok", 9, 10)],
      "broadcaster",
      opts,
    );
    expect(r).toMatchObject({ kind: "selected", origin: { id: "ok" }, aboveIdeal: true });
  });
  it("VIPs use the vip pool, fall back to standard; others never get vip origins", () => {
    const pool = [o("std", 0, 10), o("vip", 2, 10, { pool: "vip" })];
    expect(selectOrigin(pool, "vip", opts)).toMatchObject({ origin: { id: "vip" }, pool: "vip", fellBack: false });
    expect(selectOrigin(pool, "broadcaster", opts)).toMatchObject({ origin: { id: "std" } });
    const vipFull = [o("std", 0, 10), o("vip", 10, 10, { pool: "vip" })];
    expect(selectOrigin(vipFull, "vip", opts)).toMatchObject({ origin: { id: "std" }, pool: "standard", fellBack: true });
    expect(selectOrigin([o("vip", 0, 10, { pool: "vip" })], "broadcaster", opts).kind).toBe("full");
  });
  it("ties break on cpu then egress", () => {
    const r = selectOrigin([o("a", 1, 10, { cpu: 0.9 }), o("b", 1, 10, { cpu: 0.2 })], "broadcaster", opts);
    expect(r).toMatchObject({ origin: { id: "b" } });
  });
  it("ideal ratio from env", () => {
    expect(idealRatioFromEnv(undefined)).toBe(0.6);
    expect(idealRatioFromEnv("0.8")).toBe(0.8);
    expect(idealRatioFromEnv("2")).toBe(0.6);
  });
});
