/**
 * The packager for one live stream: FFmpeg's per-rendition fMP4 pipes go in
 * (one "run" per FFmpeg process), named CMAF HLS objects come out.
 *
 * A broadcaster reconnect means a new FFmpeg process whose timestamps restart;
 * each run therefore gets its own init (named by the run index) and its first
 * segments carry EXT-X-DISCONTINUITY, while media sequence numbers keep
 * counting so no segment name is ever reused.
 */
import { EventEmitter } from "node:events";
import { classifyObjectPath, type HlsObjectType } from "../../common/hls-paths.js";
import { BoxSplitter } from "./boxes.js";
import { PdtClock } from "./pdt-clock.js";
import { renderMasterPlaylist, type MasterPlaylistVariant } from "./playlist.js";
import { Rendition, packaged, type PackagedObject } from "./rendition.js";
import { Segmenter, type SegmenterEvent } from "./segmenter.js";

export type { PackagedObject, HlsObjectType };

export interface RenditionSpec {
  /** Directory name, [a-z0-9_]{1,16}. */
  name: string;
  width: number;
  height: number;
  /** bps */
  videoBitrate: number;
  /** bps */
  audioBitrate: number;
  frameRate: number;
}

export interface PackagerOptions {
  streamId: string;
  renditions: RenditionSpec[];
  /** Seconds; default 2. */
  targetDuration?: number;
  /** Segments listed in each media playlist; default 6. */
  windowSize?: number;
  /** Segments kept servable after leaving the playlist; default 4. */
  retainExtra?: number;
  /** [a-z0-9]{1,16}; default Date.now().toString(36). */
  epoch?: string;
  now?: () => number;
}

export interface RunInput {
  write(rendition: string, chunk: Buffer): void;
  /** Flushes open segments. */
  end(): void;
}

export interface SegmentEvent {
  rendition: string;
  msn: number;
  /** Seconds. */
  duration: number;
  /** ms since the Unix epoch. */
  programDateTime: number;
  bytes: Buffer;
  /** Object path relative to the stream, e.g. "720p/<epoch>-12.m4s". */
  path: string;
  discontinuity: boolean;
}

export interface InitEvent {
  rendition: string;
  /** Run index: the number in the init's name, initName(epoch, discontinuity). */
  discontinuity: number;
  bytes: Buffer;
  path: string;
}

export interface PackagerEvents {
  segment: [SegmentEvent];
  init: [InitEvent];
  error: [Error];
}

export interface PackagerStats {
  /** Segments produced since construction, all renditions. */
  segments: number;
  renditions: number;
  /** Segments currently held in memory (servable). */
  retainedSegments: number;
  retainedBytes: number;
}

const RENDITION_NAME = /^[a-z0-9_]{1,16}$/;
const EPOCH = /^[a-z0-9]{1,16}$/;

/** Peak over average for a capped-VBR x264 encode (maxrate ≈ 1.1 × bitrate). */
const PEAK_FACTOR = 1.1;
/** fMP4 container overhead on top of the elementary streams. */
const CONTAINER_OVERHEAD = 1.05;

interface RunRendition {
  splitter: BoxSplitter;
  segmenter: Segmenter;
  failed: boolean;
}

interface Run {
  index: number;
  renditions: Map<string, RunRendition>;
  finished: boolean;
}

export class StreamPackager extends EventEmitter<PackagerEvents> {
  readonly epoch: string;
  readonly streamId: string;
  private readonly specs: RenditionSpec[];
  private readonly renditions = new Map<string, Rendition>();
  private readonly targetDuration: number;
  private readonly now: () => number;
  private runCount = 0;
  private current: Run | undefined;
  private isEnded = false;
  private master: string | undefined;

  constructor(opts: PackagerOptions) {
    super();
    const targetDuration = opts.targetDuration ?? 2;
    const windowSize = opts.windowSize ?? 6;
    const retainExtra = opts.retainExtra ?? 4;
    const epoch = opts.epoch ?? Date.now().toString(36);
    if (!(targetDuration > 0 && Number.isFinite(targetDuration))) throw new RangeError("targetDuration must be > 0");
    if (!(Number.isInteger(windowSize) && windowSize >= 1)) throw new RangeError("windowSize must be an integer >= 1");
    if (!(Number.isInteger(retainExtra) && retainExtra >= 0)) throw new RangeError("retainExtra must be an integer >= 0");
    if (!EPOCH.test(epoch)) throw new RangeError(`epoch must match ${EPOCH}`);
    if (opts.renditions.length === 0) throw new RangeError("at least one rendition is required");

    this.streamId = opts.streamId;
    this.epoch = epoch;
    this.targetDuration = targetDuration;
    this.now = opts.now ?? Date.now;
    this.specs = opts.renditions.slice();
    for (const spec of this.specs) {
      if (!RENDITION_NAME.test(spec.name)) throw new RangeError(`rendition name must match ${RENDITION_NAME}`);
      if (this.renditions.has(spec.name)) throw new RangeError(`duplicate rendition ${spec.name}`);
      this.renditions.set(spec.name, new Rendition(spec.name, { epoch, targetDuration, windowSize, retainExtra }));
    }
  }

  get ended(): boolean {
    return this.isEnded;
  }

