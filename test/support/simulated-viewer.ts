/**
 * A small HLS client that behaves like a live player without decoding. Used
 * by the end-to-end tests and the benchmarks (which also read the optional
 * per-request hook, the media timeline and the modelled playhead).
 *
 * master → one variant (and the audio rendition of its AUDIO group, loaded
 * beside it the same way, as a player does with an alternate audio track) →
 * one plain media playlist load each, then:
 *
 * - **LL-HLS** (default when the playlist has EXT-X-PART-INF and
 *   CAN-BLOCK-RELOAD=YES; `mode: "standard"` forces the other): join at
 *   PART-HOLD-BACK behind the end of the playlist (the independent part at or
 *   before that point, as hls.js picks it), then loop on blocking reloads
 *   `?_HLS_msn=<n>&_HLS_part=<p>` for the part after the newest one listed
 *   (the first part of the next segment once a segment is complete), as
 *   RFC 8216bis §6.2.5.2 and hls.js 1.7 (base-playlist-controller.ts) do,
 *   issued as soon as the previous answer arrives. Every new part is fetched
 *   in order, one at a time, by a loader running beside the playlist loop;
 *   whole segments only when the join or the playhead lies in a segment whose
 *   parts are no longer listed. The preload hint is not requested (hls.js
 *   does not either). No variant switching, so rendition reports are unused.
 * - **standard**: start three target durations behind the live edge, init,
 *   then every new complete segment in order, reloading the playlist as the
 *   spec says (after a target duration when it changed, half of one when not).
 *
 * With `playhead`, the viewer models what it would be showing
 * (test/support/model-playhead.ts, program time from EXT-X-PROGRAM-DATE-TIME):
 * it starts at the join point once media covers it, plays at the playhead's
 * rate and stalls when the next media has not arrived. With `playhead.sync`
 * it runs the player's own sync controller (web/player/sync-controller.ts)
 * on that playhead every tick, applying its rate and seeks (a seek moves the
 * loader to the media holding the new position). The playhead, the timeline
 * and the segment/part counts follow the video; the audio track's counts are
 * in `stats.audio` (requests, bytes, tiers and errors count both).
 */
import { setMaxListeners } from "node:events";
import HLS from "hls-parser";
import type { MasterPlaylist, MediaPlaylist, Segment } from "hls-parser/types.js";
import { SyncController, targetDelayFromPlaylist, type SyncConfig, type SyncState } from "../../web/player/sync-controller.js";
import { ModelPlayhead } from "./model-playhead.js";

export type ViewerMode = "ll" | "standard";

/** What one track's loader fetched. */
export interface TrackCounts {
  segments: number;
  parts: number;
  blockingReloads: number;
}

export interface ViewerStats {
  requests: number;
  errors: string[];
  /**
   * Requests sent again once because the connection failed before any answer
   * (reset or closed: a keep-alive connection the server closed as the request
   * left), as browsers do for a request on a reused connection. A second
   * failure is an error.
   */
  retried: number;
  /** Whole segments fetched. */
  segments: number;
  /** LL-HLS parts fetched. */
  parts: number;
  /** LL-HLS blocking playlist requests (`_HLS_msn`) made. */
  blockingReloads: number;
  bytes: number;
  tiers: Record<string, number>;
  /** Program-date-time (ms) of the newest segment or part fetched. */
  lastProgramTime?: number;
  playlists: string[];
  ended: boolean;
  /** Which way it played (undefined when it never loaded a media playlist). */
  mode?: ViewerMode;
  /** Wall clock (ms) when the viewer started and stopped. */
  startedAt: number;
  stoppedAt?: number;
  /** With `recordTimeline`: every segment or part fetched, in order. */
  timeline?: SegmentFetch[];
  /** With `recordTimeline`: EXTINF duration (s) of every msn seen in a playlist. */
  durations?: Record<number, number>;
  /** With `playhead`: the modelled playhead at the end. */
  playhead?: PlayheadReport;
  /** The audio rendition's loader, when the variant has an AUDIO group. */
  audio?: TrackCounts;
}

