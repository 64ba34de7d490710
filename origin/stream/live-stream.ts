/**
 * One live stream on this origin: the middle of ingest → stream → packager →
 * HTTP. A stream lives through several publish "runs" when its broadcaster
 * drops and comes back within the grace period; each run is one FFmpeg
 * process and shows up in the playlists as a discontinuity, not a new stream.
 *
 *   starting ──first segment of a run──▶ live ──run ends──▶ reconnecting ──grace──▶ ended
 *      ▲  │                               ▲                      │
 *      │  └─ transcoder failed, no media ever: ended (start_failed)
 *      └──── publisher left cleanly before any media               └──new publish──▶ (next run)
 *
 * "live" is reported to the control plane only once media flows, so a
 * publish whose transcoder never produces anything is no "live" zombie.
 */
import { createHash } from "node:crypto";
import type { OriginStreamReport } from "../../common/origin-contract.js";
import { FlvIngestClock } from "../ingest/flv-clock.js";
import { deferredTranscoder } from "../transcode/deferred-transcoder.js";
import type { IncomingPublish } from "../ingest/rtmp-ingest.js";
import type { JournalState, StreamJournal } from "./stream-journal.js";
import { StreamPackager, type RenditionSpec } from "../packager/stream-packager.js";
import { ladderOutputs } from "../transcode/ladder-args.js";
import type { Transcoder, TranscoderOptions } from "../transcode/transcoder.js";

/** "starting": a publisher is (or was) connected and no media has flowed yet. */
export type LiveState = "starting" | "live" | "reconnecting" | "ended";
type ReportedState = Exclude<LiveState, "starting">;

/** Something that rides on a stream's packager (recording, thumbnails) and must finish before "ended". */
export interface StreamExtension {
  finish(): Promise<void>;
}

export interface LiveStreamDeps {
  /** Attached once, when the stream is created; `resumed` is what an earlier origin process left (crash recovery). */
  extensions?: (packager: StreamPackager, resumed: JournalState | undefined) => StreamExtension[];
  /** Where the stream's numbering is written down so a restarted origin continues it. */
  journal?: StreamJournal;
  /** FFmpeg's arguments for a source with or without audio (without: a silent track stands in). */
  buildArgs: (layout: { sourceHasAudio: boolean }) => string[];
  startTranscoder: (options: TranscoderOptions) => Transcoder;
  /** Tells the control plane; failures are logged, never fatal. */
  reportStatus: (state: ReportedState, reason?: "start_failed") => Promise<void>;
  onSegment: () => void;
  onTranscoderFailure: () => void;
  log: (message: string) => void;
}

export interface LiveStreamOptions {
  streamId: string;
  ladder: RenditionSpec[];
  targetDuration: number;
  /** Nominal LL-HLS part duration, seconds. */
  partTarget: number;
  windowSize: number;
  reconnectGraceMs: number;
}

export class LiveStream {
  readonly packager: StreamPackager;
  private stateValue: LiveState = "starting";
  private transcoder: Transcoder | undefined;
  private detach: (() => void) | undefined;
  private publisher: IncomingPublish | undefined;
  private publisherKeyHash: string | null = null;
  /** Wall clock of the newest segment (0: none yet). */
  private lastMediaAt = 0;
  private everHadMedia = false;
  private runHasMedia = false;
  private graceTimer: NodeJS.Timeout | undefined;
  private runs = 0;
  private ending = false;
  private readonly endListeners: Array<() => void> = [];
  private readonly extensions: StreamExtension[];

  constructor(
    private readonly options: LiveStreamOptions,
    private readonly deps: LiveStreamDeps,
  ) {
    // An origin restarted mid-stream continues the stream where the crashed process left it.
    const resumed = deps.journal?.load();
    if (resumed) deps.log(`continuing stream ${options.streamId} after an origin restart`);
    this.packager = new StreamPackager({
      streamId: options.streamId,
      renditions: options.ladder,
      targetDuration: options.targetDuration,
      partTarget: options.partTarget,
      windowSize: options.windowSize,
      resume: resumed?.packager,
    });
    this.packager.on("segment", () => {
      deps.journal?.savePackager(this.packager.snapshot());
      deps.onSegment();
      this.lastMediaAt = Date.now();
      if (!this.runHasMedia) {
        // media flows: only now is the stream live
        this.runHasMedia = true;
        this.everHadMedia = true;
        if (!this.ending) void this.setState("live");
      }
    });
    this.packager.on("error", (error: Error) => deps.log(`packager error: ${error.message}`));
    this.extensions = deps.extensions?.(this.packager, resumed) ?? [];
  }

  get state(): LiveState {
    return this.stateValue;
  }

  get streamId(): string {
    return this.options.streamId;
  }

  hasPublisher(): boolean {
    return this.transcoder !== undefined;
  }

  /** What the heartbeat tells the control plane about this stream; undefined once ended. */
  report(): OriginStreamReport | undefined {
    if (this.stateValue === "ended") return undefined;
    return {
      streamId: this.streamId,
      state: this.stateValue,
      lastMediaAt: this.lastMediaAt,
      publisherKeyHash: this.transcoder ? this.publisherKeyHash : null,
    };
  }

