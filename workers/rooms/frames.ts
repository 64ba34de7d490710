/**
 * Server → client frames of both rooms, as a closed union (the client side is
 * `StreamClientFrameSchema` in protocol.ts). The room adds `seq` and `ts` (and
 * `offsetMs` in stream rooms) when it sends a frame; these types are the
 * fields the room code writes. See docs/architecture.md "Socket protocol".
 */
import type { EventChanges } from "../events/diff.js";
import type { StandardEvent } from "../events/standard-event.js";
import type { DeviceType } from "../lib/client-info.js";
import type { TokenRole } from "../lib/session-token.js";
import type { GroupStats } from "./telemetry.js";
import type { ErrorCode, PostableSystemEvent } from "./protocol.js";

/** Who did something, as other viewers may see it. */
export interface PublicUser {
  id: string;
  role: TokenRole;
  anon: boolean;
}

export interface GroupFilter {
  country?: string;
  device?: DeviceType;
  role?: TokenRole;
}

export interface PollView {
  pollId: string;
  question: string;
  choices: string[];
  totals: number[];
  total: number;
  open: boolean;
}

// ---------------------------------------------------------------- log frames (persisted, replayed)

type SystemFrame =
  /**
   * Presence, coalesced (stream/presence.ts): one change carries `user`;
   * several within one window carry how many `joined` and `left` instead.
   */
  | { type: "system"; event: "member_added" | "member_removed"; viewerCount: number; user: PublicUser }
  | { type: "system"; event: "member_added" | "member_removed"; viewerCount: number; joined: number; left: number }
  | { type: "system"; event: "stream_started"; startedAt: number }
  | {
      type: "system";
      event: "stream_ended";
      endedAt: number;
      durationMs: number | null;
      viewerCount: number;
      peakViewers: number;
      joins: number;
      likes: number;
    }
  | { type: "system"; event: "like"; count: number; total: number }
  | { type: "system"; event: "muted"; userId: string; until: number | null; by: string }
  | { type: "system"; event: "unmuted"; userId: string }
  /** what the origin or the API posts as is */
  | { type: "system"; event: PlainSystemEvent; data: Record<string, unknown> };

/** Posted system events the room logs as they come (the others have their own shapes above). */
type PlainSystemEvent = Exclude<PostableSystemEvent, "like" | "muted" | "unmuted" | "stream_started" | "stream_ended">;

type ChatFrame = { type: "chat"; from: PublicUser; text: string };

type PollOpenFrame = { type: "poll_open"; pollId: string; question: string; choices: string[]; openedBy: string };
type PollResultsFrame = { type: "poll_results"; pollId: string; totals: number[]; total: number };
type PollClosedFrame = {
  type: "poll_closed";
  pollId: string;
  question: string;
  choices: string[];
  totals: number[];
  total: number;
};

type EventUpdateFrame = { type: "event_update"; eventId: string; changes: EventChanges };
export type EventSnapshotFrame = {
  type: "event_snapshot";
  eventId: string | null;
  event: StandardEvent | null;
  /** only in event rooms: whether the provider answers */
  feed?: { ok: boolean; lastSuccessAt: number | null };
};

export type StreamLogFrame =
  SystemFrame | ChatFrame | PollOpenFrame | PollResultsFrame | PollClosedFrame | EventUpdateFrame | EventSnapshotFrame;
type EventLogFrame = EventUpdateFrame;
export type LogFrame = StreamLogFrame | EventLogFrame;

// ---------------------------------------------------------------- direct frames (not logged)

type HelloFrame = {
  type: "hello";
  connectionId: string;
  room: { kind: "stream" | "event"; id: string };
  replayed: number;
  [field: string]: unknown;
};
type ErrorFrame = { type: "error"; code: ErrorCode; message: string; ref?: string };
type AckFrame = { type: "ack"; ref: string; of: string; [field: string]: unknown };
export type TelemetrySummaryFrame = { type: "telemetry_summary"; reports: number; groups: Record<string, GroupStats> };
type GroupSystemFrame = { type: "system"; event: PostableSystemEvent; data: Record<string, unknown>; group: GroupFilter };

export type DirectFrame = HelloFrame | ErrorFrame | AckFrame | TelemetrySummaryFrame | GroupSystemFrame | EventSnapshotFrame;

/** Every frame a client can receive. @public */
export type ServerFrame = LogFrame | DirectFrame;

/** A log frame as persisted: its seq, time, type and the exact text sent and replayed. */
export interface LoggedFrame {
  seq: number;
  ts: number;
  type: string;
  text: string;
}
