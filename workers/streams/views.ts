/** How a stream is shown to API clients: its public URLs and its JSON view. */
import type { Stream, StreamStats } from "../../schema/index.js";
import { parseConfig } from "../config.js";

/** The base of every public URL: PUBLIC_BASE_URL, else the request's origin. */
export function publicBase(env: object, requestUrl: string): string {
  return parseConfig(env).publicBaseUrl ?? new URL(requestUrl).origin;
}

export function playbackUrl(base: string, streamId: string): string {
  return `${base}/live/${streamId}/master.m3u8`;
}

export function watchUrl(base: string, streamId: string): string {
  return `${base}/watch/${streamId}`;
}

export function originPlaybackUrl(originBaseUrl: string, streamId: string): string {
  return `${originBaseUrl.replace(/\/+$/, "")}/hls/${streamId}/master.m3u8`;
}

export function ingestUrl(rtmpUrl: string, streamKey: string): string {
  return `${rtmpUrl.replace(/\/+$/, "")}/${streamKey}`;
}

export function socketUrls(base: string, streamId: string, eventId: string | null) {
  const ws = base.replace(/^http/, "ws");
  return { stream: `${ws}/ws/streams/${streamId}`, ...(eventId !== null ? { event: `${ws}/ws/events/${eventId}` } : {}) };
}

/** A stored path (thumbnails) made absolute; absolute URLs pass through. */
export function absoluteUrl(base: string, path: string | null): string | null {
  return path === null ? null : /^https?:\/\//.test(path) ? path : `${base}${path}`;
}

function parseTags(json: string): string[] {
  try {
    const value: unknown = JSON.parse(json);
    return Array.isArray(value) ? value.filter((t): t is string => typeof t === "string") : [];
  } catch {
    return []; // a row written before tags were validated: no tags rather than a 500
  }
}

export function streamView(stream: Stream, base: string) {
  return {
    streamId: stream.id,
    status: stream.status,
    title: stream.title,
    tags: parseTags(stream.tags),
    eventId: stream.eventId,
    createdAt: stream.createdAt,
    startedAt: stream.startedAt,
    endedAt: stream.endedAt,
    playbackUrl: playbackUrl(base, stream.id),
  };
}

/** The directory's entry: the view plus owner and thumbnail. */
export function directoryEntry(stream: Stream, base: string) {
  return { ...streamView(stream, base), ownerId: stream.ownerId, thumbnailUrl: absoluteUrl(base, stream.thumbnailUrl) };
}

export function statsView(stats: StreamStats | undefined) {
  if (stats === undefined) return null;
  return {
    durationMs: stats.durationMs,
    peakViewers: stats.peakViewers,
    avgViewers: stats.avgViewers,
    joins: stats.joins,
    leaves: stats.leaves,
  };
}
