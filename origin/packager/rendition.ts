/**
 * What one rendition currently serves: its inits, the sliding window of
 * segments (plus a few already out of the playlist that clients may still
 * be fetching), the parts of the segment being built, and its media playlist.
 *
 * Names are immutable: an msn (within an epoch) is never given to different
 * bytes, which is what lets the edge cache segments forever.
 */
import { contentTypeFor, initName, segmentName, type HlsObjectType } from "../../common/hls-paths.js";
import { renderMediaPlaylist, roundedExtinf } from "./playlist.js";
import type { InitSegment, Segment, SegmentChunk } from "./segmenter.js";

export interface PackagedObject {
  body: Buffer | string;
  contentType: string;
  type: HlsObjectType;
}

export interface StoredInit {
  /** Run (FFmpeg process) index; also the init's discontinuity number in its name. */
  run: number;
  name: string;
  init: InitSegment;
}

export interface StoredSegment {
  msn: number;
  run: number;
  name: string;
  /** First segment of a run that follows another run's segment. */
  discontinuity: boolean;
  duration: number;
  programDateTime: number;
  bytes: Buffer;
  /** Future LL-HLS parts, as byte ranges of `bytes`. */
  chunks: SegmentChunk[];
}

export interface RenditionOptions {
  epoch: string;
  targetDuration: number;
  windowSize: number;
  retainExtra: number;
}

const INIT_FILE = /^init-([a-z0-9]{1,16})-(0|[1-9]\d{0,5})\.mp4$/;
const SEGMENT_FILE = /^([a-z0-9]{1,16})-(0|[1-9]\d{0,11})\.m4s$/;
const PART_FILE = /^([a-z0-9]{1,16})-(0|[1-9]\d{0,11})\.(0|[1-9]\d{0,3})\.m4s$/;

export function packaged(type: HlsObjectType, body: Buffer | string): PackagedObject {
  return { body, type, contentType: contentTypeFor(type) };
}

export class Rendition {
  private readonly inits = new Map<number, StoredInit>();
  private latestInit: StoredInit | undefined;
  /** Servable segments, oldest first, consecutive msns. */
  private segments: StoredSegment[] = [];
  private nextMsn = 0;
  private lastSegmentRun: number | undefined;
  /** Discontinuity tags on segments already evicted (they count towards EXT-X-DISCONTINUITY-SEQUENCE). */
  private evictedDiscontinuities = 0;
  /** Never lowered: RFC 8216 forbids changing EXT-X-TARGETDURATION, so it only moves when a segment would violate it. */
  private targetDuration: number;
  /** Chunks of the segment being built; they are parts of segment `nextMsn`. */
  private openParts: Buffer[] = [];
  private playlistCache: { ended: boolean; text: string } | undefined;
  private produced = 0;
  /** Init behind the first segment; the master playlist describes this one. */
  firstSegmentInit: StoredInit | undefined;

  constructor(
    readonly name: string,
    private readonly opts: RenditionOptions,
  ) {
    this.targetDuration = Math.ceil(opts.targetDuration);
  }

  get segmentCount(): number {
    return this.produced;
  }

  get retainedSegments(): number {
    return this.segments.length;
  }

  /** Wall clock (ms) at which the newest segment's media ends. */
  get pdtEnd(): number | undefined {
    const last = this.segments.at(-1);
    return last && last.programDateTime + last.duration * 1000;
  }

  get retainedBytes(): number {
    let n = 0;
    for (const s of this.segments) n += s.bytes.length;
    for (const i of this.inits.values()) n += i.init.bytes.length;
    for (const p of this.openParts) n += p.length;
    return n;
  }

  addInit(run: number, init: InitSegment): StoredInit {
    const stored: StoredInit = { run, name: initName(this.opts.epoch, run), init };
    this.inits.set(run, stored);
    this.latestInit = stored;
    this.evictUnreferencedInits();
    return stored;
  }

