/**
 * Player telemetry of a stream room: each socket's latest report lives in
 * its attachment (so aggregates survive hibernation), the aggregate per
 * group (telemetry.ts) is rebuilt from the open sockets when the room wakes,
 * and the broadcaster gets a `telemetry_summary` at most every 5 s. Reports
 * are never broadcast.
 */
import type { Clock } from "../clock.js";
import type { Connection, ConnectionInfo } from "../connections.js";
import type { TelemetrySummaryFrame } from "../frames.js";
import { TelemetryAggregator, type TelemetrySample } from "../telemetry.js";

const TELEMETRY_PUSH_MS = 5_000;

/** What a stream room keeps per socket (the attachment's app half). */
export interface StreamSocketState {
  /** the player's latest telemetry (merged) and how many reports it sent */
  telemetry?: { sample: TelemetrySample; reports: number };
}

export type StreamConnection = Connection<StreamSocketState>;

/**
 * What the stream room's frame handling needs of a socket: one of its own
 * (a Connection), or one held by a fan-out shard (stream/remote-socket.ts).
 */
export interface StreamSocket {
  readonly id: string;
  readonly who: ConnectionInfo;
  readonly app: StreamSocketState | null;
  setApp(app: StreamSocketState): void;
}

/** Telemetry groups of a socket: its device and, when known, its country. */
function groupsOf(connection: StreamSocket): string[] {
  const groups = [`device:${connection.who.device}`];
  if (connection.who.country !== null) groups.push(`country:${connection.who.country}`);
  return groups;
}

export class TelemetryReports {
  private aggregator: TelemetryAggregator | null = null;
  private lastPush = -Infinity;

  constructor(
    private readonly clock: Clock,
    private readonly sockets: () => StreamConnection[],
  ) {}

  /** The aggregate, rebuilt from the open sockets' attachments after hibernation. */
  private get aggregate(): TelemetryAggregator {
    if (this.aggregator === null) {
      const restored = new TelemetryAggregator();
      for (const connection of this.sockets()) {
        const kept = connection.app?.telemetry;
        if (kept) restored.restore(connection.id, groupsOf(connection), kept.sample, kept.reports);
      }
      this.aggregator = restored;
    }
    return this.aggregator;
  }

  /** Records a report; returns a summary for the broadcaster when one is due. */
  report(connection: StreamSocket, sample: TelemetrySample): TelemetrySummaryFrame | null {
    const aggregate = this.aggregate;
    // a shard's socket after the room restarted: its state comes with the frame (the shard keeps it)
    const kept = connection.app?.telemetry;
    if (kept && aggregate.latest(connection.id) === undefined)
      aggregate.restore(connection.id, groupsOf(connection), kept.sample, kept.reports);
    aggregate.report(connection.id, groupsOf(connection), sample);
    const latest = aggregate.latest(connection.id);
    if (latest !== undefined) connection.setApp({ ...connection.app, telemetry: latest });
    const now = this.clock.now();
    if (now - this.lastPush < TELEMETRY_PUSH_MS) return null;
    this.lastPush = now;
    return this.summary();
  }

  remove(connectionId: string): void {
    this.aggregate.remove(connectionId);
  }

  summary(): TelemetrySummaryFrame {
    return { type: "telemetry_summary", reports: this.aggregate.reports, groups: this.aggregate.summary() };
  }
}
