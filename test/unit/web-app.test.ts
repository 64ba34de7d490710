/**
 * The web app's pure parts: the scorebug's timeline (reveal at the playhead),
 * the room socket's no-duplicate rule and backoff, the rendition list's cap
 * (group actions), the QoE table's groups and thresholds.
 */
import { describe, expect, it } from "vitest";
import { ScoreTimeline, mergeChanges } from "../../web/app/score-timeline.js";
import { backoffMs, isNewFrame, type ServerFrame } from "../../web/app/room-socket.js";
import { RenditionList } from "../../web/player/renditions.js";
import { applyGroupAction } from "../../web/app/watch/group-actions.js";
import { groupFilter, groupLatency, isPoor, stallRatio, type GroupStats } from "../../web/app/studio/qoe.js";
import type { SportEvent } from "../../web/app/api.js";

const game = (home: number, away: number, clock = "06:00"): SportEvent => ({
  eventId: "g1",
  sport: "basketball",
  status: "in_progress",
  startTime: "2026-11-21T20:00:00Z",
  home: { name: "Herons", abbr: "HCH", score: home },
  away: { name: "Peaks", abbr: "SUM", score: away },
  period: 2,
  clock,
});

describe("ScoreTimeline", () => {
  it("shows each change only once the playhead reaches its stamp", () => {
    const t = new ScoreTimeline();
    t.snapshot(1_000, 5, game(40, 37));
    t.update(2_000, 6, { home: { score: 42 } });
    t.update(3_000, 7, { away: { score: 40 }, clock: "05:20" });
    expect(t.stateAt(500)).toBeNull();
    expect(t.earliest()!.home.score).toBe(40); // what the bug shows for a playhead before every stamp
    expect(t.stateAt(1_999)!.home.score).toBe(40);
    expect(t.stateAt(2_000)!.home.score).toBe(42);
    expect(t.stateAt(2_999)!.away.score).toBe(37);
    expect(t.stateAt(3_000)).toMatchObject({ home: { score: 42, name: "Herons" }, away: { score: 40 }, clock: "05:20" });
    expect(t.latest()).toEqual(t.stateAt(3_000));
    expect(t.nextAfter(2_500)).toBe(3_000);
  });

  it("ignores a replayed update and keeps order for a late one", () => {
    const t = new ScoreTimeline();
    t.snapshot(1_000, 1, game(0, 0));
    t.update(2_000, 2, { home: { score: 2 } });
    t.update(2_000, 2, { home: { score: 99 } }); // same seq again (reconnect replay)
    expect(t.latest()!.home.score).toBe(2);
    t.snapshot(1_500, 3, game(1, 0)); // a snapshot observed between the two
    expect(t.stateAt(1_600)!.home.score).toBe(1);
    expect(t.stateAt(2_100)!.home.score).toBe(2);
  });

  it("compacts old entries without changing any state from then on", () => {
    const t = new ScoreTimeline();
    t.snapshot(1_000, 1, game(0, 0));
    for (let i = 1; i <= 50; i++) t.update(1_000 + i * 100, 1 + i, { home: { score: i } });
    const before = t.stateAt(4_000);
    t.compact(3_000);
    expect(t.pending).toBe(30);
    expect(t.stateAt(4_000)).toEqual(before);
    expect(t.stateAt(6_000)!.home.score).toBe(50);
  });

  it("merges nested changes at any depth, null for removed keys", () => {
    expect(mergeChanges({ a: { b: 1, c: 2 }, d: 1 }, { a: { c: 3 }, d: null })).toEqual({ a: { b: 1, c: 3 }, d: null });
  });
});

describe("room socket rules", () => {
  const frame = (type: string, seq: number, extra: Record<string, unknown> = {}): ServerFrame => ({ type, seq, ts: 0, ...extra });
  it("delivers a log frame once: only past the last seq seen", () => {
    expect(isNewFrame(frame("chat", 5), 4, [])).toBe(true);
    expect(isNewFrame(frame("chat", 4), 4, [])).toBe(false);
    expect(isNewFrame(frame("chat", 1), null, [])).toBe(true);
  });
  it("always delivers direct frames (they carry the latest seq)", () => {
    for (const type of ["hello", "ack", "error", "telemetry_summary"]) expect(isNewFrame(frame(type, 4), 4, [])).toBe(true);
    expect(isNewFrame(frame("system", 4, { group: { device: "mobile" } }), 4, [])).toBe(true);
    expect(isNewFrame(frame("event_snapshot", 4), 4, ["event_snapshot"])).toBe(true);
    expect(isNewFrame(frame("event_snapshot", 4), 4, [])).toBe(false);
  });
  it("backs off from 0.5 s to 8 s, jittered ±25 %", () => {
    expect(backoffMs(0, () => 0.5)).toBe(500);
    expect(backoffMs(3, () => 0.5)).toBe(4_000);
    expect(backoffMs(10, () => 0.5)).toBe(8_000);
    expect(backoffMs(10, () => 0)).toBe(6_000);
    expect(backoffMs(10, () => 1)).toBe(10_000);
  });
});

/**
 * The parts of hls.js the list drives, with hls.js's semantics: setting
 * `nextLevel` is a manual choice (−1: automatic again), `nextLoadLevel` forces
 * the next load and stays automatic.
 */
