/**
 * Maps the broadcaster's media timestamps to the wall clock at which that
 * media arrived at ingest: the anchor of program-date-time.
 *
 * It reads the FLV tag headers flowing from node-media-server to FFmpeg
 * (the exact bytes FFmpeg decodes) and keeps the smallest `arrival − ts`
 * over media frames. A frame that is delayed on the way (network queueing,
 * the burst of cached frames a subscriber gets when it attaches) only makes
 * that difference larger, so the minimum is the best estimate of "timestamp
 * 0 happened at wall clock X" and does not include transcoder start-up.
 *
 * FFmpeg rebases its output so that output decode time 0 is the input's
 * first timestamp; the first video frame's timestamp stands for it (the
 * timing track of our segments is video).
 */

const FLV_SIGNATURE = Buffer.from("FLV");
const TAG_HEADER_BYTES = 11;
const PREVIOUS_TAG_SIZE_BYTES = 4;
const TAG_AUDIO = 8;
const TAG_VIDEO = 9;
/** AAC packet type 0 is a decoder configuration record; AVC packet type 1 is a frame (0 config, 2 end of sequence). */
const CONFIG_PACKET = 0;
const AVC_NALU = 1;
const AVC_CODEC = 7;
/** Media time of video without an audio tag after which the source is taken to have no audio. */
const AUDIO_PROBE_MS = 1_000;
const AAC_FORMAT = 10;

type ParseState =
  | { kind: "start" }
  | { kind: "flvHeader"; need: number }
  | { kind: "skip"; need: number }
  | { kind: "tagHeader" }
  | { kind: "tagData"; remaining: number; tag: PendingTag };

interface PendingTag {
  type: number;
  timestamp: number;
  /** Up to the first two data bytes (codec and packet type). */
  lead: number[];
  arrivedAt: number;
}

export class FlvIngestClock {
  private state: ParseState = { kind: "start" };
  private carry: Buffer = Buffer.alloc(0);
  private minOffset = Infinity;
  private firstVideoTs: number | undefined;
  private firstMediaTs: number | undefined;
  private frames = 0;
  private sawAudio = false;
  private firstVideoFrameTs: number | undefined;
  private lastVideoFrameTs: number | undefined;

  /** Media frames (audio or video, not configuration records) seen so far. */
  get frameCount(): number {
    return this.frames;
  }

  /**
   * Wall clock (ms) of the input's first timestamp, i.e. of FFmpeg's output
   * decode time 0; undefined until a frame has been seen.
   */
  startWallClock(): number | undefined {
    const start = this.firstVideoTs ?? this.firstMediaTs;
    if (start === undefined || !Number.isFinite(this.minOffset)) return undefined;
    return this.minOffset + start;
  }

  /**
   * Does the source carry audio? true at the first audio tag, false once a
   * second of video has gone by without one, undefined until then. The
   * transcoder's track layout depends on it (a silent track stands in).
   */
  audioPresent(): boolean | undefined {
    if (this.sawAudio) return true;
    if (this.firstVideoFrameTs !== undefined && this.lastVideoFrameTs! - this.firstVideoFrameTs >= AUDIO_PROBE_MS) return false;
    return undefined;
  }

  /** Whether any audio tag has been seen (the answer when there is no time left to wait). */
  get hasSeenAudio(): boolean {
    return this.sawAudio;
  }

  /** Feeds bytes as they are handed to FFmpeg; `now` is their arrival (ms). */
  observe(bytes: Buffer, now: number): void {
    const data = this.carry.length > 0 ? Buffer.concat([this.carry, bytes]) : bytes;
    this.carry = Buffer.alloc(0);
    let pos = 0;
    for (;;) {
      const state = this.state;
      if (state.kind === "start") {
        if (data.length - pos < 3) break;
        // NMS sends the 9-byte FLV header (+ PreviousTagSize0) to a new subscriber; tolerate a bare tag stream.
        this.state = data.subarray(pos, pos + 3).equals(FLV_SIGNATURE) ? { kind: "flvHeader", need: 9 } : { kind: "tagHeader" };
        continue;
      }
      if (state.kind === "flvHeader") {
        if (data.length - pos < state.need) break;
        const headerSize = data.readUInt32BE(pos + 5);
        pos += state.need;
        this.state = { kind: "skip", need: Math.max(0, headerSize - 9) + PREVIOUS_TAG_SIZE_BYTES };
        continue;
      }
      if (state.kind === "skip") {
        const n = Math.min(state.need, data.length - pos);
        pos += n;
        if (n < state.need) {
          this.state = { ...state, need: state.need - n };
          break;
        }
        this.state = { kind: "tagHeader" };
        continue;
      }
      if (state.kind === "tagHeader") {
        if (data.length - pos < TAG_HEADER_BYTES) break;
        const type = data[pos]! & 0x1f;
        const size = data.readUIntBE(pos + 1, 3);
        const timestamp = (data.readUIntBE(pos + 4, 3) | (data[pos + 7]! << 24)) >>> 0;
        pos += TAG_HEADER_BYTES;
        this.state = { kind: "tagData", remaining: size, tag: { type, timestamp, lead: [], arrivedAt: now } };
        continue;
      }
      // tagData
      const take = Math.min(state.remaining, data.length - pos);
      if (take === 0 && state.remaining > 0) break;
      for (let i = 0; i < take && state.tag.lead.length < 2; i++) state.tag.lead.push(data[pos + i]!);
      pos += take;
      state.remaining -= take;
      if (state.remaining > 0) break;
      this.finishTag(state.tag);
      this.state = { kind: "skip", need: PREVIOUS_TAG_SIZE_BYTES };
    }
    if (pos < data.length) this.carry = Buffer.from(data.subarray(pos));
  }

  private finishTag(tag: PendingTag): void {
    if (tag.type === TAG_AUDIO) this.sawAudio = true;
    if (!isMediaFrame(tag)) return;
    if (tag.type === TAG_VIDEO) {
      this.firstVideoFrameTs ??= tag.timestamp;
      this.lastVideoFrameTs = tag.timestamp;
    }
    this.frames++;
    this.firstMediaTs ??= tag.timestamp;
    if (tag.type === TAG_VIDEO) this.firstVideoTs ??= tag.timestamp;
    this.minOffset = Math.min(this.minOffset, tag.arrivedAt - tag.timestamp);
  }
}

function isMediaFrame(tag: PendingTag): boolean {
  const [first, second] = tag.lead;
  if (first === undefined) return false;
  if (tag.type === TAG_VIDEO) {
    const frameType = first >> 4;
    if (frameType === 5) return false; // video info / command frame
    // Enhanced RTMP (bit 7 of the first byte) and non-AVC codecs: every tag is media.
    if ((first & 0x80) === 0 && (first & 0x0f) === AVC_CODEC) return second === AVC_NALU;
    return true;
  }
  if (tag.type === TAG_AUDIO) {
    if (first >> 4 === AAC_FORMAT) return second !== undefined && second !== CONFIG_PACKET;
    return true;
  }
  return false;
}
