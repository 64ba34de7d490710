/**
 * The pure sync controller (web/player/sync-controller.ts) against a small
 * simulated playhead with an injected clock: every 100 ms the "server" time
 * advances, the playhead advances by dt × rate while it has buffer, the live
 * edge trails the server clock by `edgeLag`, seeks land (after a load delay
 * when outside the buffer). What is simulated is only the media timeline;
 * the controller under test is the real one.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_SYNC_CONFIG, SyncController, targetDelayFromPlaylist, type SyncDecision } from "../../web/player/sync-controller.js";

const DT = 100; // ms per tick
const TARGET_DELAY = 1.25; // s (PART-HOLD-BACK 1.0 + margin)

interface Viewer {
  controller: SyncController;
  /** program time at the playhead, ms */
  pt: number;
  rate: number;
  /** ms of forced stall left (the network stops delivering) */
  stallLeft: number;
  /** ms until a seek outside the buffer has loaded */
  loadingLeft: number;
  decisions: SyncDecision[];
}

function viewer(pt: number, config = {}): Viewer {
  return { controller: new SyncController(config), pt, rate: 1, stallLeft: 0, loadingLeft: 0, decisions: [] };
}

/** Live edge (newest buffered program time): the server clock minus the pipeline's lag. */
const edgeAt = (now: number, edgeLag = 0.4) => now - edgeLag * 1000;

function step(v: Viewer, now: number, edgeLag = 0.4): SyncDecision {
  const edge = edgeAt(now, edgeLag);
  const stalled = v.stallLeft > 0 || v.loadingLeft > 0 || v.pt >= edge;
  const decision = v.controller.update({
    now,
    programTime: v.pt,
    bufferedAhead: Math.max(0, (edge - v.pt) / 1000),
    targetDelay: TARGET_DELAY,
    playing: !stalled,
  });
  v.decisions.push(decision);
  v.rate = decision.rate;
  if (decision.seekTo !== null) {
    const inBuffer = decision.seekTo <= edge && decision.seekTo >= v.pt - 30_000;
    v.pt = decision.seekTo;
    if (!inBuffer) v.loadingLeft = 300; // a part or two to fetch
  }
  // advance the media timeline to the next tick
  if (v.stallLeft > 0) v.stallLeft -= DT;
  else if (v.loadingLeft > 0) v.loadingLeft -= DT;
  else v.pt = Math.min(edge + DT, v.pt + DT * v.rate);
  return decision;
}

function run(v: Viewer, from: number, ms: number, edgeLag?: number): number {
  let now = from;
  for (; now < from + ms; now += DT) step(v, now, edgeLag);
  return now;
}

const offsetOf = (v: Viewer, now: number) => (v.pt - (now - TARGET_DELAY * 1000)) / 1000;
const T0 = 1_700_000_000_000;

