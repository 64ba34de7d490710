/**
 * Player telemetry (operational data over the bidirectional
 * connection, aggregated per user group). Each connection's latest report
 * counts once; groups are the connection's country and device tags plus
 * "all". Pure; nothing is broadcast per report.
 *
 * Median latency: the median over the group's viewers of each one's newest
 * latency. The aggregator already keeps exactly one merged sample per open
 * socket (the same state the socket attachment keeps across hibernation), so
 * the median costs no extra memory and is bounded by the room's sockets; it
 * says what the typical viewer experiences now, with each viewer counted
 * once, however often it reported, and a viewer who leaves stops counting.
 * A histogram of every report would grow no larger, but would mix the past
 * into "now" and weight chatty players more, and would need its bins kept
 * in sync with what hibernation restores.
 */
export interface TelemetrySample {
  bitrateKbps?: number;
  stallMs?: number;
  bufferMs?: number;
  latencyMs?: number;
  droppedFrames?: number;
}

export interface GroupStats {
  connections: number;
  reports: number;
  avgBitrateKbps: number | null;
  avgStallMs: number | null;
  avgBufferMs: number | null;
  avgLatencyMs: number | null;
  /** median over the group's viewers of their latest latency (ms); null when none reported one */
  medianLatencyMs: number | null;
}

interface Entry {
  groups: string[];
  sample: TelemetrySample;
  reports: number;
}

const FIELDS = [
  ["bitrateKbps", "avgBitrateKbps"],
  ["stallMs", "avgStallMs"],
  ["bufferMs", "avgBufferMs"],
  ["latencyMs", "avgLatencyMs"],
] as const;

interface GroupAccumulator {
  connections: number;
  reports: number;
  sums: number[];
  counts: number[];
  latencies: number[];
}

const round1 = (value: number) => Math.round(value * 10) / 10;

/** Median of a list of numbers (the mean of the middle two for an even count); null when empty. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const upper = sorted[mid]!;
  return sorted.length % 2 === 1 ? upper : (sorted[mid - 1]! + upper) / 2;
}

export class TelemetryAggregator {
  private readonly entries = new Map<string, Entry>();
  private reportsTotal = 0;

  report(connectionId: string, groups: string[], sample: TelemetrySample): void {
    const entry = this.entries.get(connectionId);
    this.reportsTotal++;
    if (entry === undefined) {
      this.entries.set(connectionId, { groups: ["all", ...groups], sample: { ...sample }, reports: 1 });
    } else {
      entry.sample = { ...entry.sample, ...sample };
      entry.reports++;
    }
  }

  /** Puts back a connection's state kept elsewhere (the socket attachment, after hibernation). */
  restore(connectionId: string, groups: string[], sample: TelemetrySample, reports: number): void {
    this.entries.set(connectionId, { groups: ["all", ...groups], sample: { ...sample }, reports });
    this.reportsTotal += reports;
  }

  /** The latest merged sample and report count of a connection. */
  latest(connectionId: string): { sample: TelemetrySample; reports: number } | undefined {
    const entry = this.entries.get(connectionId);
    return entry && { sample: { ...entry.sample }, reports: entry.reports };
  }

  remove(connectionId: string): void {
    this.entries.delete(connectionId);
  }

  get reports(): number {
    return this.reportsTotal;
  }

  /** Aggregates per group ("all", "country:FR", "device:mobile", ...). */
  summary(): Record<string, GroupStats> {
    const acc = new Map<string, GroupAccumulator>();
    for (const entry of this.entries.values()) {
      for (const group of entry.groups) {
        let a = acc.get(group);
        if (a === undefined) {
          a = { connections: 0, reports: 0, sums: FIELDS.map(() => 0), counts: FIELDS.map(() => 0), latencies: [] };
          acc.set(group, a);
        }
        a.connections++;
        a.reports += entry.reports;
        FIELDS.forEach(([field], i) => {
          const value = entry.sample[field];
          if (typeof value === "number" && Number.isFinite(value)) {
            a.sums[i]! += value;
            a.counts[i]!++;
          }
        });
        const latency = entry.sample.latencyMs;
        if (typeof latency === "number" && Number.isFinite(latency)) a.latencies.push(latency);
      }
    }
    const out: Record<string, GroupStats> = {};
    for (const [group, a] of [...acc.entries()].sort(([x], [y]) => x.localeCompare(y))) {
      const stats: GroupStats = {
        connections: a.connections,
        reports: a.reports,
        avgBitrateKbps: null,
        avgStallMs: null,
        avgBufferMs: null,
        avgLatencyMs: null,
        medianLatencyMs: null,
      };
      FIELDS.forEach(([, name], i) => {
        const count = a.counts[i]!;
        stats[name] = count > 0 ? round1(a.sums[i]! / count) : null;
      });
      const mid = median(a.latencies);
      stats.medianLatencyMs = mid === null ? null : round1(mid);
      out[group] = stats;
    }
    return out;
  }
}
