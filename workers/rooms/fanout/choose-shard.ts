/**
 * Which fan-out shard takes a new socket, from the estimated load of each
 * shard the Worker knows (placement.ts). Pure.
 */

/** Upper bound on shard indices: 1,000 × EVENT_SHARD_SOCKETS sockets per event. */
const MAX_SHARDS = 1_000;

/**
 * A shard with room left, at random weighted by the room left (isolates
 * with the same stale estimates spread their sockets instead of piling onto
 * one shard); when every known shard is full, the lowest unused index (N
 * grows with the audience); past MAX_SHARDS, the least loaded.
 * `estimates`: shard index → sockets; `random` in [0, 1).
 */
export function chooseShard(estimates: ReadonlyMap<number, number>, capacity: number, random: () => number = Math.random): number {
  let total = 0;
  const open: [number, number][] = [];
  for (const [index, load] of estimates) {
    const spare = capacity - load;
    if (spare > 0) {
      open.push([index, spare]);
      total += spare;
    }
  }
  if (open.length === 0) {
    let next = 0;
    while (estimates.has(next) && next < MAX_SHARDS - 1) next++;
    if (!estimates.has(next)) return next;
    let best = 0;
    let bestLoad = Infinity;
    for (const [index, load] of estimates) {
      if (load < bestLoad) {
        best = index;
        bestLoad = load;
      }
    }
    return best;
  }
  let pick = random() * total;
  for (const [index, spare] of open) {
    pick -= spare;
    if (pick < 0) return index;
  }
  return open[open.length - 1]![0];
}
