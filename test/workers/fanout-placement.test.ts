import { describe, expect, it } from "vitest";
import { chooseShard } from "../../workers/rooms/fanout/choose-shard.js";

const sequence = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length]!;
};

describe("fan-out shard choice", () => {
  it("no shard yet: index 0", () => {
    expect(chooseShard(new Map(), 1000)).toBe(0);
  });

  it("a shard with room left, weighted by the room left; full shards never", () => {
    const estimates = new Map([
      [0, 1000],
      [1, 250],
      [2, 750],
    ]);
    // room left: shard 1 750, shard 2 250 → [0, 0.75) is shard 1, [0.75, 1) shard 2
    expect(chooseShard(estimates, 1000, () => 0)).toBe(1);
    expect(chooseShard(estimates, 1000, () => 0.74)).toBe(1);
    expect(chooseShard(estimates, 1000, () => 0.76)).toBe(2);
    expect(chooseShard(estimates, 1000, () => 0.999999)).toBe(2);
    const counts = new Map<number, number>();
    const random = sequence(...Array.from({ length: 100 }, (_, i) => i / 100));
    for (let i = 0; i < 100; i++) {
      const index = chooseShard(estimates, 1000, random);
      counts.set(index, (counts.get(index) ?? 0) + 1);
    }
    expect(counts).toEqual(
      new Map([
        [1, 75],
        [2, 25],
      ]),
    );
  });

  it("every known shard full: the lowest unused index (N grows with the audience)", () => {
    expect(chooseShard(new Map([[0, 3]]), 3)).toBe(1);
    expect(
      chooseShard(
        new Map([
          [0, 3],
          [2, 5],
        ]),
        3,
      ),
    ).toBe(1);
    expect(
      chooseShard(
        new Map([
          [0, 3],
          [1, 3],
          [2, 3],
        ]),
        3,
      ),
    ).toBe(3);
  });

  it("past the last index: the least loaded", () => {
    const estimates = new Map(Array.from({ length: 1000 }, (_, i) => [i, i === 617 ? 4 : 5] as [number, number]));
    expect(chooseShard(estimates, 3)).toBe(617);
  });
});
