/**
 * Structural diff of normalized events: what an `event_update` frame carries
 * ("only what changed"). Pure; also used by the plain-Node baseline of the
 * fan-out benchmark and by clients' tests.
 *
 *   diffEvents(prev, next) → null when nothing changed, else a partial event:
 *   changed scalars (and arrays) as their new value, nested objects (home,
 *   away, details) as partial objects, removed keys as null.
 *   applyEventChanges(prev, diffEvents(prev, next)) deep-equals next (keys
 *   removed from `details` come back as null).
 */
import type { StandardEvent } from "./standard-event.js";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type EventChanges = { [key: string]: Json };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => deepEqual(item, b[i]));
  }
  if (isPlainObject(a)) {
    if (!isPlainObject(b)) return false;
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const key of keys) if (!deepEqual(a[key], b[key])) return false;
    return true;
  }
  return Number.isNaN(a) && Number.isNaN(b);
}

function toJson(value: unknown): Json {
  return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as Json);
}

/** Partial object of what changed from `prev` to `next`; null when equal. */
function diffObjects(prev: Record<string, unknown>, next: Record<string, unknown>): EventChanges | null {
  const changes: EventChanges = {};
  let changed = false;
  const keys = new Set([...Object.keys(prev), ...Object.keys(next)]);
  for (const key of keys) {
    const a = prev[key];
    const b = next[key];
    if (deepEqual(a, b)) continue;
    changed = true;
    if (isPlainObject(a) && isPlainObject(b)) {
      changes[key] = diffObjects(a, b) ?? {};
    } else {
      changes[key] = toJson(b);
    }
  }
  return changed ? changes : null;
}

/** What changed from `prev` (null: nothing known yet, everything is new) to `next`. */
export function diffEvents(prev: StandardEvent | null, next: StandardEvent): EventChanges | null {
  if (prev === null) return toJson(next) as EventChanges;
  return diffObjects(prev as unknown as Record<string, unknown>, next as unknown as Record<string, unknown>);
}

/** Applies a diff (recursively merging nested objects). Does not modify `prev`. */
function applyChanges<T extends Record<string, unknown>>(prev: T, changes: EventChanges): T {
  const out: Record<string, unknown> = { ...prev };
  for (const [key, value] of Object.entries(changes)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? applyChanges(current, value as EventChanges) : value;
  }
  return out as T;
}

export function applyEventChanges(prev: StandardEvent | null, changes: EventChanges): StandardEvent {
  return applyChanges((prev ?? {}) as unknown as Record<string, unknown>, changes) as unknown as StandardEvent;
}