  /** Starts input from a new FFmpeg process; a run still open is flushed first (its process is being replaced). */
  beginRun(): RunInput {
    if (this.isEnded) throw new Error(`stream ${this.streamId} has ended`);
    if (this.current) this.finishRun(this.current);
    const run: Run = { index: this.runCount++, renditions: new Map(), finished: false };
    let floor = -Infinity;
    for (const r of this.renditions.values()) floor = Math.max(floor, r.pdtEnd ?? -Infinity);
    const clock = new PdtClock(floor);
    for (const name of this.renditions.keys()) {
      run.renditions.set(name, {
        splitter: new BoxSplitter(),
        segmenter: new Segmenter({ targetDuration: this.targetDuration, now: this.now, clock }),
        failed: false,
      });
    }
    this.current = run;
    return {
      write: (rendition, chunk) => this.write(run, rendition, chunk),
      end: () => this.finishRun(run),
    };
  }

  end(): void {
    if (this.isEnded) return;
    if (this.current) this.finishRun(this.current);
    this.isEnded = true;
  }

  getObject(relPath: string): PackagedObject | undefined {
    const type = classifyObjectPath(relPath);
    if (type === null) return undefined;
    if (type === "master") {
      const text = this.masterPlaylist();
      return text === undefined ? undefined : packaged("master", text);
    }
    const slash = relPath.indexOf("/");
    const rendition = this.renditions.get(relPath.slice(0, slash));
    return rendition?.getObject(relPath.slice(slash + 1), this.isEnded);
  }

  stats(): PackagerStats {
    let segments = 0;
    let retainedSegments = 0;
    let retainedBytes = 0;
    for (const r of this.renditions.values()) {
      segments += r.segmentCount;
      retainedSegments += r.retainedSegments;
      retainedBytes += r.retainedBytes;
    }
    return { segments, renditions: this.renditions.size, retainedSegments, retainedBytes };
  }

  private write(run: Run, name: string, chunk: Buffer): void {
    const state = run.renditions.get(name);
    if (!state) throw new Error(`stream ${this.streamId}: unknown rendition ${JSON.stringify(name)}`);
    // A replaced FFmpeg may still be draining its pipes; its bytes belong to nothing now.
    if (run.finished || state.failed) return;

    const events: SegmenterEvent[] = [];
    let failure: unknown;
    try {
      for (const box of state.splitter.push(chunk)) events.push(...state.segmenter.push(box));
    } catch (err) {
      failure = err;
    }
    // Listener exceptions must not be mistaken for a corrupt stream, so events are applied outside the try.
    for (const event of events) this.apply(run, name, event);
    if (failure !== undefined) this.fail(run, name, state, failure);
  }

  private fail(run: Run, name: string, state: RunRendition, err: unknown): void {
    state.failed = true;
    // Parts of the open segment may already be published under its msn; closing it keeps those names true.
    const segment = state.segmenter.flush();
    if (segment) this.apply(run, name, { type: "segment", segment });
    const message = err instanceof Error ? err.message : String(err);
    this.emit(
      "error",
      new Error(`stream ${this.streamId} rendition ${name} run ${run.index}: ${message}`, { cause: err }),
    );
  }

  private finishRun(run: Run): void {
    if (run.finished) return;
    run.finished = true;
    if (this.current === run) this.current = undefined;
    for (const [name, state] of run.renditions) {
      if (state.failed) continue;
      const segment = state.segmenter.flush();
      if (segment) this.apply(run, name, { type: "segment", segment });
    }
  }

  private apply(run: Run, name: string, event: SegmenterEvent): void {
    const rendition = this.renditions.get(name)!;
    switch (event.type) {
      case "init": {
        const stored = rendition.addInit(run.index, event.init);
        this.emit("init", {
          rendition: name,
          discontinuity: run.index,
          bytes: event.init.bytes,
          path: `${name}/${stored.name}`,
        });
        return;
      }
      case "chunk":
        rendition.addPart(event.chunk.bytes);
        return;
      case "segment": {
        const stored = rendition.addSegment(run.index, event.segment);
        this.emit("segment", {
          rendition: name,
          msn: stored.msn,
          duration: stored.duration,
          programDateTime: stored.programDateTime,
          bytes: stored.bytes,
          path: `${name}/${stored.name}`,
          discontinuity: stored.discontinuity,
        });
        return;
      }
    }
  }

  /** Rendered once, when every rendition has a segment, and then frozen so a long-cached copy is never stale. */
  private masterPlaylist(): string | undefined {
    if (this.master !== undefined) return this.master;
    const variants: MasterPlaylistVariant[] = [];
    for (const spec of this.specs) {
      const init = this.renditions.get(spec.name)!.firstSegmentInit;
      if (!init) return undefined;
      const video = init.init.info.tracks.find((t) => t.kind === "video");
      const audio = init.init.info.tracks.find((t) => t.kind === "audio");
      const videoBitrate = video ? spec.videoBitrate : 0;
      const audioBitrate = audio ? spec.audioBitrate : 0;
      variants.push({
        uri: `${spec.name}/index.m3u8`,
        bandwidth: Math.round((videoBitrate * PEAK_FACTOR + audioBitrate) * CONTAINER_OVERHEAD),
        averageBandwidth: videoBitrate + audioBitrate,
        codecs: [video?.codec, audio?.codec].filter((c): c is string => !!c),
        width: video?.width,
        height: video?.height,
        frameRate: video ? spec.frameRate : undefined,
      });
    }
    this.master = renderMasterPlaylist(variants);
    return this.master;
  }
}
