/**
 * Origin request counts for the offload figures, for both systems. Pure.
 *
 * Ours: deltas of the origin's Prometheus counters between the start and the
 * end of a phase. Peer: the lines the nginx origin tier appended to its
 * access log (`bench_origin` format) during the phase.
 */

/**
 * "media" is a plain media-playlist request; "blocking" an LL-HLS blocking
 * playlist request (`_HLS_msn`), which our origin counts apart (each distinct
 * answer is its own object downstream).
 */
export type ObjectType = "master" | "media" | "blocking" | "init" | "segment" | "part" | "other";
export const OBJECT_TYPES: readonly ObjectType[] = ["master", "media", "blocking", "init", "segment", "part", "other"];

export interface OriginCounts {
  /** Every request the origin answered (any status). */
  requests: number;
  requestsByType: Partial<Record<ObjectType, number>>;
  /** 200 answers by type. */
  fetchesByType: Partial<Record<ObjectType, number>>;
  /** Distinct objects first served in the window (ours) / served in the window (peer), by type. */
  uniqueByType: Partial<Record<ObjectType, number>>;
  /** Most 200 fetches of any one object of the type (peer: in the window; ours: since the origin started). */
  maxPerObjectByType: Partial<Record<ObjectType, number>>;
}

/** Prometheus text → `name{labels}` → value. */
export function parsePrometheus(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    if (at <= 0) continue;
    const value = Number(line.slice(at + 1));
    if (Number.isFinite(value)) values.set(line.slice(0, at), value);
  }
  return values;
}

function labelled(metrics: Map<string, number>, name: string): Array<{ labels: Record<string, string>; value: number }> {
  const out: Array<{ labels: Record<string, string>; value: number }> = [];
  for (const [key, value] of metrics) {
    if (!key.startsWith(`${name}{`)) continue;
    const labels: Record<string, string> = {};
    for (const m of key.slice(name.length + 1, -1).matchAll(/(\w+)="([^"]*)"/g)) labels[m[1]!] = m[2]!;
    out.push({ labels, value });
  }
  return out;
}

function asType(type: string | undefined): ObjectType {
  return (OBJECT_TYPES as readonly string[]).includes(type ?? "") ? (type as ObjectType) : "other";
}

/** Our origin's counters between two /metrics scrapes. */
export function oursOriginDelta(before: Map<string, number>, after: Map<string, number>): OriginCounts {
  const counts: OriginCounts = { requests: 0, requestsByType: {}, fetchesByType: {}, uniqueByType: {}, maxPerObjectByType: {} };
  const add = (into: Partial<Record<ObjectType, number>>, type: ObjectType, n: number) => {
    if (n !== 0) into[type] = (into[type] ?? 0) + n;
  };
  const beforeValue = (key: string) => before.get(key) ?? 0;
  for (const { labels, value } of labelled(after, "origin_hls_requests_total")) {
    const key = `origin_hls_requests_total{type="${labels.type}",status="${labels.status}"}`;
    const delta = value - beforeValue(key);
    counts.requests += delta;
    add(counts.requestsByType, asType(labels.type), delta);
  }
  for (const { labels, value } of labelled(after, "origin_hls_object_fetches_total")) {
    add(counts.fetchesByType, asType(labels.type), value - beforeValue(`origin_hls_object_fetches_total{type="${labels.type}"}`));
  }
  for (const { labels, value } of labelled(after, "origin_hls_unique_objects_total")) {
    add(counts.uniqueByType, asType(labels.type), value - beforeValue(`origin_hls_unique_objects_total{type="${labels.type}"}`));
  }
  for (const { labels, value } of labelled(after, "origin_hls_max_fetches_per_object")) {
    counts.maxPerObjectByType[asType(labels.type)] = value;
  }
  return counts;
}

/** Object type of a path below nginx-rtmp's nested HLS output (`/hls/<name>...`). */
export function classifyPeerUri(uri: string): ObjectType {
  const path = uri.split("?")[0]!;
  if (/^\/hls\/[^/]+\.m3u8$/.test(path)) return "master";
  if (/^\/hls\/[^/]+\/index\.m3u8$/.test(path)) return "media";
  if (/^\/hls\/[^/]+\/[^/]+\.ts$/.test(path)) return "segment";
  return "other";
}

export interface AccessLogLine {
  /** Unix ms. */
  time: number;
  uri: string;
  status: number;
  bytes: number;
}

/** One `bench_origin` / `bench_tier` line: `$msec "$request_uri" $status $body_bytes_sent [...]`. */
export function parseAccessLogLine(line: string): AccessLogLine | null {
  const match = /^(\d+(?:\.\d+)?) "([^"]*)" (\d{3}) (\d+)/.exec(line);
  if (!match) return null;
  return { time: Math.round(Number(match[1]) * 1000), uri: match[2]!, status: Number(match[3]), bytes: Number(match[4]) };
}

/** Counts of the nginx origin tier from its access log text (optionally within [from, to] ms). */
export function peerOriginCounts(logText: string, window?: { from: number; to: number }): OriginCounts {
  const counts: OriginCounts = { requests: 0, requestsByType: {}, fetchesByType: {}, uniqueByType: {}, maxPerObjectByType: {} };
  const perObject = new Map<string, { type: ObjectType; n: number }>();
  for (const raw of logText.split("\n")) {
    const line = parseAccessLogLine(raw);
    if (!line) continue;
    if (window && (line.time < window.from || line.time > window.to)) continue;
    const type = classifyPeerUri(line.uri);
    counts.requests++;
    counts.requestsByType[type] = (counts.requestsByType[type] ?? 0) + 1;
    if (line.status !== 200) continue;
    counts.fetchesByType[type] = (counts.fetchesByType[type] ?? 0) + 1;
    const key = line.uri.split("?")[0]!;
    const entry = perObject.get(key) ?? { type, n: 0 };
    entry.n++;
    perObject.set(key, entry);
  }
  for (const { type, n } of perObject.values()) {
    counts.uniqueByType[type] = (counts.uniqueByType[type] ?? 0) + 1;
    counts.maxPerObjectByType[type] = Math.max(counts.maxPerObjectByType[type] ?? 0, n);
  }
  return counts;
}

/** Type of a viewer-side URL on either system (ours: /live/<id>/<object>; peer: /hls/...). */
export function classifyViewerUrl(url: string): ObjectType {
  const parsed = new URL(url);
  const path = parsed.pathname;
  if (path.startsWith("/hls/")) return classifyPeerUri(path);
  const ours = /^\/live\/[^/]+\/(.+)$/.exec(path)?.[1];
  if (!ours) return "other";
  if (ours === "master.m3u8") return "master";
  if (/^[^/]+\/index\.m3u8$/.test(ours)) return parsed.searchParams.has("_HLS_msn") ? "blocking" : "media";
  if (/^[^/]+\/init-[^/]+\.mp4$/.test(ours)) return "init";
  if (/^[^/]+\/[a-z0-9]+-p\d+\.m4s$/.test(ours)) return "part";
  if (/^[^/]+\/[a-z0-9]+-\d+\.m4s$/.test(ours)) return "segment";
  return "other";
}
