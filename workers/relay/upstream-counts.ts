/**
 * How often a tier asked the tier above for each object, by object type, so
 * that "requests per object" can be read off a running stack (the multi-colo
 * benchmark checks that the mother sees each object at most once per region).
 * A blocking playlist answer (`_HLS_msn`) counts as its own type; a plain
 * media playlist is asked again each time its max-age runs out, so its
 * count per object is a refresh rate, not a coalescing failure.
 *
 * Bounded: the newest MAX_OBJECTS keys are remembered; an older key asked
 * again counts as a new object (it would have left every cache by then).
 */
import { classifyObjectPath } from "../../common/hls-paths.js";

export type UpstreamType = "master" | "media" | "blocking" | "init" | "segment" | "part" | "other";

const MAX_OBJECTS = 20_000;

export interface UpstreamCounts {
  /** Calls made, by type. */
  calls: Partial<Record<UpstreamType, number>>;
  /** Distinct objects called for, by type. */
  objects: Partial<Record<UpstreamType, number>>;
  /** Most calls for any one remembered object, by type. */
  maxPerObject: Partial<Record<UpstreamType, number>>;
}

export function upstreamType(objectPath: string, search: string): UpstreamType {
  const type = classifyObjectPath(objectPath);
  if (type === null) return "other";
  if (type === "media" && new URLSearchParams(search).has("_HLS_msn")) return "blocking";
  return type;
}

export class UpstreamCounter {
  private readonly perObject = new Map<string, number>();
  private readonly counts: UpstreamCounts = { calls: {}, objects: {}, maxPerObject: {} };

  /** Records one call for `objectPath` + `search` (the canonical query). */
  record(objectPath: string, search: string): void {
    const type = upstreamType(objectPath, search);
    const key = objectPath + search;
    const seen = this.perObject.get(key);
    const n = (seen ?? 0) + 1;
    if (seen === undefined) {
      this.counts.objects[type] = (this.counts.objects[type] ?? 0) + 1;
      if (this.perObject.size >= MAX_OBJECTS) {
        const oldest = this.perObject.keys().next();
        if (!oldest.done) this.perObject.delete(oldest.value);
      }
    }
    this.perObject.set(key, n);
    this.counts.calls[type] = (this.counts.calls[type] ?? 0) + 1;
    this.counts.maxPerObject[type] = Math.max(this.counts.maxPerObject[type] ?? 0, n);
  }

  snapshot(): UpstreamCounts {
    return { calls: { ...this.counts.calls }, objects: { ...this.counts.objects }, maxPerObject: { ...this.counts.maxPerObject } };
  }
}