export interface SegmentFetch {
  msn: number;
  /** Index of the part within its segment; absent for a whole segment. */
  part?: number;
  /** Seconds from the start of segment `msn` to the start of this media (0 for a whole segment). */
  offset?: number;
  /** Seconds (EXTINF, or the part's DURATION). */
  duration: number;
  /** Wall clock (ms) when the body had fully arrived. */
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

export interface PlayheadReport {
  /** Program time at the playhead (ms) at wall time `at`, null if it never started. */
  position: number | null;
  at: number;
  playing: boolean;
  rate: number;
  /** Wall clock of the first frame "shown". */
  startedAt: number | null;
  stalls: number;
  stalledMs: number;
  seeks: number;
  /** Sync controller state at the end ("off" without sync). */
  syncState: SyncState;
  /** Offset to the common target at the end, s (+ ahead), null without a target. */
  offset: number | null;
  targetDelay: number | null;
  /** [wall ms, program ms | null, rate] every `sampleEveryMs`. */
  samples: Array<[number, number | null, number]>;
}

export interface PlayheadOptions {
  /** Run the sync controller (web/player/sync-controller.ts) on the modelled playhead. */
  sync?: boolean;
  syncConfig?: Partial<SyncConfig>;
  /** Margin added to the playlist's hold-back for the target delay, s (the player's default when absent). */
  targetMargin?: number;
  /** Controller tick, ms; default 100 (as the browser player). */
  tickMs?: number;
  /** Server clock (ms); default Date.now (the stack runs on this machine: no offset to estimate). */
  serverNow?: () => number;
  /** Keep a playhead sample this often (ms); default 1000. */
  sampleEveryMs?: number;
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
  /** Standard mode: segments behind the live edge to start at; default 3 (three target durations). */
  liveStartSegments?: number;
  /** "ll", "standard" or "auto" (default: LL-HLS when the playlist offers it). */
  mode?: ViewerMode | "auto";
  /** Model the playhead (needs EXT-X-PROGRAM-DATE-TIME); with `sync`, steer it with the sync controller. */
  playhead?: PlayheadOptions;
  /** Longest wait for a response's headers, ms (hls.js: maxTimeToFirstByteMs); default 10 000. A held blocking request answers within 3 target durations. */
  requestTimeoutMs?: number;
}

/** A piece of media the LL loader can fetch: one part, or a whole segment. */
export interface MediaUnit {
  msn: number;
  /** Part index within the segment; -1 for a whole segment. */
  part: number;
  uri: string;
  /** Seconds. */
  duration: number;
  /** Seconds from the start of the segment. */
  offset: number;
  /** Program time (ms) of its first frame, when the playlist has PDT. */
  start?: number;
  independent: boolean;
  discontinuity: boolean;
  mapUri?: string;
}

export interface Position {
  msn: number;
  part: number;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });

/** Whether a media playlist offers LL-HLS to a client (parts and blocking reload). */
export function offersLowLatency(playlist: MediaPlaylist): boolean {
  return playlist.partTargetDuration !== undefined && playlist.lowLatencyCompatibility?.canBlockReload === true;
}

/** The complete segments (with a URI) of a parsed media playlist; the parser models the open LL segment as one without. */
export function completeSegments(playlist: MediaPlaylist): Segment[] {
  return playlist.segments.filter((s) => !!s.uri);
}

/**
 * Media units of a playlist in order: the parts of every segment whose parts
 * are listed (the open one's too, without the preload hint), the whole
 * segment for complete segments without listed parts.
 */