  /** A completed chunk of the open segment; returns its part index. */
  addPart(bytes: Buffer): number {
    this.openParts.push(bytes);
    return this.openParts.length - 1;
  }

  addSegment(run: number, segment: Segment): StoredSegment {
    const init = this.inits.get(run);
    if (!init) throw new Error(`rendition ${this.name}: segment of run ${run} without its init`);
    const stored: StoredSegment = {
      msn: this.nextMsn++,
      run,
      name: "",
      discontinuity: this.lastSegmentRun !== undefined && this.lastSegmentRun !== run,
      duration: segment.duration,
      programDateTime: segment.programDateTime,
      bytes: segment.bytes,
      chunks: segment.chunks,
    };
    stored.name = segmentName(this.opts.epoch, stored.msn);
    this.lastSegmentRun = run;
    this.firstSegmentInit ??= init;
    this.targetDuration = Math.max(this.targetDuration, roundedExtinf(segment.duration));
    this.segments.push(stored);
    this.openParts = [];
    this.produced++;

    const servable = this.opts.windowSize + this.opts.retainExtra;
    while (this.segments.length > servable) {
      if (this.segments.shift()!.discontinuity) this.evictedDiscontinuities++;
    }
    this.evictUnreferencedInits();
    this.playlistCache = undefined;
    return stored;
  }

  /** Media playlist text, or undefined before the first segment. */
  playlist(ended: boolean): string | undefined {
    if (this.segments.length === 0) return undefined;
    if (this.playlistCache?.ended === ended) return this.playlistCache.text;
    const firstInWindow = Math.max(0, this.segments.length - this.opts.windowSize);
    let discontinuitySequence = this.evictedDiscontinuities;
    for (let i = 0; i < firstInWindow; i++) if (this.segments[i].discontinuity) discontinuitySequence++;
    const window = this.segments.slice(firstInWindow);
    const text = renderMediaPlaylist({
      version: 7,
      targetDuration: this.targetDuration,
      mediaSequence: window[0].msn,
      discontinuitySequence,
      independentSegments: true,
      ended,
      segments: window.map((s) => ({
        uri: s.name,
        duration: s.duration,
        programDateTime: s.programDateTime,
        discontinuity: s.discontinuity,
        mapUri: this.inits.get(s.run)!.name,
      })),
    });
    this.playlistCache = { ended, text };
    return text;
  }

  /** `file` is the path below the rendition directory. */
  getObject(file: string, ended: boolean): PackagedObject | undefined {
    if (file === "index.m3u8") {
      const text = this.playlist(ended);
      return text === undefined ? undefined : packaged("media", text);
    }
    let m = INIT_FILE.exec(file);
    if (m) {
      if (m[1] !== this.opts.epoch) return undefined;
      const init = this.inits.get(Number(m[2]));
      return init && packaged("init", init.init.bytes);
    }
    m = SEGMENT_FILE.exec(file);
    if (m) {
      if (m[1] !== this.opts.epoch) return undefined;
      const seg = this.segment(Number(m[2]));
      return seg && packaged("segment", seg.bytes);
    }
    m = PART_FILE.exec(file);
    if (m) {
      if (m[1] !== this.opts.epoch) return undefined;
      const part = this.part(Number(m[2]), Number(m[3]));
      return part && packaged("part", part);
    }
    return undefined;
  }

  private segment(msn: number): StoredSegment | undefined {
    const first = this.segments[0];
    return first ? this.segments[msn - first.msn] : undefined;
  }

  private part(msn: number, index: number): Buffer | undefined {
    if (msn === this.nextMsn) return this.openParts[index];
    const seg = this.segment(msn);
    const chunk = seg?.chunks[index];
    return chunk && seg!.bytes.subarray(chunk.offset, chunk.offset + chunk.length);
  }

  private evictUnreferencedInits(): void {
    for (const run of this.inits.keys()) {
      if (run === this.latestInit?.run) continue;
      if (this.segments.some((s) => s.run === run)) continue;
      this.inits.delete(run);
    }
  }
}
