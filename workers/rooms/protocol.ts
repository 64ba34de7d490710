/**
 * Socket protocol (pure): limits, close codes, error codes, and validation of
 * client frames. Every server frame is `{ type, seq, ts, ... }` (see room.ts);
 * clients send `{ type, ... }` JSON text frames of at most 4 KiB.
 *
 * Keep-alive outside the frame protocol: the text `ping` is answered `pong`
 * by the runtime without waking the room (setWebSocketAutoResponse).
 */
import { z } from "zod";
import { ID_PATTERN, POLL_ID_PATTERN } from "../../common/ids.js";
import { formatIssues } from "../lib/zod-issues.js";
import { POLL_MAX_CHOICES, POLL_MIN_CHOICES } from "./poll.js";

export const MAX_FRAME_BYTES = 4096;
const CHAT_MAX_CHARS = 500;
export const FLOOD_LIMIT = 50;
export const FLOOD_WINDOW_MS = 1_000;
export const CHAT_RATE_PER_S = 5;
export const CHAT_BURST = 10;

export const PING = "ping";
export const PONG = "pong";

export const CLOSE_CODES = {
  normal: 1000,
  goingAway: 1001,
  /** flood: more than FLOOD_LIMIT frames within FLOOD_WINDOW_MS */
  policyViolation: 1008,
  internalError: 1011,
  /** the token the socket was opened with expired */
  tokenExpired: 4001,
} as const;

// eslint-disable-next-line @typescript-eslint/no-unused-vars -- a value only so the ErrorCode union below is derived from one list
const ERROR_CODES = [
  "too_large",
  "bad_json",
  "bad_frame",
  "unknown_type",
  "rate_limited",
  "muted",
  "forbidden",
  "stream_ended",
  "unknown_poll",
  "poll_closed",
  "poll_already_open",
  "already_voted",
  "bad_choice",
  "replay_truncated",
  "internal_error",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

const encoder = new TextEncoder();

/** Whether `text` is more than `limit` bytes of UTF-8 (encodes only when it must). */
export function exceedsUtf8Bytes(text: string, limit = MAX_FRAME_BYTES): boolean {
  if (text.length > limit) return true; // every UTF-16 unit is at least 1 byte
  if (text.length * 3 <= limit) return false; // every UTF-16 unit is at most 3 bytes
  return encoder.encode(text).byteLength > limit;
}

export interface Envelope {
  type: string;
  ref?: string;
  [key: string]: unknown;
}

export type DecodeResult = { ok: true; frame: Envelope } | { ok: false; code: ErrorCode; message: string; ref?: string };

const REF_PATTERN = ID_PATTERN;

/** Size, JSON and envelope checks, common to every room. */
export function decodeEnvelope(message: string | ArrayBuffer): DecodeResult {
  if (typeof message !== "string") {
    if (message.byteLength > MAX_FRAME_BYTES)
      return { ok: false, code: "too_large", message: `frames are limited to ${MAX_FRAME_BYTES} bytes` };
    return { ok: false, code: "bad_frame", message: "binary frames are not accepted; send JSON text" };
  }
  if (exceedsUtf8Bytes(message)) {
    return { ok: false, code: "too_large", message: `frames are limited to ${MAX_FRAME_BYTES} bytes` };
  }
  let data: unknown;
  try {
    data = JSON.parse(message);
  } catch {
    return { ok: false, code: "bad_json", message: "frame is not valid JSON" };
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    return { ok: false, code: "bad_frame", message: "a frame is a JSON object with a string `type`" };
  }
  const frame = data as Record<string, unknown>;
  const ref = typeof frame.ref === "string" && REF_PATTERN.test(frame.ref) ? frame.ref : undefined;
  if (typeof frame.type !== "string" || frame.type.length === 0 || frame.type.length > 32) {
    return { ok: false, code: "bad_frame", message: "a frame is a JSON object with a string `type`", ...(ref ? { ref } : {}) };
  }
  if (frame.ref !== undefined && ref === undefined) {
    return { ok: false, code: "bad_frame", message: "`ref` must be 1-64 characters of [A-Za-z0-9_.:-]" };
  }
  return { ok: true, frame: frame as Envelope };
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// C0 controls except tab and newline, DEL, and C1 controls
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/;

export type TextCheck = { ok: true; text: string } | { ok: false; message: string };

/**
 * Chat text: well-formed Unicode (no lone surrogates), no control characters
 * but tab/newline, NFC, 1..500 characters (code points) after trimming.
 * Never interpreted as HTML: it travels as a JSON string and clients render
 * it as text.
 */
export function checkChatText(value: unknown, maxChars = CHAT_MAX_CHARS): TextCheck {
  if (typeof value !== "string") return { ok: false, message: "text must be a string" };
  if (LONE_SURROGATE.test(value)) return { ok: false, message: "text is not valid Unicode" };
  if (CONTROL.test(value)) return { ok: false, message: "text contains control characters" };
  const text = value.normalize("NFC").trim();
  if (text.length === 0) return { ok: false, message: "text is empty" };
  if ([...text].length > maxChars) return { ok: false, message: `text longer than ${maxChars} characters` };
  return { ok: true, text };
}

const PollId = z.string().regex(POLL_ID_PATTERN);
const UserId = z.string().regex(ID_PATTERN);
const Ref = z.string().optional();
const finite = (max: number) => z.number().finite().min(0).max(max);

export const StreamClientFrameSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("chat"), text: z.string(), ref: Ref }),
  z.object({ type: z.literal("like"), ref: Ref }),
  z.object({
    type: z.literal("vote"),
    pollId: PollId,
    choice: z
      .number()
      .int()
      .min(0)
      .max(POLL_MAX_CHOICES - 1),
    ref: Ref,
  }),
  z.object({
    type: z.literal("telemetry"),
    bitrateKbps: finite(1_000_000).optional(),
    stallMs: finite(3_600_000).optional(),
    bufferMs: finite(3_600_000).optional(),
    latencyMs: finite(3_600_000).optional(),
    droppedFrames: finite(1_000_000_000).optional(),
    ref: Ref,
  }),
  z.object({
    type: z.literal("poll_open"),
    question: z.string(),
    choices: z.array(z.string()).min(POLL_MIN_CHOICES).max(POLL_MAX_CHOICES),
    ref: Ref,
  }),
  z.object({ type: z.literal("poll_close"), pollId: PollId, ref: Ref }),
  z.object({
    type: z.literal("mute"),
    userId: UserId,
    durationMs: z
      .number()
      .int()
      .min(1)
      .max(30 * 86_400_000)
      .optional(),
    ref: Ref,
  }),
  z.object({ type: z.literal("unmute"), userId: UserId, ref: Ref }),
]);
export type StreamClientFrame = z.infer<typeof StreamClientFrameSchema>;