export function mediaUnits(playlist: MediaPlaylist, baseUrl: string): MediaUnit[] {
  const units: MediaUnit[] = [];
  let currentMap: string | undefined;
  for (const segment of playlist.segments) {
    const start = segment.programDateTime?.getTime();
    // hls-parser leaves the map off the open segment (no URI yet): it is the one before.
    if (segment.map?.uri) currentMap = new URL(segment.map.uri, baseUrl).href;
    const mapUri = currentMap;
    const parts = (segment.parts ?? []).filter((p) => !p.hint && p.uri && p.duration !== undefined);
    if (parts.length > 0) {
      let offset = 0;
      parts.forEach((p, i) => {
        const duration = p.duration!;
        units.push({
          msn: segment.mediaSequenceNumber,
          part: i,
          uri: new URL(p.uri, baseUrl).href,
          duration,
          offset,
          start: start === undefined ? undefined : start + offset * 1000,
          independent: p.independent === true,
          discontinuity: i === 0 && (segment.discontinuity ?? false),
          mapUri,
        });
        offset += duration;
      });
    } else if (segment.uri) {
      units.push({
        msn: segment.mediaSequenceNumber,
        part: -1,
        uri: new URL(segment.uri, baseUrl).href,
        duration: segment.duration,
        offset: 0,
        start,
        independent: true,
        discontinuity: segment.discontinuity ?? false,
        mapUri,
      });
    }
  }
  return units;
}

/**
 * The blocking-reload directive for the next playlist, as hls.js computes it
 * in low-latency mode: the part after the newest listed one, or part 0 of the
 * next segment when the newest part closes a complete segment; `_HLS_msn` of
 * the next segment alone when no part is listed.
 */
export function nextDirective(playlist: MediaPlaylist): { msn: number; part?: number } {
  const complete = completeSegments(playlist);
  const endSn = complete.length ? complete.at(-1)!.mediaSequenceNumber : (playlist.mediaSequenceBase ?? 0) - 1;
  for (let i = playlist.segments.length - 1; i >= 0; i--) {
    const segment = playlist.segments[i]!;
    const parts = (segment.parts ?? []).filter((p) => !p.hint && p.uri);
    if (parts.length === 0) continue;
    if (segment.uri) return { msn: segment.mediaSequenceNumber + 1, part: 0 };
    return { msn: segment.mediaSequenceNumber, part: parts.length };
  }
  return { msn: endSn + 1 };
}

/** `?_HLS_msn=&_HLS_part=` in the order hls.js writes them (the edge canonicalizes anyway). */
export function blockingUrl(mediaUrl: string, directive: { msn: number; part?: number }): string {
  const url = new URL(mediaUrl);
  url.searchParams.delete("_HLS_msn");
  url.searchParams.delete("_HLS_part");
  url.searchParams.set("_HLS_msn", String(directive.msn));
  if (directive.part !== undefined) url.searchParams.set("_HLS_part", String(directive.part));
  return url.href;
}

/**
 * Where an LL-HLS client joins: `holdBack` seconds before the end of the
 * newest listed media, at the independent part at or before that point within
 * the same segment (a whole segment when that segment's parts are not listed).
 * Returns the unit index to load first and the program time (ms, when the
 * playlist has PDT) to start playing at.
 */
export function joinPoint(units: readonly MediaUnit[], holdBack: number): { index: number; at?: number } | null {
  if (units.length === 0) return null;
  // Playlist time of every unit (seconds from the first one), chained by duration.
  const times: number[] = [];
  let t = 0;
  for (const u of units) {
    times.push(t);
    t += u.duration;
  }
  const target = Math.max(0, t - holdBack);
  let index = 0;
  for (let i = 0; i < units.length; i++) if (times[i]! <= target + 1e-9) index = i;
  const chosen = units[index]!;
  let first = index;
  while (first > 0 && !units[first]!.independent && units[first - 1]!.msn === chosen.msn) first--;
  const start = chosen.start === undefined ? undefined : chosen.start + (target - times[index]!) * 1000;
  return { index: first, at: start };
}

function before(a: Position, b: Position): boolean {
  return a.msn < b.msn || (a.msn === b.msn && a.part < b.part);
}

