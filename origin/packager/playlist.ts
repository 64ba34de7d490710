/**
 * Pure HLS playlist renderers (RFC 8216 / draft-pantos-hls-rfc8216bis).
 * They take already-decided values; the packager owns windowing and naming.
 */

/** An LL-HLS partial segment as listed (EXT-X-PART). */
export interface PlaylistPart {
  uri: string;
  /** Seconds. */
  duration: number;
  /** Starts with a sync sample: INDEPENDENT=YES. */
  independent: boolean;
}

export interface MediaPlaylistSegment {
  uri: string;
  /** Seconds. */
  duration: number;
  /** Wall clock of the segment's first sample, ms since the Unix epoch. */
  programDateTime: number;
  discontinuity: boolean;
  /** Init segment (EXT-X-MAP) the segment needs. */
  mapUri: string;
  /** Its parts, listed before its URI (only for segments near the live edge). */
  parts?: readonly PlaylistPart[];
}

/** The segment being built: listed as parts only, after the complete segments. */
export interface OpenSegment {
  programDateTime: number;
  discontinuity: boolean;
  mapUri: string;
  parts: readonly PlaylistPart[];
}

/** The LL-HLS part of a media playlist (RFC 8216bis §4.4.3.7-8, §4.4.5.2-3). */
interface LowLatencyInput {
  /** EXT-X-PART-INF:PART-TARGET, seconds. */
  partTarget: number;
  /** EXT-X-SERVER-CONTROL:PART-HOLD-BACK, seconds (≥ 3 × partTarget). */
  partHoldBack: number;
  /** EXT-X-SERVER-CONTROL:HOLD-BACK, seconds (≥ 3 × target duration). */
  holdBack: number;
  open?: OpenSegment;
  /** EXT-X-PRELOAD-HINT:TYPE=PART; omitted when the playlist has ended. */
  preloadHint?: string;
  renditionReports: readonly RenditionReport[];
}

interface RenditionReport {
  uri: string;
  lastMsn: number;
  lastPart: number;
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
  lowLatency?: LowLatencyInput;
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
  const ll = input.lowLatency;

  const lines = ["#EXTM3U", `#EXT-X-VERSION:${input.version ?? 7}`, `#EXT-X-TARGETDURATION:${target}`];
  if (ll) {
    lines.push(
      `#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=${seconds(ll.partHoldBack)},HOLD-BACK=${seconds(Math.max(ll.holdBack, 3 * target))}`,
      `#EXT-X-PART-INF:PART-TARGET=${seconds(ll.partTarget)}`,
    );
  }
  lines.push(`#EXT-X-MEDIA-SEQUENCE:${input.mediaSequence}`);
  if (input.discontinuitySequence > 0) {
    lines.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${input.discontinuitySequence}`);
  }
  if (input.playlistType) lines.push(`#EXT-X-PLAYLIST-TYPE:${input.playlistType}`);
  if (input.independentSegments) lines.push("#EXT-X-INDEPENDENT-SEGMENTS");

  let currentMap: string | undefined;
  const head = (s: { discontinuity: boolean; mapUri: string; programDateTime: number }) => {
    if (s.discontinuity) lines.push("#EXT-X-DISCONTINUITY");
    if (s.mapUri !== currentMap) {
      lines.push(`#EXT-X-MAP:URI="${quoted(s.mapUri)}"`);
      currentMap = s.mapUri;
    }
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.programDateTime).toISOString()}`);
  };
  const partLines = (parts: readonly PlaylistPart[]) => {
    for (const p of parts) {
      lines.push(`#EXT-X-PART:DURATION=${seconds(p.duration)},URI="${quoted(p.uri)}"${p.independent ? ",INDEPENDENT=YES" : ""}`);
    }
  };
  for (const s of input.segments) {
    head(s);
    if (ll && s.parts) partLines(s.parts);
    lines.push(`#EXTINF:${s.duration.toFixed(3)},`);
    lines.push(s.uri);
  }
  if (ll && !input.ended) {
    if (ll.open && ll.open.parts.length > 0) {
      head(ll.open);
      partLines(ll.open.parts);
    }
    if (ll.preloadHint !== undefined) lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${quoted(ll.preloadHint)}"`);
  }
  if (input.ended) lines.push("#EXT-X-ENDLIST");
  if (ll) {
    for (const r of ll.renditionReports) {
      lines.push(`#EXT-X-RENDITION-REPORT:URI="${quoted(r.uri)}",LAST-MSN=${r.lastMsn},LAST-PART=${r.lastPart}`);
    }
  }
  return lines.join("\n") + "\n";
}

/** Decimal seconds as playlists write them: at most 3 decimals, no trailing zeros. */
function seconds(value: number): string {
  return String(Number(value.toFixed(3)));
}

export interface MasterPlaylistVariant {
  uri: string;
  /** Peak bits per second, including the audio rendition it plays with. */
  bandwidth: number;
  averageBandwidth: number;
  /** Every codec of the variant, its audio group's included (RFC 8216bis §4.4.6.2). */
  codecs: readonly string[];
  /** Omitted (with height) for audio-only variants. */
  width?: number;
  height?: number;
  frameRate?: number;
  /** GROUP-ID of the EXT-X-MEDIA TYPE=AUDIO renditions it plays with. */
  audioGroup?: string;
  /** CLOSED-CAPTIONS=NONE: the video carries no CEA-608/708 captions (then every variant must say so). */
  noClosedCaptions?: boolean;
}

/** An alternative audio rendition (EXT-X-MEDIA:TYPE=AUDIO). */
export interface MasterPlaylistAudio {
  groupId: string;
  name: string;
  uri: string;
  default: boolean;
  /** CHANNELS: the channel count, when known. */
  channels?: number;
}

export function renderMasterPlaylist(variants: readonly MasterPlaylistVariant[], audio: readonly MasterPlaylistAudio[] = []): string {
  const lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"];
  for (const a of audio) {
    const attrs = [
      "TYPE=AUDIO",
      `GROUP-ID="${quoted(a.groupId)}"`,
      `NAME="${quoted(a.name)}"`,
      `DEFAULT=${a.default ? "YES" : "NO"}`,
      "AUTOSELECT=YES",
    ];
    if (a.channels !== undefined) attrs.push(`CHANNELS="${a.channels}"`);
    attrs.push(`URI="${quoted(a.uri)}"`);
    lines.push(`#EXT-X-MEDIA:${attrs.join(",")}`);
  }
  for (const v of variants) {
    const attrs = [`BANDWIDTH=${Math.round(v.bandwidth)}`, `AVERAGE-BANDWIDTH=${Math.round(v.averageBandwidth)}`];
    if (v.codecs.length > 0) attrs.push(`CODECS="${quoted(v.codecs.join(","))}"`);
    if (v.width !== undefined && v.height !== undefined) attrs.push(`RESOLUTION=${v.width}x${v.height}`);
    if (v.frameRate !== undefined) attrs.push(`FRAME-RATE=${v.frameRate.toFixed(3)}`);
    if (v.audioGroup !== undefined) attrs.push(`AUDIO="${quoted(v.audioGroup)}"`);
    if (v.noClosedCaptions) attrs.push("CLOSED-CAPTIONS=NONE");
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
