/**
 * Reveal-at-playhead (web/player/reveal.ts): fires when the playhead's
 * program time reaches a stamp, immediately when already past, in order,
 * cancelable, and careful with seeks backward.
 */
import { describe, expect, it } from "vitest";
import { RevealScheduler, type RevealInfo } from "../../web/player/reveal.js";

const T = 1_700_000_000_000;

function recorder() {
  const fired: Array<{ name: string } & RevealInfo> = [];
  return { fired, cb: (name: string) => (info: RevealInfo) => fired.push({ name, ...info }) };
}

describe("RevealScheduler", () => {
  it("fires when the playhead reaches the stamp, not before", () => {
    const r = new RevealScheduler();
    const { fired, cb } = recorder();
    r.update(T);
    const handle = r.at(T + 1_000, cb("goal"));
    expect(r.pending).toBe(1);
    expect(r.nextStamp()).toBe(T + 1_000);
    r.update(T + 999);
    expect(fired).toEqual([]);
    expect(r.update(T + 1_000)).toBe(1);
    expect(fired).toEqual([{ name: "goal", stamp: T + 1_000, programTime: T + 1_000, late: 0 }]);
    expect(handle.fired).toBe(1);
    expect(r.pending).toBe(0);
    r.update(T + 5_000);
    expect(fired).toHaveLength(1); // one-shot
  });

  it("fires immediately (inside at) when the playhead is already past; waits when no program time is known yet", () => {
    const r = new RevealScheduler();
    const { fired, cb } = recorder();
    r.at(T, cb("early")); // nothing known yet: waits
    expect(fired).toEqual([]);
    r.update(T + 2_000);
    expect(fired.map((f) => f.name)).toEqual(["early"]);
    r.at(T + 500, cb("past"));
    expect(fired.map((f) => f.name)).toEqual(["early", "past"]);
    expect(fired[1]!.late).toBe(1_500);
  });

  it("fires everything due in stamp order (ties in scheduling order), a forward jump included", () => {
    const r = new RevealScheduler();
    const { fired, cb } = recorder();
    r.update(T);
    r.at(T + 300, cb("c"));
    r.at(T + 100, cb("a"));
    r.at(T + 200, cb("b1"));
    r.at(T + 200, cb("b2"));
    r.at(T + 9_000, cb("later"));
    expect(r.update(T + 5_000)).toBe(4); // a seek forward skips over four stamps
    expect(fired.map((f) => [f.name, f.late])).toEqual([
      ["a", 4_900],
      ["b1", 4_800],
      ["b2", 4_800],
      ["c", 4_700],
    ]);
    expect(r.nextStamp()).toBe(T + 9_000);
  });

  it("cancel: before firing it never fires; after firing it is a no-op; inside another callback it stops a due item", () => {
    const r = new RevealScheduler();
    const { fired, cb } = recorder();
    r.update(T);
    const a = r.at(T + 100, cb("a"));
    a.cancel();
    expect(a.canceled).toBe(true);
    expect(r.pending).toBe(0);
    r.update(T + 200);
    expect(fired).toEqual([]);

    const b = r.at(T + 300, cb("b"));
    r.update(T + 300);
    b.cancel();
    expect(b.fired).toBe(1);

    const victim = r.at(T + 500, cb("victim"));
    r.at(T + 400, () => victim.cancel());
    r.update(T + 600);
    expect(fired.map((f) => f.name)).toEqual(["b"]);
  });

  it("a seek backward does not fire again by default", () => {
    const r = new RevealScheduler();
    const { fired, cb } = recorder();
    r.update(T);
    r.at(T + 1_000, cb("score"));
    r.update(T + 1_500);
    r.update(T + 200); // seek back before the stamp
    r.update(T + 1_600);
    expect(fired.map((f) => f.name)).toEqual(["score"]);
  });

  it("refireOnSeekBack: re-arms when the playhead goes back before the stamp, fires again on reaching it", () => {
    const r = new RevealScheduler();
    const { fired, cb } = recorder();
    r.update(T);
    const h = r.at(T + 1_000, cb("score"), { refireOnSeekBack: true });
    r.update(T + 1_500);
    r.update(T + 1_200); // back, but still after the stamp: nothing to redo
    r.update(T + 1_300);
    expect(h.fired).toBe(1);
    r.update(T + 900); // back before the stamp
    expect(r.pending).toBe(1);
    r.update(T + 999);
    expect(h.fired).toBe(1);
    r.update(T + 1_000);
    expect(h.fired).toBe(2);
    expect(fired.map((f) => f.programTime)).toEqual([T + 1_500, T + 1_000]);
    h.cancel();
    r.update(T);
    r.update(T + 2_000);
    expect(h.fired).toBe(2);
  });

  it("a throwing callback does not stop the others; the error goes to onError", () => {
    const errors: unknown[] = [];
    const r = new RevealScheduler((e) => errors.push(e));
    const { fired, cb } = recorder();
    r.update(T);
    r.at(T + 1, () => {
      throw new Error("boom");
    });
    r.at(T + 2, cb("after"));
    r.update(T + 10);
    expect(errors.map((e) => (e as Error).message)).toEqual(["boom"]);
    expect(fired.map((f) => f.name)).toEqual(["after"]);
  });

  it("clear cancels everything; a non-finite stamp is refused", () => {
    const r = new RevealScheduler();
    const { fired, cb } = recorder();
    r.at(T + 1, cb("x"));
    r.at(T + 2, cb("y"), { refireOnSeekBack: true });
    r.clear();
    r.update(T + 10);
    expect(fired).toEqual([]);
    expect(() => r.at(Number.NaN, cb("nan"))).toThrow(TypeError);
    expect(r.update(Number.NaN)).toBe(0);
  });
});