export async function runSimulatedViewer(options: ViewerOptions): Promise<ViewerStats> {
  const stats: ViewerStats = {
    requests: 0,
    errors: [],
    retried: 0,
    segments: 0,
    parts: 0,
    blockingReloads: 0,
    bytes: 0,
    tiers: {},
    playlists: [],
    ended: false,
    startedAt: Date.now(),
  };
  if (options.recordTimeline) {
    stats.timeline = [];
    stats.durations = {};
  }
  const deadline = Date.now() + options.durationMs;
  // Everything stops at the deadline, a held blocking request included; requests cut by it are not errors.
  const stop = new AbortController();
  setMaxListeners(0, stop.signal); // one listener per request in flight, collected lazily by undici
  const onOuterAbort = () => stop.abort();
  options.signal?.addEventListener("abort", onOuterAbort, { once: true });
  const stopTimer = setTimeout(() => stop.abort(), Math.max(0, options.durationMs));
  const stopped = () => stop.signal.aborted || Date.now() >= deadline;

  const timeoutMs = options.requestTimeoutMs ?? 10_000;
  /** One request; `status` 0 when it failed without an answer (network, time-out, deadline). */
  const request = async (url: string, retry = true): Promise<{ response?: Response; status: number }> => {
    if (stopped()) return { status: 0 };
    if (retry) stats.requests++;
    const started = Date.now();
    // Time to the response headers is bounded, as hls.js bounds it (maxTimeToFirstByteMs, 10 s by default).
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), timeoutMs);
    try {
      const response = await fetch(url, { signal: AbortSignal.any([stop.signal, timeout.signal]) });
      clearTimeout(timer);
      const tier = response.headers.get("x-cache-tier") ?? "none";
      stats.tiers[tier] = (stats.tiers[tier] ?? 0) + 1;
      options.onRequest?.({ url, status: response.status, tier: response.headers.get("x-cache-tier"), ms: Date.now() - started });
      if (!response.ok) {
        // 5xx: keep the start of the body (our Worker answers JSON { error: { code, message } }) for diagnosis
        const detail =
          response.status >= 500
            ? await response.text().then(
                (t) => (t.trim() ? ` ${t.slice(0, 160).replace(/\s+/g, " ")}` : ""),
                () => "",
              )
            : "";
        if (response.status < 500) await response.body?.cancel();
        stats.errors.push(`${response.status} ${url}${detail}`);
        return { status: response.status };
      }
      return { response, status: response.status };
    } catch (error) {
      clearTimeout(timer);
      if (retry && !stop.signal.aborted && !timeout.signal.aborted && connectionDropped(error)) {
        stats.retried++;
        return request(url, false);
      }
      options.onRequest?.({ url, status: 0, tier: null, ms: Date.now() - started });
      if (!stop.signal.aborted)
        stats.errors.push(`${timeout.signal.aborted ? `no answer within ${timeoutMs} ms` : describeFetchError(error)} ${url}`);
      return { status: 0 };
    }
  };
  const get = async (url: string): Promise<Response | undefined> => (await request(url)).response;
  /** The body, or undefined when the read was cut by the deadline. */
  const body = async <T>(read: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await read();
    } catch (error) {
      if (!stop.signal.aborted) stats.errors.push(`body: ${(error as Error).message}`);
      return undefined;
    }
  };

  try {
    const masterResponse = await get(options.masterUrl);
    if (!masterResponse) return stats;
    const masterText = await body(() => masterResponse.text());
    if (masterText === undefined) return stats;
    const master = HLS.parse(masterText) as MasterPlaylist;
    const variants = master.variants;
    const variant = variants[options.variantIndex ?? Math.floor(Math.random() * variants.length)]!;
    const mediaUrl = new URL(variant.uri, options.masterUrl).href;
    // The variant's audio group (EXT-X-MEDIA TYPE=AUDIO): the default rendition, loaded beside the video.
    const audioRendition = variant.audio.find((a) => a.isDefault && a.uri) ?? variant.audio.find((a) => a.uri);
    const audioUrl = audioRendition?.uri ? new URL(audioRendition.uri, options.masterUrl).href : undefined;

    // The first media playlist load is plain in both modes.
    const firstLoad = async (url: string) => {
      while (!stopped()) {
        const response = await get(url);
        const text = response ? await body(() => response.text()) : undefined;
        if (text !== undefined) return { text, playlist: HLS.parse(text) as MediaPlaylist };
        await sleep(1_000, stop.signal);
      }
      return undefined;
    };
    const first = await firstLoad(mediaUrl);
    if (!first) return stats;
    const wantLl = options.mode === "ll" || ((options.mode ?? "auto") === "auto" && offersLowLatency(first.playlist));
    stats.mode = wantLl && offersLowLatency(first.playlist) ? "ll" : "standard";
    const run = (context: Context, loaded: { text: string; playlist: MediaPlaylist }) =>
      stats.mode === "ll" && offersLowLatency(loaded.playlist) ? runLowLatency(context, loaded) : runStandard(context, loaded);
    const shared = { options, stats, deadline, stop, request, get, body, stopped };
    const video = run({ ...shared, mediaUrl, counts: stats, primary: true }, first);
    const audio = (async () => {
      if (!audioUrl) return;
      const counts: TrackCounts = { segments: 0, parts: 0, blockingReloads: 0 };
      stats.audio = counts;
      const loaded = await firstLoad(audioUrl);
      if (loaded) await run({ ...shared, mediaUrl: audioUrl, counts, primary: false }, loaded);
    })();
    await Promise.all([video, audio]);
    return stats;
  } finally {
    clearTimeout(stopTimer);
    options.signal?.removeEventListener("abort", onOuterAbort);
    stats.stoppedAt = Date.now();
  }
}