export const STREAM_CLIENT_TYPES = ["chat", "like", "vote", "telemetry", "poll_open", "poll_close", "mute", "unmute"] as const;

export type FrameCheck<T> = { ok: true; frame: T } | { ok: false; code: ErrorCode; message: string };

/** Second stage: the room's own frame types and their shapes. */
export function parseClientFrame<T>(
  envelope: Envelope,
  knownTypes: readonly string[],
  schema: z.ZodType<T, z.ZodTypeDef, unknown>,
): FrameCheck<T> {
  if (!knownTypes.includes(envelope.type)) {
    return { ok: false, code: "unknown_type", message: `unknown frame type '${envelope.type.slice(0, 32)}'` };
  }
  const result = schema.safeParse(envelope);
  if (!result.success) {
    return { ok: false, code: "bad_frame", message: formatIssues(result.error, "frame", 3) };
  }
  return { ok: true, frame: result.data };
}

/** System events the origin / API may post into a StreamRoom (README "System events"). */
export const POSTABLE_SYSTEM_EVENTS = [
  "stream_started",
  "stream_ended",
  "new_follower",
  "like",
  "gift",
  "thumbnail",
  "muted",
  "unmuted",
  /** an action for the players of a group (cap the rendition, a notice); web/app/watch/group-actions.ts */
  "group_action",
] as const;
export type PostableSystemEvent = (typeof POSTABLE_SYSTEM_EVENTS)[number];
