/**
 * What a stream room does with each client frame type (protocol.ts
 * StreamClientFrame): one handler per type, checked exhaustively by the
 * compiler. A handler answers through its turn (`ack` or `error`, both
 * carrying the frame's `ref`); owner-only frames answer `forbidden` to
 * anyone but the stream's broadcaster or an admin.
 */
import type { ConnectionInfo } from "../connections.js";
import type { PollView, TelemetrySummaryFrame } from "../frames.js";
import { CHAT_BURST, CHAT_RATE_PER_S, checkChatText, type ErrorCode, type StreamClientFrame } from "../protocol.js";
import type { RoomResult } from "../result.js";
import { LIKE_BURST, LIKE_RATE_PER_S, type SenderLimits } from "./limits.js";
import type { Likes } from "./likes.js";
import type { StreamMetadata } from "./metadata.js";
import type { Mutes } from "./mutes.js";
import type { Polls } from "./polls.js";
import { publicUser } from "./roles.js";
import type { StreamRoomServices } from "./services.js";
import type { StreamSocket, TelemetryReports } from "./telemetry-reports.js";

/** What a frame handler gets besides its frame. */
export interface FrameTurn {
  /** the sender: a socket of the room, or of one of its fan-out shards */
  connection: StreamSocket;
  limits: SenderLimits;
  error(code: ErrorCode, message: string): void;
  ack(fields?: Record<string, unknown>): void;
}

type Handler<F> = (turn: FrameTurn, frame: F) => void | Promise<void>;
export type FrameHandlers = { [T in StreamClientFrame["type"]]: Handler<Extract<StreamClientFrame, { type: T }>> };

/** The room as its handlers see it. */
export interface FrameHandlerRoom {
  parts: { metadata: StreamMetadata; mutes: Mutes; likes: Likes; polls: Polls; telemetry: TelemetryReports };
  services: Pick<StreamRoomServices, "clock" | "record">;
  sendToOwner(summary: TelemetrySummaryFrame): void;
  isOwner(who: ConnectionInfo): boolean;
  muteAddressOf(userId: string): Promise<string | null>;
  openPoll(openedBy: string, question: unknown, choices: unknown): Promise<RoomResult<PollView>>;
}

export function streamFrameHandlers(room: FrameHandlerRoom): FrameHandlers {
  const { parts } = room;
  const { clock, record } = room.services;
  /** A handler only the stream's broadcaster (or an admin) may run. */
  const ownerOnly =
    <F>(action: string, handler: Handler<F>): Handler<F> =>
    (turn, frame) =>
      room.isOwner(turn.connection.who) ? handler(turn, frame) : turn.error("forbidden", `only the stream's broadcaster may ${action}`);

  return {
    chat: (turn, frame) => {
      if (parts.metadata.ended) return turn.error("stream_ended", "the stream has ended");
      if (parts.mutes.isMuted(turn.connection.who)) return turn.error("muted", "you are muted in this room");
      const text = checkChatText(frame.text);
      if (!text.ok) return turn.error("bad_frame", text.message);
      if (!turn.limits.chat.take(clock.now()))
        return turn.error("rate_limited", `chat is limited to ${CHAT_RATE_PER_S}/s (burst ${CHAT_BURST})`);
      const logged = record({ type: "chat", from: publicUser(turn.connection.who), text: text.text });
      turn.ack({ seq: logged.seq });
    },
    like: async (turn) => {
      if (parts.metadata.ended) return turn.error("stream_ended", "the stream has ended");
      if (!turn.limits.like.take(clock.now()))
        return turn.error("rate_limited", `likes are limited to ${LIKE_RATE_PER_S}/s (burst ${LIKE_BURST})`);
      await parts.likes.add(1);
      turn.ack();
    },
    vote: async (turn, frame) => {
      const result = await parts.polls.vote(turn.connection.who.userId, frame.pollId, frame.choice);
      if (result.ok) return turn.ack({ pollId: result.pollId, choice: frame.choice });
      if (result.outcome === "unknown_poll") return turn.error("unknown_poll", "no such poll");
      if (result.outcome === "duplicate") return turn.error("already_voted", "one vote per viewer");
      if (result.outcome === "bad_choice") return turn.error("bad_choice", `choice must be 0..${result.choices - 1}`);
      turn.error("poll_closed", "this poll is closed");
    },
    telemetry: (turn, frame) => {
      if (!turn.limits.telemetry.take(clock.now())) return turn.error("rate_limited", "telemetry is limited to 1 report per second");
      const { type: _type, ref: _ref, ...sample } = frame;
      const summary = parts.telemetry.report(turn.connection, sample);
      if (summary !== null) room.sendToOwner(summary);
      turn.ack();
    },
    poll_open: ownerOnly("open a poll", async (turn, frame) => {
      const result = await room.openPoll(turn.connection.who.userId, frame.question, frame.choices);
      if (!result.ok) return turn.error(result.code as ErrorCode, result.message);
      turn.ack({ pollId: result.value.pollId });
    }),
    poll_close: ownerOnly("close a poll", async (turn, frame) => {
      const result = await parts.polls.closePoll(frame.pollId);
      if (!result.ok) return turn.error(result.code as ErrorCode, result.message);
      turn.ack({ pollId: frame.pollId });
    }),
    mute: ownerOnly("mute", async (turn, frame) => {
      const address = await room.muteAddressOf(frame.userId);
      parts.mutes.mute(frame.userId, frame.durationMs ?? null, turn.connection.who.userId, address);
      turn.ack();
    }),
    unmute: ownerOnly("unmute", (turn, frame) => {
      parts.mutes.unmute(frame.userId);
      turn.ack();
    }),
  };
}