interface Context {
  options: ViewerOptions;
  stats: ViewerStats;
  mediaUrl: string;
  /** Where this track's loader counts what it fetched (the stats themselves for the video). */
  counts: TrackCounts;
  /** The video track: it owns the playhead, the timeline, the kept playlists and the end. */
  primary: boolean;
  deadline: number;
  stop: AbortController;
  request(url: string): Promise<{ response?: Response; status: number }>;
  get(url: string): Promise<Response | undefined>;
  body<T>(read: () => Promise<T>): Promise<T | undefined>;
  stopped(): boolean;
}

/**
 * The stats a track's loader writes its media facts to (program time,
 * timeline, durations, end): the viewer's own for the video, a scratch copy
 * for the audio, whose facts would only duplicate the video's.
 */
function trackStats(ctx: Context): ViewerStats {
  if (ctx.primary) return ctx.stats;
  return { ...ctx.stats, playlists: [], timeline: undefined, durations: undefined, errors: ctx.stats.errors, tiers: ctx.stats.tiers };
}

function recordDurations(stats: ViewerStats, playlist: MediaPlaylist): void {
  if (stats.durations) for (const segment of completeSegments(playlist)) stats.durations[segment.mediaSequenceNumber] = segment.duration;
}

async function runStandard(ctx: Context, first: { text: string; playlist: MediaPlaylist }): Promise<void> {
  const { options, mediaUrl, get, body, stopped, counts } = ctx;
  const stats = trackStats(ctx);
  const startSegments = options.liveStartSegments ?? 3;
  let nextSequence: number | undefined;
  const initsFetched = new Set<string>();
  let pending: { text: string; playlist: MediaPlaylist } | undefined = first;
  const model = options.playhead && ctx.primary ? new PlayheadDriver(ctx, null) : undefined;
  try {
    while (!stopped()) {
      let loaded = pending;
      pending = undefined;
      if (!loaded) {
        const response = await get(mediaUrl);
        const text = response ? await body(() => response.text()) : undefined;
        if (text === undefined) {
          await sleep(1_000, ctx.stop.signal);
          continue;
        }
        loaded = { text, playlist: HLS.parse(text) as MediaPlaylist };
      }
      const { text, playlist } = loaded;
      if (options.keepPlaylists && ctx.primary) stats.playlists.push(text);
      const first = playlist.mediaSequenceBase ?? 0;
      const segments = completeSegments(playlist);
      recordDurations(stats, playlist);
      nextSequence ??= first + Math.max(0, segments.length - startSegments);
      if (nextSequence < first) nextSequence = first; // fell behind the window
      if (model && !model.started) {
        const join = segments.find((s) => s.mediaSequenceNumber === nextSequence);
        const at = join?.programDateTime?.getTime();
        if (at !== undefined) model.begin(at, playlist);
      }
      let fetchedAny = false;
      for (const segment of segments) {
        if (segment.mediaSequenceNumber < nextSequence) continue;
        if (stopped()) break;
        const mapUri = segment.map?.uri;
        if (mapUri && !initsFetched.has(mapUri)) {
          const init = await get(new URL(mapUri, mediaUrl).href);
          const bytes = init ? await body(() => init.arrayBuffer()) : undefined;
          if (bytes) {
            ctx.stats.bytes += bytes.byteLength;
            initsFetched.add(mapUri);
          }
        }
        const media = await get(new URL(segment.uri, mediaUrl).href);
        const bytes = media ? await body(() => media.arrayBuffer()) : undefined;
        if (bytes) {
          ctx.stats.bytes += bytes.byteLength;
          counts.segments++;
          const pdt = segment.programDateTime?.getTime();
          if (pdt !== undefined) {
            stats.lastProgramTime = pdt;
            model?.arrived(pdt, pdt + segment.duration * 1000);
          }
          stats.timeline?.push({
            msn: segment.mediaSequenceNumber,
            duration: segment.duration,
            loadedAt: Date.now(),
            programDateTime: pdt,
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
      await sleep(fetchedAny ? target : target / 2, ctx.stop.signal);
    }
  } finally {
    model?.finish();
  }
}

/**
 * LL-HLS: a playlist loop (blocking reloads) and a loader (parts in order)
 * sharing the newest playlist and a queue.
 */
async function runLowLatency(ctx: Context, first: { text: string; playlist: MediaPlaylist }): Promise<void> {
  const { options, mediaUrl, get, body, stopped, counts } = ctx;
  const stats = trackStats(ctx);
  let latest = first.playlist;
  const partTarget = latest.partTargetDuration ?? 1;
  const holdBack = latest.lowLatencyCompatibility?.partHoldBack ?? 3 * partTarget;

  // The loader's state: the next position to fetch and the queue of units to fetch.
  let cursor: Position | null = null;
  let queue: MediaUnit[] = [];
  let wake: (() => void) | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };

  /** Appends the units of `playlist` at or after the cursor. */
  const schedule = (playlist: MediaPlaylist) => {
    if (!cursor) return;
    for (const unit of mediaUnits(playlist, mediaUrl)) {
      const at: Position = { msn: unit.msn, part: unit.part < 0 ? 0 : unit.part };
      if (before(at, cursor)) continue;
      if (unit.part < 0 && cursor.msn === unit.msn && cursor.part > 0) continue; // half of it is already in
      queue.push(unit);
      cursor = unit.part < 0 ? { msn: unit.msn + 1, part: 0 } : { msn: unit.msn, part: unit.part + 1 };
      // A part that closes a complete segment moves the cursor to the next segment.
      const segment = playlist.segments.find((s) => s.mediaSequenceNumber === unit.msn);
      if (unit.part >= 0 && segment?.uri && unit.part === (segment.parts ?? []).filter((p) => !p.hint).length - 1) {
        cursor = { msn: unit.msn + 1, part: 0 };
      }
    }
    if (queue.length) notify();
  };

  /** Moves the loader so that program time `t` gets loaded (after a seek). */
  const reposition = (t: number) => {
    if (model?.covers(t)) return;
    const queued = queue.findIndex((u) => u.start !== undefined && u.start <= t && t < u.start + u.duration * 1000);
    if (queued >= 0) {
      // Already on its way: drop what the playhead skipped (before the independent part at or before t).
      let i = queued;
      while (i > 0 && !queue[i]!.independent && queue[i - 1]!.msn === queue[i]!.msn) i--;
      queue = queue.slice(i);
      return;
    }
    const units = mediaUnits(latest, mediaUrl).filter((u) => u.start !== undefined);
    if (units.length === 0) return;
    let index = units.findIndex((u) => t < u.start! + u.duration * 1000);
    if (index < 0) {
      // Beyond the newest listed part: load from the next one on.
      queue = [];
      cursor = null;
      const next = nextDirective(latest);
      cursor = { msn: next.msn, part: next.part ?? 0 };
      return;
    }
    while (index > 0 && !units[index]!.independent && units[index - 1]!.msn === units[index]!.msn) index--;
    queue = [];
    cursor = { msn: units[index]!.msn, part: Math.max(0, units[index]!.part) };
    schedule(latest);
  };

  ctx.stop.signal.addEventListener("abort", notify, { once: true });
  const model = options.playhead && ctx.primary ? new PlayheadDriver(ctx, reposition) : undefined;
  const record = (text: string, playlist: MediaPlaylist) => {
    if (options.keepPlaylists && ctx.primary) stats.playlists.push(text);
    recordDurations(stats, playlist);
    latest = playlist;
  };
  record(first.text, first.playlist);

  // Join at PART-HOLD-BACK behind the newest listed media.
  const firstUnits = mediaUnits(first.playlist, mediaUrl);
  const join = joinPoint(firstUnits, holdBack);
  if (join) {
    const unit = firstUnits[join.index]!;
    cursor = { msn: unit.msn, part: Math.max(0, unit.part) };
    if (model && join.at !== undefined) model.begin(join.at, first.playlist);
  } else {
    cursor = { msn: first.playlist.mediaSequenceBase ?? 0, part: 0 };
  }
  schedule(first.playlist);

  const loader = (async () => {
    const initsFetched = new Set<string>();
    while (!stopped()) {
      const unit = queue.shift();
      if (!unit) {
        if (stats.ended) break;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, 2_000);
          function done() {
            clearTimeout(timer);
            resolve();
          }
          wake = done;
        });
        continue;
      }
      if (unit.mapUri && !initsFetched.has(unit.mapUri)) {
        const init = await get(unit.mapUri);
        const bytes = init ? await body(() => init.arrayBuffer()) : undefined;
        if (bytes) {
          ctx.stats.bytes += bytes.byteLength;
          initsFetched.add(unit.mapUri);
        }
      }
      // A failed part is retried twice (hls.js retries fragments too), a 404 is gone: skip it.
      let bytes: ArrayBuffer | undefined;
      for (let attempt = 0; attempt < 3 && !bytes && !stopped(); attempt++) {
        if (attempt > 0) await sleep(partTarget * 1000, ctx.stop.signal);
        const media = await ctx.request(unit.uri);
        bytes = media.response ? await body(() => media.response!.arrayBuffer()) : undefined;
        if (media.status === 404) break;
      }
      if (!bytes) continue;
      ctx.stats.bytes += bytes.byteLength;
      if (unit.part < 0) counts.segments++;
      else counts.parts++;
      if (unit.start !== undefined) {
        stats.lastProgramTime = unit.start;
        model?.arrived(unit.start, unit.start + unit.duration * 1000);
      }
      stats.timeline?.push({
        msn: unit.msn,
        ...(unit.part >= 0 ? { part: unit.part } : {}),
        offset: unit.offset,
        duration: unit.duration,
        loadedAt: Date.now(),
        programDateTime: unit.start,
        discontinuity: unit.discontinuity,
      });
    }
  })();

  try {
    let playlist = first.playlist;
    let failures = 0;
    while (!stopped() && !playlist.endlist) {
      const directive = nextDirective(playlist);
      if (stopped()) break;
      counts.blockingReloads++;
      const response = await get(blockingUrl(mediaUrl, directive));
      const text = response ? await ctx.body(() => response.text()) : undefined;
      if (text === undefined) {
        if (stopped()) break;
        // 503 (held too long), 400 (asked too far ahead) or a network error: a plain reload re-anchors.
        failures++;
        await sleep(Math.min(partTarget * 1000 * failures, 2_000), ctx.stop.signal);
        const plain = await get(mediaUrl);
        const plainText = plain ? await ctx.body(() => plain.text()) : undefined;
        if (plainText !== undefined) {
          playlist = HLS.parse(plainText) as MediaPlaylist;
          record(plainText, playlist);
          schedule(playlist);
        }
        continue;
      }
      failures = 0;
      const next = HLS.parse(text) as MediaPlaylist;
      const advanced = JSON.stringify(nextDirective(next)) !== JSON.stringify(directive) || next.endlist;
      playlist = next;
      record(text, playlist);
      schedule(playlist);
      // An answer that did not reach what was asked (it should not happen): do not spin.
      if (!advanced) await sleep(partTarget * 1000, ctx.stop.signal);
    }
    if (playlist.endlist) {
      stats.ended = true;
      notify();
    }
    await loader;
  } finally {
    notify();
    await loader.catch(() => {});
    model?.finish();
  }
}

