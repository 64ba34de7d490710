/**
 * The packager for one live stream: FFmpeg's pipes go in (one "run" per
 * FFmpeg process), named CMAF HLS objects come out.
 *
 * Strict CMAF: every input and every output file carries one track. Each
 * video rendition gets its own pipe (video only); the stream's one audio
 * rendition (`audio/`) comes from a pipe of its own and is cut at the
 * leading video rendition's part and segment boundaries (audio-segmenter.ts),
 * so every rendition has the same media sequence numbers and the master
 * playlist lets every video variant share it (EXT-X-MEDIA TYPE=AUDIO).
 *
 * A broadcaster reconnect means a new FFmpeg process whose timestamps restart;
 * each run therefore gets its own init (named by the run index) and its first
 * segments carry EXT-X-DISCONTINUITY, while media sequence numbers keep
 * counting so no segment name is ever reused.
 */
import { EventEmitter } from "node:events";
import { classifyObjectPath } from "../../common/hls-paths.js";
import { AudioSegmenter } from "./audio-segmenter.js";
import { decidePart, decidePlaylist, type BlockingQuery, type Decision } from "./blocking.js";
import { BoxSplitter } from "./box-splitter.js";
import { HeldRequests } from "./held-requests.js";
import { buildMaster } from "./master.js";
import {
  AUDIO_RENDITION,
  type PackagerEvents,
  type PackagerOptions,
  type PackagerResume,
  type PackagerStats,
  type RenditionSpec,
  type RunInput,
  type RunOptions,
  type ServeResult,
} from "./packager-types.js";
import { PdtClock } from "./pdt-clock.js";
import { renderMediaPlaylist } from "./playlist.js";
import { Rendition, ceilMs, packaged, type PackagedObject } from "./rendition.js";
import { Segmenter, type Segment, type SegmenterEvent } from "./segmenter.js";

export type { PackagedObject, BlockingQuery };
export * from "./packager-types.js";

const RENDITION_NAME = /^[a-z0-9_]{1,16}$/;
const EPOCH = /^[a-z0-9]{1,16}$/;

interface RunRendition {
  splitter: BoxSplitter;
  segmenter: Segmenter;
  failed: boolean;
}

interface RunAudio {
  splitter: BoxSplitter;
  segmenter: AudioSegmenter;
  failed: boolean;
}

function notFound(): ServeResult {
  return { kind: "error", status: 404, code: "object_not_found", message: "no such object (yet)" };
}

interface Run {
  index: number;
  renditions: Map<string, RunRendition>;
  audio: RunAudio;
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
  /** Rendered media playlists, dropped whenever any rendition moves (rendition reports name the others). */
  private playlists = new Map<string, string>();
  private readonly held: HeldRequests;
  /** The rendition whose part boundaries the audio follows. */
  private readonly leader: string;

  constructor(opts: PackagerOptions) {
    super();
    const targetDuration = opts.targetDuration ?? 2;
    const windowSize = opts.windowSize ?? 6;
    const partTarget = opts.partTarget ?? 1 / 3;
    const retentionGraceMs = opts.retentionGraceMs ?? 4_000;
    const epoch = opts.epoch ?? Date.now().toString(36);
    if (!(targetDuration > 0 && Number.isFinite(targetDuration))) throw new RangeError("targetDuration must be > 0");
    if (!(Number.isInteger(windowSize) && windowSize >= 1)) throw new RangeError("windowSize must be an integer >= 1");
    if (!(partTarget > 0 && partTarget <= targetDuration)) throw new RangeError("partTarget must be in (0, targetDuration]");
    if (!(retentionGraceMs >= 0)) throw new RangeError("retentionGraceMs must be >= 0");
    if (!EPOCH.test(epoch)) throw new RangeError(`epoch must match ${EPOCH}`);
    if (opts.renditions.length === 0) throw new RangeError("at least one rendition is required");

    this.streamId = opts.streamId;
    this.epoch = epoch;
    this.targetDuration = targetDuration;
    this.now = opts.now ?? Date.now;
    this.held = new HeldRequests(opts.maxHeldRequests ?? 2_000, targetDuration);
    this.specs = opts.renditions.slice();
    this.leader = this.specs[0]!.name;
    const names = [...this.specs.map((spec) => spec.name), AUDIO_RENDITION];
    for (const spec of this.specs) {
      if (!RENDITION_NAME.test(spec.name)) throw new RangeError(`rendition name must match ${RENDITION_NAME}`);
      if (spec.name === AUDIO_RENDITION) throw new RangeError(`"${AUDIO_RENDITION}" is the audio rendition's name`);
    }
    for (const name of names) {
      if (this.renditions.has(name)) throw new RangeError(`duplicate rendition ${name}`);
      this.renditions.set(
        name,
        new Rendition(name, {
          epoch,
          targetDuration,
          windowSize,
          partTarget,
          retentionGraceMs,
          // a removed segment is kept ~ the RFC window (playlist + its own duration + grace); the cap only bounds memory
          maxRemovedSegments: windowSize * 3,
          now: this.now,
          resume: opts.resume?.[name],
          audio: name === AUDIO_RENDITION,
        }),
      );
    }
  }

