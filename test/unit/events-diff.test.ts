/** The event diff and its application (workers/events/diff.ts). */
import { describe, expect, it } from "vitest";
import { applyEventChanges, deepEqual, diffEvents } from "../../workers/events/diff.js";
import { baseEvent } from "../support/events.js";

const base = baseEvent;

describe("event diff", () => {
  it("nothing changed → null", () => {
    expect(diffEvents(base, structuredClone(base))).toBeNull();
  });

  it("only what changed, nested objects as partial objects", () => {
    const next = structuredClone(base);
    next.home.score = 12;
    next.clock = "07:12";
    expect(diffEvents(base, next)).toEqual({ home: { score: 12 }, clock: "07:12" });
  });

  it("details: changed and removed keys (removed → null)", () => {
    const next = structuredClone(base);
    next.details = { fouls: { HCH: 3, SUM: 5 }, timeouts: 2 };
    expect(diffEvents(base, next)).toEqual({ details: { possession: null, fouls: { SUM: 5 }, timeouts: 2 } });
  });

  it("status, period type change, arrays replaced whole", () => {
    const a = { ...structuredClone(base), details: { lineup: [1, 2, 3] } };
    const b = { ...structuredClone(base), status: "final" as const, period: "OT", details: { lineup: [1, 2, 4] } };
    expect(diffEvents(a, b)).toEqual({ status: "final", period: "OT", details: { lineup: [1, 2, 4] } });
  });

  it("from nothing: the whole event", () => {
    expect(diffEvents(null, base)).toEqual(base);
  });

  it("apply(prev, diff(prev, next)) == next, over a sequence of random edits", () => {
    let prev = structuredClone(base);
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 200; i++) {
      const next = structuredClone(prev);
      if (rnd() < 0.5) next.home.score += 1 + Math.floor(rnd() * 3);
      if (rnd() < 0.3) next.away.score += 2;
      if (rnd() < 0.9) next.clock = `0${Math.floor(rnd() * 9)}:${String(Math.floor(rnd() * 60)).padStart(2, "0")}`;
      if (rnd() < 0.2) next.details = { ...next.details, possession: rnd() < 0.5 ? "HCH" : "SUM" };
      if (rnd() < 0.05) next.period = (next.period as number) + 1;
      const changes = diffEvents(prev, next);
      if (changes === null) {
        expect(deepEqual(prev, next)).toBe(true);
      } else {
        expect(applyEventChanges(prev, changes)).toEqual(next);
        // never more than what changed
        expect(
          Object.keys(changes).every((k) => !deepEqual((prev as Record<string, unknown>)[k], (next as Record<string, unknown>)[k])),
        ).toBe(true);
      }
      prev = next;
    }
  });
});