/**
 * Drives a ModelPlayhead from the viewer: started at the join point, fed
 * every arrival, ticked every `tickMs` (with sync: the controller steers it).
 */
class PlayheadDriver {
  private readonly head = new ModelPlayhead();
  private readonly controller: SyncController | null;
  private readonly serverNow: () => number;
  private readonly tickMs: number;
  private readonly sampleEveryMs: number;
  private timer: NodeJS.Timeout | null = null;
  private targetDelay: number | null = null;
  private state: SyncState;
  private offset: number | null = null;
  private lastSample = 0;
  private readonly samples: Array<[number, number | null, number]> = [];
  started = false;

  constructor(
    private readonly ctx: Context,
    private readonly reposition: ((programTime: number) => void) | null,
  ) {
    const o = ctx.options.playhead!;
    this.controller = o.sync ? new SyncController(o.syncConfig) : null;
    this.state = this.controller ? "converging" : "off";
    this.serverNow = o.serverNow ?? Date.now;
    this.tickMs = o.tickMs ?? 100;
    this.sampleEveryMs = o.sampleEveryMs ?? 1_000;
  }

  covers(t: number): boolean {
    return this.head.covers(t);
  }

  begin(programTime: number, playlist: MediaPlaylist): void {
    if (this.started) return;
    this.started = true;
    const ll = playlist.lowLatencyCompatibility;
    this.targetDelay = targetDelayFromPlaylist(
      { partHoldBack: ll?.partHoldBack, holdBack: ll?.holdBack, targetDuration: playlist.targetDuration },
      this.ctx.options.playhead?.targetMargin,
    );
    this.head.start(programTime, Date.now());
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.timer.unref?.();
  }