  get ended(): boolean {
    return this.isEnded;
  }

  /** Starts input from a new FFmpeg process; a run still open is flushed first (its process is being replaced). */
  beginRun(options: RunOptions = {}): RunInput {
    if (this.isEnded) throw new Error(`stream ${this.streamId} has ended`);
    if (this.current) this.finishRun(this.current);
    const index = this.runCount++;
    let floor = -Infinity;
    for (const r of this.renditions.values()) floor = Math.max(floor, r.pdtEnd ?? -Infinity);
    // The run continues the stream's decode timeline where the previous one ended (timeline.ts).
    let decodeTimeOffset = 0;
    for (const r of this.renditions.values()) decodeTimeOffset = Math.max(decodeTimeOffset, r.dtsEnd);
    decodeTimeOffset = Math.ceil(decodeTimeOffset * 1000) / 1000;
    const clock = new PdtClock({ floorMs: floor, ingestStart: options.ingestStart, runStartDts: decodeTimeOffset });
    const run: Run = {
      index,
      renditions: new Map(),
      audio: { splitter: new BoxSplitter(), segmenter: new AudioSegmenter({ now: this.now, clock, decodeTimeOffset }), failed: false },
      finished: false,
    };
    for (const spec of this.specs) {
      run.renditions.set(spec.name, {
        splitter: new BoxSplitter(),
        segmenter: new Segmenter({ targetDuration: this.targetDuration, now: this.now, clock, decodeTimeOffset }),
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
    this.changed();
  }

  /** The object at `relPath` as it is now (a plain playlist request); undefined when there is none. */
  getObject(relPath: string): PackagedObject | undefined {
    const type = classifyObjectPath(relPath);
    if (type === null) return undefined;
    if (type === "master") {
      const text = this.masterPlaylist();
      return text === undefined ? undefined : packaged("master", text);
    }
    const slash = relPath.indexOf("/");
    const rendition = this.renditions.get(relPath.slice(0, slash));
    if (!rendition) return undefined;
    if (type === "media") {
      const text = this.mediaPlaylist(rendition);
      return text === undefined ? undefined : packaged("media", text);
    }
    return rendition.getObject(relPath.slice(slash + 1));
  }

  /**
   * Answers a request the LL-HLS way: a media playlist with `_HLS_msn` /
   * `_HLS_part` waits until it contains that part (at most three target
   * durations, then 503), and the hinted next part waits until it is
   * complete. `signal` drops a held request whose client went away.
   */
  serve(relPath: string, query: BlockingQuery = {}, signal?: AbortSignal): Promise<ServeResult> {
    const type = classifyObjectPath(relPath);
    const slash = relPath.indexOf("/");
    const rendition = type === null || type === "master" ? undefined : this.renditions.get(relPath.slice(0, slash));
    let decide: () => Decision;
    if (type === "media" && rendition) {
      if (!rendition.hasSegments) return Promise.resolve(notFound());
      decide = () =>
        decidePlaylist(rendition.position(), query, this.isEnded, {
          partTarget: rendition.partTarget,
          targetDuration: this.targetDuration,
        });
    } else if (type === "part" && rendition && rendition.partNumberOf(relPath.slice(slash + 1)) !== undefined) {
      const number = rendition.partNumberOf(relPath.slice(slash + 1))!;
      decide = () => decidePart(rendition.position(), number, rendition.getObject(relPath.slice(slash + 1)) !== undefined, this.isEnded);
    } else {
      const object = this.getObject(relPath);
      return Promise.resolve(object ? { kind: "object", object } : notFound());
    }
    const answer = (decision: Decision): ServeResult | undefined => {
      if (decision.kind === "reject") return { kind: "error", status: decision.status, code: decision.code, message: decision.message };
      const object = this.getObject(relPath);
      return object ? { kind: "object", object } : notFound();
    };
    return this.held.serve(decide, answer, signal);
  }

  /** Where every rendition stands, for a later process to continue from (see PackagerResume). */
  snapshot(): PackagerResume {
    const out: PackagerResume = {};
    for (const [name, rendition] of this.renditions) out[name] = rendition.snapshot();
    return out;
  }

  /** Blocking requests currently held (for metrics and tests). */
  get heldRequests(): number {
    return this.held.size;
  }

  /** PART-TARGET (s) every rendition declares: the nominal part, or the longest part seen. */
  get partTarget(): number {
    let target = 0;
    for (const r of this.renditions.values()) target = Math.max(target, r.partTarget);
    return target;
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
    const state = name === AUDIO_RENDITION ? run.audio : run.renditions.get(name);
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

  private fail(run: Run, name: string, state: RunRendition | RunAudio, err: unknown): void {
    state.failed = true;
    // Parts of the open segment may already be published under its msn; closing it keeps those names true.
    this.flushInput(run, name);
    const message = err instanceof Error ? err.message : String(err);
    this.emit("error", new Error(`stream ${this.streamId} rendition ${name} run ${run.index}: ${message}`, { cause: err }));
  }

  private finishRun(run: Run): void {
    if (run.finished) return;
    run.finished = true;
    if (this.current === run) this.current = undefined;
    for (const [name, state] of run.renditions) if (!state.failed) this.flushInput(run, name);
    // after the video: the audio's last parts are cut at the leader's last boundary
    if (!run.audio.failed) this.flushInput(run, AUDIO_RENDITION);
  }

  private flushInput(run: Run, name: string): void {
    let segment: Segment | undefined;
    if (name === AUDIO_RENDITION) {
      const flushed = run.audio.segmenter.flush();
      for (const event of flushed.events) this.apply(run, name, event);
      segment = flushed.segment;
    } else {
      segment = run.renditions.get(name)?.segmenter.flush();
    }
    if (segment) this.apply(run, name, { type: "segment", segment });
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
      case "part":
        rendition.addPart(run.index, event.part, event.partIndex, event.programDateTime);
        this.changed();
        if (name === this.leader && !run.audio.failed) {
          const { startDts, duration } = event.part;
          const audioEvents = this.followLeader(run, () =>
            run.audio.segmenter.followVideoPart(startDts, startDts + duration, event.partIndex === 0),
          );
          for (const audioEvent of audioEvents) this.apply(run, AUDIO_RENDITION, audioEvent);
        }
        return;
      case "segment": {
        const stored = rendition.addSegment(run.index, event.segment);
        this.changed();
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

  private followLeader(run: Run, cut: () => SegmenterEvent[]): SegmenterEvent[] {
    try {
      return cut();
    } catch (err) {
      this.fail(run, AUDIO_RENDITION, run.audio, err);
      return [];
    }
  }

  /** Something moved: drop rendered playlists and let held requests look again. */
  private changed(): void {
    this.playlists.clear();
    this.held.recheck();
  }

  /**
   * The LL-HLS media playlist: every part target and hold-back is the same in
   * every rendition (the largest), so a player switching renditions keeps its
   * latency target; rendition reports give the others' live edges.
   */
  private mediaPlaylist(rendition: Rendition): string | undefined {
    const cached = this.playlists.get(rendition.name);
    if (cached !== undefined) return cached;
    const input = rendition.playlistInput(this.isEnded);
    if (input === undefined) return undefined;
    const partTarget = this.partTarget;
    const { open, ...base } = input;
    const text = renderMediaPlaylist({
      ...base,
      lowLatency: {
        partTarget,
        partHoldBack: ceilMs(3 * partTarget),
        holdBack: 3 * this.targetDuration,
        open,
        preloadHint: this.isEnded ? undefined : rendition.hintedPartName(),
        renditionReports: [...this.renditions.values()]
          .filter((other) => other !== rendition && other.hasSegments)
          .map((other) => {
            const pos = other.position();
            const inOpen = pos.openParts > 0;
            return {
              uri: `../${other.name}/index.m3u8`,
              lastMsn: inOpen ? pos.openMsn : pos.lastMsn,
              lastPart: inOpen ? pos.openParts - 1 : Math.max(0, pos.lastSegmentParts - 1),
            };
          }),
      },
    });
    this.playlists.set(rendition.name, text);
    return text;
  }

  /** A master over some of the video renditions (the recording's) and the audio; undefined until they all have a segment. */
  masterFor(renditions: readonly string[]): string | undefined {
    return buildMaster(
      this.specs.filter((spec) => renditions.includes(spec.name)),
      this.renditions,
    );
  }

  /** Rendered once, when every rendition has a segment, and then frozen so a long-cached copy is never stale. */
  private masterPlaylist(): string | undefined {
    this.master ??= buildMaster(this.specs, this.renditions);
    return this.master;
  }
}
