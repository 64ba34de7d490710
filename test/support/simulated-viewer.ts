/**
 * A small HLS client that behaves like a live player without decoding:
 * master → one variant → start three target durations behind the live edge →
 * init, then every new segment in order, reloading the media playlist as the
 * spec says (after a target duration when it changed, half of one when not).
 * Used by the end-to-end tests and the benchmarks (which also read the
 * optional per-request hook and the segment timeline).
 */
import HLS from "hls-parser";
import type { MasterPlaylist, MediaPlaylist } from "hls-parser/types.js";

export interface ViewerStats {
  requests: number;
  errors: string[];
  segments: number;
  bytes: number;
  tiers: Record<string, number>;
  /** Program-date-time (ms) of the newest segment fetched. */
  lastProgramTime?: number;
  playlists: string[];
  ended: boolean;
  /** With `recordTimeline`: every segment fetched, in order. */
  timeline?: SegmentFetch[];
  /** With `recordTimeline`: EXTINF duration (s) of every msn seen in a playlist. */
  durations?: Record<number, number>;
}

export interface SegmentFetch {
  msn: number;
  /** EXTINF, seconds. */
  duration: number;
  /** Wall clock (ms) when the segment's body had fully arrived. */
  loadedAt: number;
  programDateTime?: number;
  discontinuity: boolean;
}

export interface RequestRecord {
  url: string;
  /** HTTP status, or 0 when the request failed without one. */
  status: number;
  tier: string | null;
  /** Time to response headers, ms. */
  ms: number;
}

export interface ViewerOptions {
  masterUrl: string;
  durationMs: number;
  /** Pick a variant; default: random. */
  variantIndex?: number;
  /** Keep playlist texts (for validation); default false. */
  keepPlaylists?: boolean;
  signal?: AbortSignal;
  /** Called for every request the viewer makes. */
  onRequest?: (record: RequestRecord) => void;
  /** Keep `timeline` and `durations` in the stats (for playhead and sync figures). */
  recordTimeline?: boolean;
  /** Segments behind the live edge to start at; default 3 (three target durations). */
  liveStartSegments?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runSimulatedViewer(options: ViewerOptions): Promise<ViewerStats> {
  const stats: ViewerStats = { requests: 0, errors: [], segments: 0, bytes: 0, tiers: {}, playlists: [], ended: false };
  if (options.recordTimeline) {
    stats.timeline = [];
    stats.durations = {};
  }
  const deadline = Date.now() + options.durationMs;
  const startSegments = options.liveStartSegments ?? 3;
  const get = async (url: string): Promise<Response | undefined> => {
    stats.requests++;
    const started = Date.now();
    try {
      const response = await fetch(url, { signal: options.signal });
      const tier = response.headers.get("x-cache-tier") ?? "none";
      stats.tiers[tier] = (stats.tiers[tier] ?? 0) + 1;
      options.onRequest?.({ url, status: response.status, tier: response.headers.get("x-cache-tier"), ms: Date.now() - started });
      if (!response.ok) {
        stats.errors.push(`${response.status} ${url}`);
        await response.body?.cancel();
        return undefined;
      }
      return response;
    } catch (error) {
      options.onRequest?.({ url, status: 0, tier: null, ms: Date.now() - started });
      stats.errors.push(`${(error as Error).message} ${url}`);
      return undefined;
    }
  };

  const masterResponse = await get(options.masterUrl);
  if (!masterResponse) return stats;
  const master = HLS.parse(await masterResponse.text()) as MasterPlaylist;
  const variants = master.variants;
  const variant = variants[options.variantIndex ?? Math.floor(Math.random() * variants.length)]!;
  const mediaUrl = new URL(variant.uri, options.masterUrl).href;

  let nextSequence: number | undefined;
  const initsFetched = new Set<string>();
  while (Date.now() < deadline && !options.signal?.aborted) {
    const response = await get(mediaUrl);
    if (!response) {
      await sleep(1_000);
      continue;
    }
    const text = await response.text();
    if (options.keepPlaylists) stats.playlists.push(text);
    const playlist = HLS.parse(text) as MediaPlaylist;
    const first = playlist.mediaSequenceBase ?? 0;
    const segments = playlist.segments;
    if (stats.durations) for (const segment of segments) stats.durations[segment.mediaSequenceNumber] = segment.duration;
    nextSequence ??= first + Math.max(0, segments.length - startSegments);
    if (nextSequence < first) nextSequence = first; // fell behind the window
    let fetchedAny = false;
    for (const segment of segments) {
      if (segment.mediaSequenceNumber < nextSequence) continue;
      if (Date.now() >= deadline) break;
      const mapUri = segment.map?.uri;
      if (mapUri && !initsFetched.has(mapUri)) {
        const init = await get(new URL(mapUri, mediaUrl).href);
        if (init) {
          stats.bytes += (await init.arrayBuffer()).byteLength;
          initsFetched.add(mapUri);
        }
      }
      const media = await get(new URL(segment.uri, mediaUrl).href);
      if (media) {
        stats.bytes += (await media.arrayBuffer()).byteLength;
        stats.segments++;
        if (segment.programDateTime) stats.lastProgramTime = segment.programDateTime.getTime();
        stats.timeline?.push({
          msn: segment.mediaSequenceNumber,
          duration: segment.duration,
          loadedAt: Date.now(),
          programDateTime: segment.programDateTime?.getTime(),
          discontinuity: segment.discontinuity ?? false,
        });
      }
      nextSequence = segment.mediaSequenceNumber + 1;
      fetchedAny = true;
    }
    if (playlist.endlist) {
      stats.ended = true;
      break;
    }
    const target = playlist.targetDuration * 1000;
    await sleep(fetchedAny ? target : target / 2);
  }
  return stats;
}
