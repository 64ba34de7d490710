/**
 * Player telemetry (operational data over the bidirectional
 * connection, aggregated per user group). Each connection's latest report
 * counts once; groups are the connection's country and device tags plus
 * "all". Pure; nothing is broadcast per report.
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
    const acc = new Map<string, { connections: number; reports: number; sums: number[]; counts: number[] }>();
    for (const entry of this.entries.values()) {
      for (const group of entry.groups) {
        let a = acc.get(group);
        if (a === undefined) {
          a = { connections: 0, reports: 0, sums: [0, 0, 0, 0], counts: [0, 0, 0, 0] };
          acc.set(group, a);
        }
        a.connections++;
        a.reports += entry.reports;
        FIELDS.forEach(([field], i) => {
          const value = entry.sample[field];
          if (typeof value === "number" && Number.isFinite(value)) {
            a!.sums[i]! += value;
            a!.counts[i]!++;
          }
        });
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
      };
      FIELDS.forEach(([, name], i) => {
        stats[name] = a.counts[i]! > 0 ? Math.round((a.sums[i]! / a.counts[i]!) * 10) / 10 : null;
      });
      out[group] = stats;
    }
    return out;
  }
}
