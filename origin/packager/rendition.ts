/**
 * What one rendition currently serves: its inits, the sliding window of
 * segments (plus the ones that left the playlist but must stay
 * downloadable), the parts of the segment being built, and the state its
 * media playlist is rendered from.
 *
 * Names are immutable: an msn or a part number (within an epoch) is never
 * given to different bytes, which is what lets the edge cache them forever.
 */
import { initName, partName, segmentName } from "../../common/hls-paths.js";
import type { MediaPlaylistInput, OpenSegment, PlaylistPart } from "./playlist.js";
import { roundedExtinf } from "./playlist.js";
import {
  ceilMs,
  packaged,
  type LivePosition,
  type PackagedObject,
  type RenditionOptions,
  type RenditionResume,
  type StoredInit,
  type StoredSegment,
} from "./rendition-types.js";
import type { InitSegment, Part, Segment } from "./segment-builder.js";

export * from "./rendition-types.js";

interface OpenPart {
  number: number;
  duration: number;
  independent: boolean;
  bytes: Buffer;
}

interface OpenState {
  msn: number;
  run: number;
  programDateTime: number;
  parts: OpenPart[];
}

const INIT_FILE = /^init-([a-z0-9]{1,16})-(0|[1-9]\d{0,5})\.mp4$/;
const SEGMENT_FILE = /^([a-z0-9]{1,16})-(0|[1-9]\d{0,11})\.m4s$/;
const PART_FILE = /^([a-z0-9]{1,16})-p(0|[1-9]\d{0,11})\.m4s$/;
/** Parts are listed for the segments of the last three target durations (RFC 8216bis §4.4.3.7). */
const PART_LISTING_TARGETS = 3;

export class Rendition {
  private readonly inits = new Map<number, StoredInit>();
  private latestInit: StoredInit | undefined;
  /** Servable segments, oldest first, consecutive msns; the last `windowSize` are in the playlist. */
  private segments: StoredSegment[] = [];
  private nextMsn = 0;
  private nextPartNumber = 0;
  private lastSegmentRun: number | undefined;
  /** Discontinuity tags on segments that left the playlist (they count towards EXT-X-DISCONTINUITY-SEQUENCE). */
  private removedDiscontinuities = 0;
  /** Never lowered: RFC 8216 forbids changing EXT-X-TARGETDURATION, so it only moves when a segment would violate it. */
  private targetDuration: number;
  /** Never lowered either: every part must fit in PART-TARGET. */
  private partTargetValue: number;
  /** Longest playlist (s of media) served so far: how long a removed segment must stay. */
  private longestPlaylist = 0;
  private open: OpenState | undefined;
  private produced = 0;
  /** Init behind the first segment; the master playlist describes this one. */
  firstSegmentInit: StoredInit | undefined;

  constructor(
    readonly name: string,
    private readonly opts: RenditionOptions,
  ) {
    this.targetDuration = Math.ceil(opts.targetDuration);
    this.partTargetValue = ceilMs(opts.partTarget);
    if (opts.resume) {
      this.nextMsn = opts.resume.nextMsn;
      this.nextPartNumber = opts.resume.nextPart;
      this.removedDiscontinuities = opts.resume.discontinuities;
    }
  }

  /** What a later origin process needs to continue this rendition (see RenditionResume). */
  snapshot(): RenditionResume {
    let discontinuities = this.removedDiscontinuities;
    for (const s of this.segments) if (s.removedAt === undefined && s.discontinuity) discontinuities++;
    // the open segment, once closed, carries one more if it starts a new run
    return {
      nextMsn: this.nextMsn,
      nextPart: this.nextPartNumber,
      discontinuities,
      pdtEnd: this.pdtEnd ?? this.opts.resume?.pdtEnd ?? 0,
      dtsEnd: this.dtsEnd,
    };
  }

  /** The first segment of a run that follows another run's segment, or an earlier process's. */
  private startsDiscontinuity(run: number): boolean {
    return this.lastSegmentRun === undefined ? this.opts.resume !== undefined : this.lastSegmentRun !== run;
  }

  get segmentCount(): number {
    return this.produced;
  }

  get retainedSegments(): number {
    return this.segments.length;
  }

  get partTarget(): number {
    return this.partTargetValue;
  }

  get hasSegments(): boolean {
    return this.segments.length > 0;
  }

  /** Wall clock (ms) at which the newest segment's media ends. */
  get pdtEnd(): number | undefined {
    const last = this.segments.at(-1);
    return last ? last.programDateTime + last.duration * 1000 : this.opts.resume?.pdtEnd;
  }