  /** The control plane says this publisher's key is no longer valid (rotated): drop it; it may come back with the new key. */
  dropPublisher(reason: string): void {
    if (!this.publisher || !this.detach) return;
    this.deps.log(`stream ${this.streamId}: dropping its publisher (${reason})`);
    this.publisher.refuse(reason);
  }

  onEnded(listener: () => void): void {
    this.endListeners.push(listener);
  }

  /** A broadcaster (re)connected: start a new run. */
  addPublisher(publish: IncomingPublish): void {
    if (this.stateValue === "ended") {
      publish.refuse("stream has ended");
      return;
    }
    if (this.transcoder) {
      publish.refuse("stream already has a live publisher");
      return;
    }
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    const resumed = this.runs > 0;
    this.runs++;
    this.runHasMedia = false;
    this.publisher = publish;
    this.publisherKeyHash = createHash("sha256").update(publish.streamKey).digest("hex");
    // PDT is anchored on when the broadcaster's frames reached us, not on when FFmpeg produced output.
    const ingestClock = new FlvIngestClock();
    const run = this.packager.beginRun({ ingestStart: () => ingestClock.startWallClock() });
    const onDone = ({ code, signal, stderrTail }: { code: number | null; signal: NodeJS.Signals | null; stderrTail: string }) => {
      run.end();
      if (this.transcoder === transcoder) this.transcoder = undefined;
      const clean = code === 0 || this.ending;
      if (!clean) {
        this.deps.onTranscoderFailure();
        this.deps.log(`ffmpeg for ${this.streamId} exited (code ${code}, signal ${signal}): ${stderrTail.trim().slice(-500)}`);
      }
      // FFmpeg gone while the broadcaster is still connected: drop the
      // connection so the broadcaster's client reconnects into a fresh run.
      if (this.detach) {
        this.detach();
        this.detach = undefined;
        publish.refuse("transcoder stopped");
      }
      if (this.publisher === publish) this.publisher = undefined;
      if (this.ending) return;
      // (a new run that failed before its first segment restarts the grace too: the publish cleared it)
      if (this.everHadMedia) {
        this.enterGrace();
        return;
      }
      // Nothing ever flowed. A transcoder that failed (no video, a codec it cannot read) is a failed
      // start: reported and ended. A publisher that left cleanly may come back: still starting.
      if (!clean) void this.end(`start failed: ${stderrTail.trim().split("\n").at(-1) ?? "transcoder exited"}`, "start_failed");
    };
    // FFmpeg starts once the source's tracks are known: every run has the same layout (video + audio).
    const transcoder = deferredTranscoder({
      audioPresent: () => ingestClock.audioPresent(),
      fallback: () => ingestClock.hasSeenAudio,
      maxWaitMs: 2_000,
      onNeverStarted: () => onDone({ code: 0, signal: null, stderrTail: "" }),
      start: (sourceHasAudio) => {
        if (!sourceHasAudio) this.deps.log(`stream ${this.streamId}: the source has no audio, a silent track stands in`);
        return this.deps.startTranscoder({
          args: this.deps.buildArgs({ sourceHasAudio }),
          renditions: ladderOutputs(this.options.ladder),
          onOutput: (rendition, chunk) => run.write(rendition, chunk),
          onDone,
        });
      },
    });
    this.transcoder = transcoder;
    this.detach = publish.attach((flv) => {
      ingestClock.observe(flv, Date.now());
      transcoder.write(flv);
    });
    publish.onEnd(() => {
      this.detach?.();
      this.detach = undefined;
      transcoder.endInput();
    });
    this.deps.log(`stream ${this.streamId} publisher ${resumed ? "back" : "connected"} from ${publish.clientAddress} (run ${this.runs})`);
  }

  /** Ends the stream now: EXT-X-ENDLIST, no more publishes. */
  async end(reason: string, reportReason?: "start_failed"): Promise<void> {
    if (this.stateValue === "ended" || this.ending) return;
    this.ending = true;
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    const transcoder = this.transcoder;
    if (transcoder) {
      this.detach?.();
      this.detach = undefined;
      // Let FFmpeg flush the last fragment into the packager, but not forever.
      transcoder.endInput();
      const flushed = await Promise.race([
        transcoder.exited.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 2_000)),
      ]);
      if (!flushed) await transcoder.kill();
    }
    this.packager.end();
    // The recording's playlist is uploaded before anyone is told the stream ended.
    await Promise.all(this.extensions.map((extension) => extension.finish().catch(() => {})));
    this.deps.log(`stream ${this.streamId} ended: ${reason}`);
    this.deps.journal?.remove();
    await this.setState("ended", reportReason);
    this.endListeners.splice(0).forEach((listener) => listener());
  }

  private enterGrace(): void {
    clearTimeout(this.graceTimer);
    void this.setState("reconnecting");
    this.graceTimer = setTimeout(() => {
      void this.end(`broadcaster did not return within ${this.options.reconnectGraceMs} ms`);
    }, this.options.reconnectGraceMs);
  }

  /** Reported to the control plane on every change ("starting" only reaches it in heartbeats). */
  private async setState(state: ReportedState, reason?: "start_failed"): Promise<void> {
    if (this.stateValue === state) return;
    this.stateValue = state;
    await this.deps.reportStatus(state, reason);
  }
}
