/**
 * The scorebug's state over program time (pure). The event room says what the
 * game looked like when the server observed it (`ts`, server clock): a full
 * `event_snapshot` or an `event_update` with only what changed. The video's
 * playhead trails the server by the target delay, so to show no spoilers the
 * page asks `stateAt(programTime)`: every entry stamped at or before the
 * playhead, applied in order. `latest()` is real time.
 *
 * Entries far behind the playhead are folded into the base, so the list stays
 * short however long the game runs.
 */
import type { SportEvent } from "./api.js";

type Changes = Record<string, unknown>;
interface Entry {
  ts: number;
  seq: number;
  full?: SportEvent | null;
  changes?: Changes;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** A partial event merged at any depth (workers/events/diff.ts: nested objects are partial). */
export function mergeChanges<T>(prev: T, changes: Changes): T {
  const out: Record<string, unknown> = { ...(prev as Record<string, unknown>) };
  for (const [key, value] of Object.entries(changes)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? mergeChanges(current, value) : value;
  }
  return out as T;
}

export class ScoreTimeline {
  private base: SportEvent | null = null;
  private entries: Entry[] = [];
  private lastUpdateSeq = -1;

  /** A full state observed at `ts` (event_snapshot). */
  snapshot(ts: number, seq: number, event: SportEvent | null): void {
    this.insert({ ts, seq, full: event });
  }

  /** Changes observed at `ts` (event_update); an update seen twice (replay) is ignored. */
  update(ts: number, seq: number, changes: Changes): void {
    if (seq <= this.lastUpdateSeq) return;
    this.lastUpdateSeq = seq;
    this.insert({ ts, seq, changes });
  }

  private insert(entry: Entry): void {
    // almost always appended; keep (ts, seq) order for the rare late one
    let i = this.entries.length;
    while (i > 0 && (this.entries[i - 1]!.ts > entry.ts || (this.entries[i - 1]!.ts === entry.ts && this.entries[i - 1]!.seq > entry.seq)))
      i--;
    this.entries.splice(i, 0, entry);
  }

  /** The game at program time `t` (ms, server clock); null before anything is known there. */
  stateAt(t: number): SportEvent | null {
    let state = this.base;
    for (const entry of this.entries) {
      if (entry.ts > t) break;
      state = apply(state, entry);
    }
    return state;
  }

  /** The first state known (for a playhead before every stamp: a join, a switch of stream). */
  earliest(): SportEvent | null {
    if (this.base !== null) return this.base;
    const first = this.entries[0];
    return first ? apply(null, first) : null;
  }

  latest(): SportEvent | null {
    return this.stateAt(Number.POSITIVE_INFINITY);
  }

  /** Earliest entry not yet shown at `t`, if any (to know when to look again). */
  nextAfter(t: number): number | null {
    const next = this.entries.find((e) => e.ts > t);
    return next ? next.ts : null;
  }

  /** Folds entries older than `t` into the base (call with the playhead minus a margin). */
  compact(t: number): void {
    let n = 0;
    while (n < this.entries.length && this.entries[n]!.ts <= t) {
      this.base = apply(this.base, this.entries[n]!);
      n++;
    }
    if (n > 0) this.entries.splice(0, n);
  }

  get pending(): number {
    return this.entries.length;
  }
}

function apply(state: SportEvent | null, entry: Entry): SportEvent | null {
  if (entry.full !== undefined) return entry.full;
  if (!entry.changes) return state;
  return mergeChanges(state ?? ({} as SportEvent), entry.changes);
}
