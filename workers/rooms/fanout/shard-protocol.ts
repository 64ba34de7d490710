/**
 * What a room (EventRoom, StreamRoom) and its fan-out shards say to each
 * other (RPC, both ways), and the two headers of a shard upgrade.
 * docs/architecture.md, "Event fan-out shards" and "Stream fan-out shards".
 *
 * Frames travel as the exact text the room logged, so every socket on every
 * shard receives byte-identical frames. A batch is consecutive: `frames[i]`
 * has seq `first + i` (the room's log has no holes).
 */
import type { FrameworkState } from "../connections.js";
import type { GroupFilter, PublicUser } from "../frames.js";
import type { Envelope } from "../protocol.js";

/**
 * The room's state as a joining socket sees it (`S`: the event's snapshot
 * frame, or what a stream's `hello` says), as of room seq `seq` (room clock `at`).
 */
export interface ShardState<S = unknown> {
  snapshot: S;
  seq: number;
  at: number;
}

/** Room → shard: log frames (possibly none) and the room's state after them. */
export interface ShardDelivery<S = unknown> {
  /** seq of frames[0] (when there are frames) */
  first: number;
  frames: string[];
  /** the room's last seq when it sent this */
  lastSeq: number;
  state: ShardState<S>;
  /** more frames follow after frames[frames.length - 1] (the shard asks again) */
  truncated: boolean;
}

/**
 * Room → shard: a direct frame (not logged) for the shard's open sockets
 * with `tag` (every socket without one) that match `group`.
 */
export interface TargetedFrame {
  tag?: string;
  group?: GroupFilter;
  text: string;
}

/** Shard → room: where the shard is and how many sockets it holds. */
export interface ShardReport {
  index: number;
  /** last seq the shard delivered to its sockets (null: none yet) */
  lastSeq: number | null;
  sockets: number;
  /** increases with every report of this shard: an older report never overwrites a newer one */
  report: number;
}

/** The shard asks for frames after `after` (null: it has none and needs only the state). */
export interface ShardSyncRequest extends ShardReport {
  after: number | null;
  /** a socket is joining: the room does what it does for a joining socket (fresh state, polling on) */
  joining: boolean;
}

/** Replay for a reconnecting socket, from the room's log. */
export interface RoomFrames {
  first: number;
  frames: string[];
  lastSeq: number;
}

/** What the Worker needs to place a socket: the shards the room knows and their last reported sockets. */
export interface ShardPlan {
  shards: { index: number; sockets: number }[];
}

/** What a room answers a shard, whatever the room's kind (the shard's side of the RPC). */
export interface ShardRoomCalls<S> {
  shardSync(request: ShardSyncRequest): Promise<ShardDelivery<S>>;
  replayFrames(since: number, limit: number): Promise<RoomFrames>;
  shardReport(report: ShardReport): Promise<void>;
}

// ---------------------------------------------------------------- stream shards only

/** Shard → StreamRoom: a client frame of one of the shard's sockets, with who sent it. */
export interface ShardFrameRequest<App> {
  index: number;
  connection: FrameworkState;
  /** the room's per-socket state, as the shard keeps it in the socket's attachment */
  app: App | null;
  frame: Envelope;
}

/** StreamRoom → shard: what the room answers that one socket, and its per-socket state. */
export interface ShardFrameAnswer<App> {
  /** direct frames (ack, error, ...) for the sender, exact text */
  replies: string[];
  /** the room's last seq after the frame: the replies go out once the shard has delivered up to it */
  lastSeq: number;
  /** the per-socket state when the frame changed it */
  app?: App;
}

/** Shard → StreamRoom: sockets that joined and left since the last such report (coalesced). */
export interface ShardMembers extends ShardReport {
  joined: PublicUser[];
  left: { user: PublicUser; connectionId: string }[];
}

/** Worker → shard: the most sockets the shard may hold (it answers 503 + SHARD_FULL_HEADER beyond). */
export const SHARD_CAPACITY_HEADER = "x-shard-capacity";
export const SHARD_FULL_HEADER = "x-shard-full";
