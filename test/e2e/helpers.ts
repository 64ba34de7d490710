import { spawnSync } from "node:child_process";
import HLS from "hls-parser";
import { inject } from "vitest";
import { signRequest } from "../../common/signing.js";
import { resolveFfprobe } from "../../origin/ffmpeg.js";

export interface CreatedStream {
  streamId: string;
  streamKey: string;
  ingestUrl: string;
  playbackUrl: string;
  watchUrl: string;
}

export async function createStream(title = "e2e", extra: { eventId?: string } = {}): Promise<CreatedStream> {
  const response = await fetch(`${inject("edgeUrl")}/api/streams`, {
    method: "POST",
    headers: { authorization: `Bearer ${inject("apiKey")}`, "content-type": "application/json" },
    body: JSON.stringify({ title, ...extra }),
  });
  if (response.status !== 201) throw new Error(`create stream: ${response.status} ${await response.text()}`);
  return (await response.json()) as CreatedStream;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until fn returns a value (not undefined) or the time is up. */
export async function eventually<T>(fn: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ""}`);
}

export async function fetchText(url: string): Promise<{ status: number; text: string; headers: Headers }> {
  const response = await fetch(url);
  return { status: response.status, text: await response.text(), headers: response.headers };
}

/**
 * Parses a playlist. Of a media playlist only complete segments are kept:
 * the parser also models the LL-HLS open segment (its parts and the preload
 * hint) as a segment without a URI.
 */
export function parsePlaylist(text: string) {
  const playlist = HLS.parse(text);
  if (!playlist.isMasterPlaylist) playlist.segments = playlist.segments.filter((s) => s.uri);
  return playlist;
}

/** Prometheus text → map of "name{labels}" → value. */
export async function originMetrics(): Promise<Map<string, number>> {
  const text = await (await fetch(`${inject("originUrl")}/metrics`)).text();
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return values;
}

export function ffprobeStreams(file: string): Array<{ codec_type: string; codec_name: string; width?: number; height?: number }> {
  const result = spawnSync(resolveFfprobe(), ["-v", "error", "-show_streams", "-of", "json", file], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`ffprobe failed: ${result.stderr}`);
  return (JSON.parse(result.stdout) as { streams: never[] }).streams;
}

/** A signed call to an internal Worker route, as an origin makes it (JSON answer, throws on an error status). */
export async function signedPost<T>(path: string, payload: unknown): Promise<T> {
  const body = JSON.stringify(payload);
  const response = await fetch(`${inject("edgeUrl")}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(await signRequest(inject("secret"), "POST", path, body)) },
    body,
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** A signed GET of an internal Worker route (JSON answer, throws on an error status). */
export async function signedGet<T>(path: string): Promise<T> {
  const response = await fetch(`${inject("edgeUrl")}${path}`, { headers: await signRequest(inject("secret"), "GET", path, "") });
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return (await response.json()) as T;
}
