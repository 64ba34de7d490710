/**
 * The edge's "does this stream exist?" memo (workers/lib/existence-memo.ts):
 * no request waits on another request's lookup for long, an expired answer is
 * given at once while one lookup refreshes it, and a lookup that never
 * settles (its request was cancelled) does not block the ones after it.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ExistenceMemo } from "../../workers/lib/existence-memo.js";

type Db = object;
const db: Db = {};

/** A lookup whose answers the test releases one by one; `calls` counts the queries. */
function controlledLookup() {
  const waiting: Array<(exists: boolean) => void> = [];
  let calls = 0;
  const lookup = (_db: Db, _id: string) => {
    calls++;
    return new Promise<boolean>((resolve) => waiting.push(resolve));
  };
  return { lookup, waiting, calls: () => calls };
}

describe("existence memo", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("concurrent requests for an unknown id share one lookup", async () => {
    const c = controlledLookup();
    const memo = new ExistenceMemo<Db>(c.lookup);
    const answers = Promise.all([memo.exists(db, "s"), memo.exists(db, "s"), memo.exists(db, "s")]);
    expect(c.calls()).toBe(1);
    c.waiting[0]!(true);
    expect(await answers).toEqual([true, true, true]);
    // remembered: no second query
    expect(await memo.exists(db, "s")).toBe(true);
    expect(c.calls()).toBe(1);
  });

  it("a shared lookup that never settles holds a request 2 s at most, then it looks up itself", async () => {
    const c = controlledLookup();
    const memo = new ExistenceMemo<Db>(c.lookup);
    // the query of the request that started it never settles (in the runtime: that request was cancelled)
    const first = memo.exists(db, "s");
    const second = memo.exists(db, "s");
    await vi.advanceTimersByTimeAsync(1_999);
    expect(c.calls()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    // each waiting request looks up by itself now (here both, as the first is still waiting too)
    expect(c.calls()).toBe(3);
    c.waiting[1]!(false);
    c.waiting[2]!(false);
    expect(await Promise.all([first, second])).toEqual([false, false]);
  });

  it("an expired answer is given at once while one lookup refreshes it", async () => {
    const c = controlledLookup();
    const memo = new ExistenceMemo<Db>(c.lookup);
    const first = memo.exists(db, "s");
    c.waiting[0]!(true);
    await first;
    await vi.advanceTimersByTimeAsync(10_001); // past the 10 s a positive answer is kept
    expect(await memo.exists(db, "s")).toBe(true); // stale, at once
    expect(await memo.exists(db, "s")).toBe(true);
    expect(c.calls()).toBe(2); // one refresh for both
    c.waiting[1]!(false);
    await vi.advanceTimersByTimeAsync(0);
    expect(await memo.exists(db, "s")).toBe(false); // the refresh's answer
    expect(c.calls()).toBe(2);
  });

  it("a refresh pending for 5 s is forgotten and started again", async () => {
    const c = controlledLookup();
    const memo = new ExistenceMemo<Db>(c.lookup);
    const first = memo.exists(db, "s");
    c.waiting[0]!(true);
    await first;
    await vi.advanceTimersByTimeAsync(10_001);
    await memo.exists(db, "s"); // refresh #1, never settles
    await vi.advanceTimersByTimeAsync(4_000);
    await memo.exists(db, "s");
    expect(c.calls()).toBe(2);
    await vi.advanceTimersByTimeAsync(1_001);
    expect(await memo.exists(db, "s")).toBe(true);
    expect(c.calls()).toBe(3);
  });
});
