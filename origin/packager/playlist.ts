/**
 * Pure HLS playlist renderers (RFC 8216 / draft-pantos-hls-rfc8216bis).
 * They take already-decided values; the packager owns windowing and naming.
 */

export interface MediaPlaylistSegment {
  uri: string;
  /** Seconds. */
  duration: number;
  /** Wall clock of the segment's first sample, ms since the Unix epoch. */
  programDateTime: number;
  discontinuity: boolean;
  /** Init segment (EXT-X-MAP) the segment needs. */
  mapUri: string;
}

export interface MediaPlaylistInput {
  /** EXT-X-VERSION; 7 by default (EXT-X-MAP without I-frames-only needs >= 6). */
  version?: number;
  targetDuration: number;
  mediaSequence: number;
  discontinuitySequence: number;
  segments: readonly MediaPlaylistSegment[];
  ended: boolean;
  independentSegments: boolean;
  /** EXT-X-PLAYLIST-TYPE; a recording's playlist is "VOD". */
  playlistType?: "VOD" | "EVENT";
}

/**
 * The integer a client compares with EXT-X-TARGETDURATION: the EXTINF value
 * as written (3 decimals), rounded to nearest — rounding the unformatted
 * number instead could disagree (2.4996 is written 2.500, which rounds to 3).
 */
export function roundedExtinf(duration: number): number {
  return Math.round(Number(duration.toFixed(3)));
}

export function renderMediaPlaylist(input: MediaPlaylistInput): string {
  // A target below any segment's rounded EXTINF makes the playlist invalid, whatever the caller asked for.
  let target = Math.max(1, Math.ceil(input.targetDuration));
  for (const s of input.segments) target = Math.max(target, roundedExtinf(s.duration));

  const lines = [
    "#EXTM3U",
    `#EXT-X-VERSION:${input.version ?? 7}`,
    `#EXT-X-TARGETDURATION:${target}`,
    `#EXT-X-MEDIA-SEQUENCE:${input.mediaSequence}`,
  ];
  if (input.discontinuitySequence > 0) {
    lines.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${input.discontinuitySequence}`);
  }
  if (input.playlistType) lines.push(`#EXT-X-PLAYLIST-TYPE:${input.playlistType}`);
  if (input.independentSegments) lines.push("#EXT-X-INDEPENDENT-SEGMENTS");

  let currentMap: string | undefined;
  for (const s of input.segments) {
    if (s.discontinuity) lines.push("#EXT-X-DISCONTINUITY");
    if (s.mapUri !== currentMap) {
      lines.push(`#EXT-X-MAP:URI="${quoted(s.mapUri)}"`);
      currentMap = s.mapUri;
    }
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.programDateTime).toISOString()}`);
    lines.push(`#EXTINF:${s.duration.toFixed(3)},`);
    lines.push(s.uri);
  }
  if (input.ended) lines.push("#EXT-X-ENDLIST");
  return lines.join("\n") + "\n";
}

export interface MasterPlaylistVariant {
  uri: string;
  /** Peak bits per second. */
  bandwidth: number;
  averageBandwidth: number;
  codecs: readonly string[];
  /** Omitted (with height) for audio-only variants. */
  width?: number;
  height?: number;
  frameRate?: number;
}

export function renderMasterPlaylist(variants: readonly MasterPlaylistVariant[]): string {
  const lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"];
  for (const v of variants) {
    const attrs = [
      `BANDWIDTH=${Math.round(v.bandwidth)}`,
      `AVERAGE-BANDWIDTH=${Math.round(v.averageBandwidth)}`,
    ];
    if (v.codecs.length > 0) attrs.push(`CODECS="${quoted(v.codecs.join(","))}"`);
    if (v.width !== undefined && v.height !== undefined) attrs.push(`RESOLUTION=${v.width}x${v.height}`);
    if (v.frameRate !== undefined) attrs.push(`FRAME-RATE=${v.frameRate.toFixed(3)}`);
    lines.push(`#EXT-X-STREAM-INF:${attrs.join(",")}`);
    lines.push(v.uri);
  }
  return lines.join("\n") + "\n";
}

/** Quoted-strings cannot contain '"' or line breaks (RFC 8216 §4.2); our names never do, so reject rather than escape. */
function quoted(value: string): string {
  if (/["\r\n]/.test(value)) throw new Error(`cannot quote ${JSON.stringify(value)} in a playlist`);
  return value;
}