function fakeHls(heights: number[]) {
  return {
    levels: heights.map((h, i) => ({ width: (h * 16) / 9, height: h, bitrate: (i + 1) * 100_000 })),
    autoLevelCapping: -1,
    currentLevel: heights.length - 1,
    manualLevel: -1,
    forcedLoadLevel: null as number | null,
    get nextLevel(): number {
      return this.manualLevel;
    },
    set nextLevel(level: number) {
      this.manualLevel = level;
    },
    set nextLoadLevel(level: number) {
      this.forcedLoadLevel = level;
    },
    get autoLevelEnabled(): boolean {
      return this.manualLevel === -1;
    },
    on() {},
  };
}

describe("RenditionList", () => {
  it("lists hls.js levels for the quality menu and selects one (−1: automatic)", () => {
    const list = new RenditionList();
    const hls = fakeHls([90, 180, 360]);
    let changes = 0;
    list.addEventListener("change", () => changes++);
    list.attach(hls as never);
    expect(list.length).toBe(3);
    expect([...list].map((r) => r.height)).toEqual([90, 180, 360]);
    expect(list[1]!.id).toBe("1");
    list.selectedIndex = 1;
    expect(hls.nextLevel).toBe(1);
    list.selectedIndex = -1;
    expect(hls.nextLevel).toBe(-1);
    expect(changes).toBe(2);
  });

  it("caps an automatic viewer at a height (group action) and stays automatic, so lifting the cap gives ABR back", () => {
    const list = new RenditionList();
    const hls = fakeHls([90, 180, 360]);
    list.attach(hls as never);
    expect(list.capHeight(200)).toBe(1);
    expect(hls.autoLevelCapping).toBe(1);
    expect(hls.forcedLoadLevel).toBe(1); // was playing 360p: the next load comes from 180p
    expect(hls.autoLevelEnabled).toBe(true); // not turned into a manual choice
    expect(list.capHeight(10)).toBe(0); // nothing that small: the lowest
    expect(list.capHeight(null)).toBeNull();
    expect(hls.autoLevelCapping).toBe(-1);
    expect(hls.autoLevelEnabled).toBe(true);
    expect(list.selectedIndex).toBe(-1);
  });

  it("caps a manual choice too, at once, and keeps it the viewer's manual choice", () => {
    const list = new RenditionList();
    const hls = fakeHls([90, 180, 360]);
    list.attach(hls as never);
    list.selectedIndex = 2;
    expect(hls.nextLevel).toBe(2);
    expect(list.capHeight(200)).toBe(1);
    expect(hls.nextLevel).toBe(1);
    list.selectedIndex = 2; // above the cap: held at it
    expect(hls.nextLevel).toBe(1);
    expect(list.capHeight(null)).toBeNull();
    expect(hls.nextLevel).toBe(2); // the viewer's own choice back
    expect(hls.autoLevelEnabled).toBe(false);
  });

  it("applies group actions: cap, notice, unknown ignored", () => {
    const list = new RenditionList();
    list.attach(fakeHls([90, 180]) as never);
    const notices: Array<string | null> = [];
    const target = { renditions: list, notice: (t: string | null) => notices.push(t) };
    expect(applyGroupAction({ action: "cap_rendition", maxHeight: 90 }, target)).toMatchObject({
      action: "cap_rendition",
      detail: "level ≤ 0 (90p)",
    });
    expect(list.capIndex).toBe(0);
    expect(applyGroupAction({ action: "notice", text: "Switching to a lighter stream" }, target)?.detail).toBe(
      "Switching to a lighter stream",
    );
    expect(applyGroupAction({ action: "uncap_rendition" }, target)?.action).toBe("uncap_rendition");
    expect(list.capIndex).toBeNull();
    expect(applyGroupAction({ action: "reboot" }, target)).toBeNull();
    expect(notices.at(-1)).toBeNull();
  });
});

describe("QoE table rules", () => {
  const stats = (over: Partial<GroupStats>): GroupStats => ({
    connections: 1,
    reports: 1,
    avgBitrateKbps: 300,
    avgStallMs: 0,
    avgBufferMs: 1000,
    avgLatencyMs: 1300,
    ...over,
  });
  it("maps group keys to the action's group filter", () => {
    expect(groupFilter("all")).toBeNull();
    expect(groupFilter("device:mobile")).toEqual({ device: "mobile" });
    expect(groupFilter("country:FR")).toEqual({ country: "FR" });
  });
  it("stall ratio over the 5 s report period; poor above 2 % stalls or 5 s latency", () => {
    expect(stallRatio(stats({ avgStallMs: 500 }))).toBeCloseTo(0.1);
    expect(stallRatio(stats({ avgStallMs: null }))).toBeNull();
    expect(isPoor(stats({ avgStallMs: 50 }))).toBe(false);
    expect(isPoor(stats({ avgStallMs: 200 }))).toBe(true);
    expect(isPoor(stats({ avgLatencyMs: 6_000 }))).toBe(true);
  });
  it("latency is the group's median when the room sends one: one viewer far behind does not make the group poor", () => {
    expect(groupLatency(stats({ avgLatencyMs: 9_000, medianLatencyMs: 1_400 }))).toBe(1_400);
    expect(isPoor(stats({ avgLatencyMs: 9_000, medianLatencyMs: 1_400 }))).toBe(false);
    expect(isPoor(stats({ avgLatencyMs: 5_500, medianLatencyMs: 6_000 }))).toBe(true);
    expect(groupLatency(stats({ medianLatencyMs: null }))).toBeNull();
    expect(groupLatency(stats({ avgLatencyMs: 2_000 }))).toBe(2_000);
  });
});
