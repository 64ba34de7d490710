/**
 * Origin counters and their Prometheus text rendering. Offload is read from
 * here: for each object type, how many distinct objects were served and how
 * many times in total (equal numbers mean every object was fetched once).
 */
import type { HlsObjectType } from "../common/hls-paths.js";

/** Per-object counts are only needed for recent objects; older ones are dropped. */
const MAX_TRACKED_OBJECTS = 20_000;

interface TypeTotals {
  unique: number;
  fetches: number;
  maxFetchesPerObject: number;
}

export class OriginMetrics {
  private readonly requests = new Map<string, number>();
  private readonly perObject = new Map<string, number>();
  private readonly totals = new Map<string, TypeTotals>();
  segmentsPackaged = 0;
  /** HLS body bytes sent, for the egress bitrate in heartbeats. */
  bytesServed = 0;
  publishRefused = 0;
  publishAccepted = 0;
  transcoderFailures = 0;

  /**
   * `blocking`: an LL-HLS blocking playlist answer (`_HLS_msn`), counted
   * under the type "blocking" so that "each blocking answer reached the
   * origin once" can be read apart from plain playlist reloads.
   */
  recordRequest(objectType: HlsObjectType | "unknown", status: number, objectKey?: string, blocking = false): void {
    const type = blocking && objectType === "media" ? "blocking" : objectType;
    const key = `${type}|${status}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    if (!objectKey || status !== 200) return;
    const totals = this.totals.get(type) ?? { unique: 0, fetches: 0, maxFetchesPerObject: 0 };
    this.totals.set(type, totals);
    const count = (this.perObject.get(objectKey) ?? 0) + 1;
    if (count === 1) {
      totals.unique++;
      if (this.perObject.size >= MAX_TRACKED_OBJECTS) {
        this.perObject.delete(this.perObject.keys().next().value!);
      }
    }
    this.perObject.set(objectKey, count);
    totals.fetches++;
    totals.maxFetchesPerObject = Math.max(totals.maxFetchesPerObject, count);
  }

  render(gauges: { activeStreams: number; reconnectingStreams: number; transcoders: number }): string {
    const lines: string[] = [
      "# HELP origin_hls_requests_total HLS requests served, by object type and status.",
      "# TYPE origin_hls_requests_total counter",
    ];
    for (const [key, count] of [...this.requests].sort()) {
      const [type, status] = key.split("|");
      lines.push(`origin_hls_requests_total{type="${type}",status="${status}"} ${count}`);
    }
    const perType = [...this.totals].sort();
    lines.push(
      "# HELP origin_hls_unique_objects_total Distinct HLS objects served with 200, by type.",
      "# TYPE origin_hls_unique_objects_total counter",
      ...perType.map(([t, v]) => `origin_hls_unique_objects_total{type="${t}"} ${v.unique}`),
      "# HELP origin_hls_object_fetches_total 200 responses, by type (compare with unique objects).",
      "# TYPE origin_hls_object_fetches_total counter",
      ...perType.map(([t, v]) => `origin_hls_object_fetches_total{type="${t}"} ${v.fetches}`),
      "# HELP origin_hls_max_fetches_per_object Most times any one object of the type was served.",
      "# TYPE origin_hls_max_fetches_per_object gauge",
      ...perType.map(([t, v]) => `origin_hls_max_fetches_per_object{type="${t}"} ${v.maxFetchesPerObject}`),
      "# HELP origin_active_streams Streams currently being published.",
      "# TYPE origin_active_streams gauge",
      `origin_active_streams ${gauges.activeStreams}`,
      "# HELP origin_reconnecting_streams Streams waiting for their broadcaster to return.",
      "# TYPE origin_reconnecting_streams gauge",
      `origin_reconnecting_streams ${gauges.reconnectingStreams}`,
      "# HELP origin_transcoders Running FFmpeg processes.",
      "# TYPE origin_transcoders gauge",
      `origin_transcoders ${gauges.transcoders}`,
      "# TYPE origin_hls_bytes_served_total counter",
      `origin_hls_bytes_served_total ${this.bytesServed}`,
      "# TYPE origin_segments_packaged_total counter",
      `origin_segments_packaged_total ${this.segmentsPackaged}`,
      "# TYPE origin_publish_accepted_total counter",
      `origin_publish_accepted_total ${this.publishAccepted}`,
      "# TYPE origin_publish_refused_total counter",
      `origin_publish_refused_total ${this.publishRefused}`,
      "# TYPE origin_transcoder_failures_total counter",
      `origin_transcoder_failures_total ${this.transcoderFailures}`,
    );
    return lines.join("\n") + "\n";
  }
}