  /** Decode time (s) at which the newest segment ends; where the next run starts. */
  get dtsEnd(): number {
    const last = this.segments.at(-1);
    return last ? last.startDts + last.duration : (this.opts.resume?.dtsEnd ?? 0);
  }

  get retainedBytes(): number {
    let n = 0;
    for (const s of this.segments) n += s.bytes.length;
    for (const i of this.inits.values()) n += i.init.bytes.length;
    for (const p of this.open?.parts ?? []) n += p.bytes.length;
    return n;
  }

  position(): LivePosition {
    const last = this.segments.at(-1);
    return {
      lastMsn: last?.msn ?? -1,
      openMsn: this.nextMsn,
      openParts: this.open?.parts.length ?? 0,
      lastSegmentParts: last?.parts.length ?? 0,
      nextPart: this.nextPartNumber,
    };
  }

  addInit(run: number, init: InitSegment): StoredInit {
    const stored: StoredInit = { run, name: initName(this.opts.epoch, run), init };
    this.inits.set(run, stored);
    this.latestInit = stored;
    this.evictUnreferencedInits();
    return stored;
  }

  /** A completed part of the open segment (`index` 0 opens a new segment); returns its running number. */
  addPart(run: number, part: Part, index: number, programDateTime: number): number {
    if (index === 0 || this.open === undefined || this.open.run !== run) {
      this.open = { msn: this.nextMsn, run, programDateTime, parts: [] };
    }
    const number = this.nextPartNumber++;
    this.open.parts.push({ number, duration: part.duration, independent: part.independent, bytes: part.bytes });
    this.partTargetValue = Math.max(this.partTargetValue, ceilMs(part.duration));
    return number;
  }

  addSegment(run: number, segment: Segment): StoredSegment {
    const init = this.inits.get(run);
    if (!init) throw new Error(`rendition ${this.name}: segment of run ${run} without its init`);
    const open = this.open;
    this.open = undefined;
    // The segment is made of exactly the parts published as open; should they
    // disagree (never seen), give its parts fresh numbers rather than reuse names.
    const matches = open !== undefined && open.run === run && open.msn === this.nextMsn && open.parts.length === segment.parts.length;
    let firstPart: number;
    if (matches) {
      firstPart = open.parts[0]!.number;
    } else {
      firstPart = this.nextPartNumber;
      this.nextPartNumber += segment.parts.length;
    }
    const stored: StoredSegment = {
      msn: this.nextMsn++,
      run,
      name: "",
      discontinuity: this.startsDiscontinuity(run),
      duration: segment.duration,
      startDts: segment.startDts,
      programDateTime: segment.programDateTime,
      bytes: segment.bytes,
      parts: segment.parts,
      firstPart,
    };
    stored.name = segmentName(this.opts.epoch, stored.msn);
    this.lastSegmentRun = run;
    this.firstSegmentInit ??= init;
    this.targetDuration = Math.max(this.targetDuration, roundedExtinf(segment.duration));
    for (const p of segment.parts) this.partTargetValue = Math.max(this.partTargetValue, ceilMs(p.duration));
    this.segments.push(stored);
    this.produced++;

    const now = this.opts.now();
    const windowStart = Math.max(0, this.segments.length - this.opts.windowSize);
    let listed = 0;
    for (let i = windowStart; i < this.segments.length; i++) listed += this.segments[i]!.duration;
    this.longestPlaylist = Math.max(this.longestPlaylist, listed);
    for (let i = 0; i < windowStart; i++) {
      const s = this.segments[i]!;
      if (s.removedAt === undefined) {
        s.removedAt = now;
        if (s.discontinuity) this.removedDiscontinuities++;
      }
    }
    this.evictExpired(now);
    return stored;
  }