describe("sync controller", () => {
  it("converges from ahead: slows down (never below minRate), then locks at rate 1", () => {
    const v = viewer(T0 - TARGET_DELAY * 1000 + 200); // 0.2 s ahead, under the join seek threshold
    const end = run(v, T0, 20_000);
    expect(v.decisions[0]!.offset).toBeCloseTo(0.2, 6);
    expect(v.decisions[0]!.rate).toBeLessThan(1);
    expect(v.decisions.every((d) => d.seekTo === null)).toBe(true);
    expect(Math.min(...v.decisions.map((d) => d.rate))).toBeGreaterThanOrEqual(DEFAULT_SYNC_CONFIG.minRate);
    expect(v.decisions.at(-1)!.state).toBe("locked");
    expect(v.decisions.at(-1)!.rate).toBe(1);
    expect(Math.abs(offsetOf(v, end))).toBeLessThanOrEqual(DEFAULT_SYNC_CONFIG.deadBand);
  });

  it("converges from behind: speeds up (never above maxRate), then locks", () => {
    const v = viewer(T0 - TARGET_DELAY * 1000 - 240);
    const end = run(v, T0, 20_000);
    expect(v.decisions[0]!.rate).toBeGreaterThan(1);
    expect(Math.max(...v.decisions.map((d) => d.rate))).toBeLessThanOrEqual(DEFAULT_SYNC_CONFIG.maxRate);
    expect(v.decisions.every((d) => d.seekTo === null)).toBe(true);
    expect(v.decisions.at(-1)!.state).toBe("locked");
    expect(Math.abs(offsetOf(v, end))).toBeLessThanOrEqual(DEFAULT_SYNC_CONFIG.deadBand);
  });

  it("clamps the rate to [minRate, maxRate] when far off but under the seek threshold", () => {
    const c = new SyncController();
    // lock once, so the 2 s seek threshold applies
    expect(c.update({ now: T0, programTime: T0 - 1250, bufferedAhead: 1, targetDelay: TARGET_DELAY }).state).toBe("locked");
    const behind = c.update({ now: T0, programTime: T0 - 1250 - 900, bufferedAhead: 3, targetDelay: TARGET_DELAY });
    expect(behind).toMatchObject({ rate: 1.05, seekTo: null, state: "converging" });
    const ahead = c.update({ now: T0, programTime: T0 - 1250 + 900, bufferedAhead: 0.5, targetDelay: TARGET_DELAY });
    expect(ahead).toMatchObject({ rate: 0.95, seekTo: null, state: "converging" });
    const custom = new SyncController({ minRate: 0.9, maxRate: 1.1, joinSeekThreshold: 5 }); // no join seek: steer
    expect(custom.update({ now: T0, programTime: T0 - 1250 - 1000, bufferedAhead: 3, targetDelay: TARGET_DELAY }).rate).toBe(1.1);
  });

  it("seeks to the target when far off, with a lead only past the buffer, once per cooldown", () => {
    const c = new SyncController();
    const target = T0 - 1250;
    const far = c.update({ now: T0, programTime: target - 3000, bufferedAhead: 1, targetDelay: TARGET_DELAY });
    expect(far.state).toBe("seeking");
    expect(far.seekTo).toBe(target + DEFAULT_SYNC_CONFIG.seekLead * 1000); // 3 s ahead, 1 s buffered: must load
    // still far on the next tick (the seek has not landed): no second seek during the cooldown
    const again = c.update({ now: T0 + 100, programTime: target - 3000, bufferedAhead: 1, targetDelay: TARGET_DELAY });
    expect(again).toMatchObject({ seekTo: null, state: "seeking", rate: 1 });
    expect(c.seeks).toBe(1);

    const inBuffer = new SyncController();
    const d = inBuffer.update({ now: T0, programTime: target - 3000, bufferedAhead: 5, targetDelay: TARGET_DELAY });
    expect(d.seekTo).toBe(target);
    const back = new SyncController();
    expect(back.update({ now: T0, programTime: target + 2500, bufferedAhead: 1, targetDelay: TARGET_DELAY }).seekTo).toBe(target);
  });

  it("joiners seek beyond 0.25 s; once locked, the same offset is steered, not sought", () => {
    const joiner = new SyncController();
    expect(joiner.update({ now: T0, programTime: T0 - 1250 - 700, bufferedAhead: 2, targetDelay: TARGET_DELAY }).seekTo).not.toBeNull();
    const locked = new SyncController();
    locked.update({ now: T0, programTime: T0 - 1250, bufferedAhead: 1, targetDelay: TARGET_DELAY });
    const d = locked.update({ now: T0, programTime: T0 - 1250 - 700, bufferedAhead: 2, targetDelay: TARGET_DELAY });
    expect(d).toMatchObject({ seekTo: null, rate: 1.05 });
  });

  it("simulated far joiner: seeks, then locks within the dead band", () => {
    const v = viewer(T0 - 8000);
    const end = run(v, T0, 15_000);
    expect(v.controller.seeks).toBe(1);
    expect(v.decisions.at(-1)!.state).toBe("locked");
    expect(Math.abs(offsetOf(v, end))).toBeLessThanOrEqual(DEFAULT_SYNC_CONFIG.deadBand);
  });

  it("dead band with hysteresis: locked holds rate 1 up to deadBand, corrects beyond, converges to lockBand", () => {
    const c = new SyncController();
    const at = (offsetMs: number) => c.update({ now: T0, programTime: T0 - 1250 + offsetMs, bufferedAhead: 1, targetDelay: TARGET_DELAY });
    expect(at(0).state).toBe("locked");
    expect(at(35)).toMatchObject({ rate: 1, state: "locked" }); // inside the dead band
    expect(at(-35)).toMatchObject({ rate: 1, state: "locked" });
    const out = at(60);
    expect(out.state).toBe("converging");
    expect(out.rate).toBeLessThan(1);
    expect(1 - out.rate).toBeGreaterThanOrEqual(DEFAULT_SYNC_CONFIG.minStep); // not a crawl
    expect(at(30).state).toBe("converging"); // converging continues inside the dead band ...
    expect(at(10).state).toBe("converging");
    expect(at(5)).toMatchObject({ state: "locked", rate: 1 }); // ... until the lock band
  });

  it("no permanent drift after a stall: behind by the stall, then back within the dead band", () => {
    const v = viewer(T0 - TARGET_DELAY * 1000);
    let now = run(v, T0, 5_000);
    expect(v.decisions.at(-1)!.state).toBe("locked");
    v.stallLeft = 800;
    now = run(v, now, 900);
    expect(offsetOf(v, now)).toBeLessThan(-0.7); // the stall cost ~0.8 s
    now = run(v, now, 40_000);
    expect(v.controller.seeks).toBe(0); // 0.8 s < seekThreshold: steered back
    expect(v.decisions.at(-1)!.state).toBe("locked");
    expect(Math.abs(offsetOf(v, now))).toBeLessThanOrEqual(DEFAULT_SYNC_CONFIG.deadBand);
    // a longer stall (3 s > seekThreshold): a seek made while still stalled (the
    // rest of the stall is lost again), a second one after the cooldown, no drift
    v.stallLeft = 3_000;
    now = run(v, now, 3_100);
    now = run(v, now, 30_000);
    expect(v.controller.seeks).toBeGreaterThanOrEqual(1);
    expect(v.controller.seeks).toBeLessThanOrEqual(2);
    expect(Math.abs(offsetOf(v, now))).toBeLessThanOrEqual(DEFAULT_SYNC_CONFIG.deadBand);
  });

  it("holds while not playing, and never speeds up on a thin buffer", () => {
    const c = new SyncController();
    expect(c.update({ now: T0, programTime: T0 - 1250 - 200, bufferedAhead: 1, targetDelay: TARGET_DELAY, playing: false })).toMatchObject({
      rate: 1,
      seekTo: null,
      state: "converging",
    });
    expect(c.update({ now: T0, programTime: T0 - 1250 - 200, bufferedAhead: 0.1, targetDelay: TARGET_DELAY })).toMatchObject({
      rate: 1,
      seekTo: null,
      state: "converging",
    });
    // slowing down on a thin buffer is fine
    expect(c.update({ now: T0, programTime: T0 - 1250 + 200, bufferedAhead: 0.1, targetDelay: TARGET_DELAY }).rate).toBeLessThan(1);
  });

  it("once it has played, a stalled playhead far off is sought anyway (e.g. stuck past the live edge)", () => {
    const c = new SyncController();
    c.update({ now: T0, programTime: T0 - 1250, bufferedAhead: 1, targetDelay: TARGET_DELAY }); // locked
    const d = c.update({ now: T0, programTime: T0 - 1250 + 2500, bufferedAhead: 0, targetDelay: TARGET_DELAY, playing: false });
    expect(d).toMatchObject({ state: "seeking", seekTo: T0 - 1250 });
  });

  it("does not seek before playback has started (the player is still placing its start position)", () => {
    const c = new SyncController();
    const far = { now: T0, programTime: T0 - 1250 - 3000, bufferedAhead: 4, targetDelay: TARGET_DELAY };
    expect(c.update({ ...far, playing: false })).toMatchObject({ seekTo: null, rate: 1, state: "converging" });
    expect(c.update({ ...far, now: T0 + 100, programTime: far.programTime + 100 }).seekTo).toBe(T0 + 100 - 1250);
  });

  it("unknown program time or target delay: rate 1, nothing to do", () => {
    const c = new SyncController();
    expect(c.update({ now: T0, programTime: null, bufferedAhead: 0, targetDelay: TARGET_DELAY })).toMatchObject({
      rate: 1,
      seekTo: null,
      offset: null,
    });
    expect(c.update({ now: T0, programTime: T0, bufferedAhead: 0, targetDelay: null })).toMatchObject({
      rate: 1,
      seekTo: null,
      offset: null,
    });
  });

  it("viewers joining at different times end within 0.1 s of each other", () => {
    const joins = [0, 3_100, 7_700, 12_300, 20_900];
    const initial = [0.45, -0.3, -6, 0.2, 0.8]; // s off the target at join (hls.js starts where it likes, at most at the live edge: +0.85)
    const viewers: Array<Viewer | null> = joins.map(() => null);
    let now = T0;
    for (; now < T0 + 60_000; now += DT) {
      joins.forEach((at, i) => {
        if (viewers[i] === null && now >= T0 + at) viewers[i] = viewer(now - TARGET_DELAY * 1000 + initial[i]! * 1000);
      });
      for (const v of viewers) if (v) step(v, now);
    }
    const pts = viewers.map((v) => v!.pt);
    expect((Math.max(...pts) - Math.min(...pts)) / 1000).toBeLessThanOrEqual(0.1);
    expect(viewers.every((v) => v!.decisions.at(-1)!.state === "locked")).toBe(true);
  });

  it("rejects a config without hysteresis or rates on both sides of 1", () => {
    expect(() => new SyncController({ lockBand: 0.05, deadBand: 0.04 })).toThrow(/lockBand/);
    expect(() => new SyncController({ minRate: 1 })).toThrow(/minRate/);
  });
});

describe("target delay from the playlist", () => {
  it("PART-HOLD-BACK first, then HOLD-BACK, then 3 target durations, plus the margin", () => {
    expect(targetDelayFromPlaylist({ partHoldBack: 1.0, holdBack: 6, targetDuration: 2 })).toBe(1.25);
    expect(targetDelayFromPlaylist({ partHoldBack: 0, holdBack: 6, targetDuration: 2 })).toBe(6.25);
    expect(targetDelayFromPlaylist({ targetDuration: 2 })).toBe(6.25);
    expect(targetDelayFromPlaylist({ partHoldBack: 1.002, targetDuration: 2 }, 0)).toBe(1.002);
    expect(targetDelayFromPlaylist({ targetDuration: 0 })).toBeNull();
  });
});
