/**
 * The StreamPackager's public shapes: what goes in (renditions, runs), what
 * comes out (events, objects, errors), and where a stream can resume.
 */
import type { PackagedObject, RenditionResume } from "./rendition.js";

/** Directory (and input) name of the stream's one audio rendition. */
export const AUDIO_RENDITION = "audio";
/** GROUP-ID of the audio rendition in the master playlist. */
export const AUDIO_GROUP = "audio";

/** Per rendition (video ones and `audio`): where an earlier origin process stopped (crash recovery). */
export type PackagerResume = Record<string, RenditionResume>;

/** What a request gets: an object, or an HTTP error to send. */
export type ServeResult = { kind: "object"; object: PackagedObject } | { kind: "error"; status: number; code: string; message: string };

/** One video rendition of the ladder (the audio rendition is the stream's, see AUDIO_RENDITION). */
export interface RenditionSpec {
  /** Directory name, [a-z0-9_]{1,16}, not "audio". */
  name: string;
  width: number;
  height: number;
  /** bps */
  videoBitrate: number;
  /** bps of the stream's audio rendition when this is the top rendition (the largest is used). */
  audioBitrate: number;
  frameRate: number;
}

export interface PackagerOptions {
  streamId: string;
  /** Video renditions; the first leads (the audio is cut at its part boundaries). */
  renditions: RenditionSpec[];
  /** Seconds; default 2. */
  targetDuration?: number;
  /** Segments listed in each media playlist; default 6. */
  windowSize?: number;
  /** Nominal LL-HLS part duration in seconds (FFmpeg's fragment duration); default 1/3. */
  partTarget?: number;
  /** Extra ms a segment stays downloadable after the RFC's minimum; default 4000. */
  retentionGraceMs?: number;
  /** Blocking requests held at once per stream before 503; default 2000. */
  maxHeldRequests?: number;
  /** Continue numbering where an earlier origin process stopped (a new epoch keeps names unique). */
  resume?: PackagerResume;
  /** [a-z0-9]{1,16}; default Date.now().toString(36). */
  epoch?: string;
  now?: () => number;
}

export interface RunOptions {
  /** Wall clock (ms) of the run's decode time 0 as seen at ingest (PDT anchor), once known. */
  ingestStart?: () => number | undefined;
}

export interface RunInput {
  /** Bytes of one input: a video rendition's name, or AUDIO_RENDITION. */
  write(input: string, chunk: Buffer): void;
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