  /** Inputs of the media playlist, or undefined before the first segment. */
  playlistInput(ended: boolean): (Omit<MediaPlaylistInput, "lowLatency"> & { open: OpenSegment | undefined }) | undefined {
    if (this.segments.length === 0) return undefined;
    this.evictExpired(this.opts.now());
    const window = this.segments.slice(Math.max(0, this.segments.length - this.opts.windowSize));
    // Parts are listed for the segments that start within the last three target durations.
    let fromEnd = (this.open?.parts ?? []).reduce((sum, p) => sum + p.duration, 0);
    const listParts = new Set<number>();
    for (let i = window.length - 1; i >= 0; i--) {
      const s = window[i]!;
      fromEnd += s.duration;
      // (and on at most three segments counting the open or hinted one, which is how validators such as hls-parser read the rule)
      if (fromEnd > PART_LISTING_TARGETS * this.targetDuration + 1e-6) break;
      if (listParts.size + (ended ? 0 : 1) >= PART_LISTING_TARGETS) break;
      listParts.add(s.msn);
    }
    const openParts = this.open?.parts ?? [];
    return {
      version: 7,
      targetDuration: this.targetDuration,
      mediaSequence: window[0]!.msn,
      discontinuitySequence: this.removedDiscontinuities,
      independentSegments: true,
      ended,
      segments: window.map((s) => ({
        uri: s.name,
        duration: s.duration,
        programDateTime: s.programDateTime,
        discontinuity: s.discontinuity,
        mapUri: this.inits.get(s.run)!.name,
        parts: listParts.has(s.msn) ? this.listedParts(s) : undefined,
      })),
      open:
        this.open && openParts.length > 0
          ? {
              programDateTime: this.open.programDateTime,
              discontinuity: this.startsDiscontinuity(this.open.run),
              mapUri: this.inits.get(this.open.run)!.name,
              parts: openParts.map((p) => ({ uri: partName(this.opts.epoch, p.number), duration: p.duration, independent: p.independent })),
            }
          : undefined,
    };
  }

  /** Name of the part the next EXT-X-PRELOAD-HINT announces. */
  hintedPartName(): string {
    return partName(this.opts.epoch, this.nextPartNumber);
  }

  /** `file` is the path below the rendition directory; playlists are not served from here. */
  getObject(file: string): PackagedObject | undefined {
    this.evictExpired(this.opts.now());
    let m = INIT_FILE.exec(file);
    if (m) {
      if (m[1] !== this.opts.epoch) return undefined;
      const init = this.inits.get(Number(m[2]));
      return init && packaged("init", init.init.bytes, this.opts.audio);
    }
    m = SEGMENT_FILE.exec(file);
    if (m) {
      if (m[1] !== this.opts.epoch) return undefined;
      const seg = this.segment(Number(m[2]));
      return seg && packaged("segment", seg.bytes, this.opts.audio);
    }
    m = PART_FILE.exec(file);
    if (m) {
      if (m[1] !== this.opts.epoch) return undefined;
      const part = this.part(Number(m[2]));
      return part && packaged("part", part, this.opts.audio);
    }
    return undefined;
  }

  /** The running part number a part file names, or undefined when `file` is not one of this epoch's parts. */
  partNumberOf(file: string): number | undefined {
    const m = PART_FILE.exec(file);
    return m && m[1] === this.opts.epoch ? Number(m[2]) : undefined;
  }

  private listedParts(s: StoredSegment): PlaylistPart[] {
    return s.parts.map((p, i) => ({ uri: partName(this.opts.epoch, s.firstPart + i), duration: p.duration, independent: p.independent }));
  }

  private segment(msn: number): StoredSegment | undefined {
    const first = this.segments[0];
    return first ? this.segments[msn - first.msn] : undefined;
  }

  private part(number: number): Buffer | undefined {
    const open = this.open?.parts;
    if (open && open.length > 0 && number >= open[0]!.number) return open[number - open[0]!.number]?.bytes;
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const s = this.segments[i]!;
      if (number >= s.firstPart) {
        const p = s.parts[number - s.firstPart];
        return p && s.bytes.subarray(p.offset, p.offset + p.length);
      }
    }
    return undefined;
  }

  /**
   * RFC 8216bis §6.2.2: a segment removed from the playlist stays available
   * for its duration plus the longest playlist that contained it (we add a
   * grace for the caches in front of us), bounded in count for memory.
   */
  private evictExpired(now: number): void {
    const keepMs = this.longestPlaylist * 1000 + this.opts.retentionGraceMs;
    let removed = this.segments.filter((s) => s.removedAt !== undefined).length;
    let evicted = false;
    while (this.segments.length > 0) {
      const s = this.segments[0]!;
      if (s.removedAt === undefined) break;
      const expired = now - s.removedAt > s.duration * 1000 + keepMs;
      if (!expired && removed <= this.opts.maxRemovedSegments) break;
      this.segments.shift();
      removed--;
      evicted = true;
    }
    if (evicted) this.evictUnreferencedInits();
  }

  private evictUnreferencedInits(): void {
    for (const run of this.inits.keys()) {
      if (run === this.latestInit?.run || run === this.open?.run) continue;
      if (this.segments.some((s) => s.run === run)) continue;
      this.inits.delete(run);
    }
  }
}
