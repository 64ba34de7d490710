/**
 * The streams this origin holds, by stream id. Publishes are authorized by
 * the Worker here, before any transcoder starts; ended streams stay servable
 * (ENDLIST playlists, last segments) for a retention period, then go.
 */
import type { HeartbeatResponse, OriginStreamReport } from "../../common/origin-contract.js";
import type { IncomingPublish } from "../ingest/rtmp-ingest.js";
import { LiveStream, type LiveStreamDeps, type LiveStreamOptions } from "./live-stream.js";

interface PublishAuthorizer {
  authorizePublish(streamKey: string): Promise<{ streamId: string }>;
}

export interface RegistryOptions {
  authorizer: PublishAuthorizer;
  streamOptions: Omit<LiveStreamOptions, "streamId">;
  makeDeps: (streamId: string) => LiveStreamDeps;
  endedRetentionMs: number;
  onRefused: () => void;
  onAccepted: () => void;
  log: (message: string) => void;
}

export class StreamRegistry {
  private readonly streams = new Map<string, LiveStream>();
  private readonly retentionTimers = new Set<NodeJS.Timeout>();

  constructor(private readonly options: RegistryOptions) {}

  get(streamId: string): LiveStream | undefined {
    return this.streams.get(streamId);
  }

  counts(): { active: number; reconnecting: number } {
    let active = 0;
    let reconnecting = 0;
    for (const stream of this.streams.values()) {
      if (stream.state === "live" || stream.state === "starting") active++;
      else if (stream.state === "reconnecting") reconnecting++;
    }
    return { active, reconnecting };
  }

  /** What the heartbeat reports about every stream not ended. */
  reports(): OriginStreamReport[] {
    return [...this.streams.values()].flatMap((stream) => stream.report() ?? []);
  }

  /** Carries out the control plane's answer to a heartbeat: ended streams end here too, rotated keys lose their publisher. */
  applyOrders(orders: Pick<HeartbeatResponse, "end" | "dropPublisher">): void {
    for (const { streamId, reason } of orders.end) {
      const stream = this.streams.get(streamId);
      if (stream && stream.state !== "ended") {
        this.options.log(`stream ${streamId} was ended by the control plane (${reason})`);
        void stream.end(`ended by the control plane: ${reason}`);
      }
    }
    for (const streamId of orders.dropPublisher) this.streams.get(streamId)?.dropPublisher("stream key rotated");
  }

  async handlePublish(publish: IncomingPublish): Promise<void> {
    let streamId: string;
    try {
      ({ streamId } = await this.options.authorizer.authorizePublish(publish.streamKey));
    } catch (error) {
      this.options.onRefused();
      const code = (error as { code?: string }).code ?? "authorization_failed";
      publish.refuse(`stream key refused by control plane (${code})`);
      return;
    }
    if (!publish.isActive()) {
      this.options.log(`publish for ${streamId} went away before it was accepted`);
      return;
    }
    let stream = this.streams.get(streamId);
    if (stream?.state === "ended") {
      this.options.onRefused();
      publish.refuse(`stream ${streamId} has ended`);
      return;
    }
    if (!stream) {
      const created = new LiveStream({ streamId, ...this.options.streamOptions }, this.options.makeDeps(streamId));
      created.onEnded(() => {
        const timer = setTimeout(() => {
          this.retentionTimers.delete(timer);
          if (this.streams.get(streamId) === created) this.streams.delete(streamId);
        }, this.options.endedRetentionMs);
        timer.unref();
        this.retentionTimers.add(timer);
      });
      this.streams.set(streamId, created);
      stream = created;
    }
    this.options.onAccepted();
    stream.addPublisher(publish);
  }

  async endAll(reason: string): Promise<void> {
    await Promise.all([...this.streams.values()].map((stream) => stream.end(reason)));
    for (const timer of this.retentionTimers) clearTimeout(timer);
  }
}