  arrived(start: number, end: number): void {
    this.head.addMedia(start, end, Date.now());
  }

  private tick(): void {
    const wall = Date.now();
    this.head.advance(wall);
    if (this.controller && this.head.position !== null) {
      const decision = this.controller.update({
        now: this.serverNow(),
        programTime: this.head.position,
        bufferedAhead: this.head.bufferedAhead(),
        targetDelay: this.targetDelay,
        playing: this.head.playing,
      });
      this.state = decision.state;
      this.offset = decision.offset;
      this.head.rate = decision.rate;
      if (decision.seekTo !== null) {
        this.head.seek(decision.seekTo, wall);
        this.reposition?.(decision.seekTo);
      }
    }
    if (wall - this.lastSample >= this.sampleEveryMs) {
      this.lastSample = wall;
      this.samples.push([wall, this.head.position === null ? null : Math.round(this.head.position), this.head.rate]);
    }
  }

  finish(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const at = Date.now();
    this.head.advance(at);
    if (!this.controller && this.targetDelay !== null && this.head.position !== null) {
      this.offset = (this.head.position - (this.serverNow() - this.targetDelay * 1000)) / 1000;
    }
    this.ctx.stats.playhead = {
      position: this.head.startedAt === null ? null : this.head.position,
      at,
      playing: this.head.playing,
      rate: this.head.rate,
      startedAt: this.head.startedAt,
      stalls: this.head.stalls,
      stalledMs: Math.round(this.head.stalledMs),
      seeks: this.head.seeks,
      syncState: this.state,
      offset: this.offset,
      targetDelay: this.targetDelay,
      samples: this.samples,
    };
  }
}

/**
 * The connection went away under a request before any answer: reset (RST) or
 * closed (FIN) by the other side. Locally workerd closes a keep-alive
 * connection after 5 s idle, so a request leaving on it at that moment meets
 * this; browsers send such a request again. Refused connections (nobody
 * listening) are not this.
 */
function connectionDropped(error: unknown): boolean {
  const code = (error as { cause?: { code?: string } }).cause?.code;
  return code === "ECONNRESET" || code === "UND_ERR_SOCKET" || code === "EPIPE";
}

/** undici says only "fetch failed"; the reason (ECONNRESET, ECONNREFUSED, UND_ERR_SOCKET...) is in its cause. */
function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const reason = cause?.code ?? cause?.message;
  return reason ? `${(error as Error).message} (${reason})` : (error as Error).message;
}
