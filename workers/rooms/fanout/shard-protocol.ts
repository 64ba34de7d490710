/**
 * What an EventRoom and its fan-out shards say to each other (RPC, both
 * ways), and the two headers of a shard upgrade. docs/architecture.md,
 * "Event fan-out shards".
 *
 * Frames travel as the exact text the room logged, so every socket on every
 * shard receives byte-identical frames. A batch is consecutive: `frames[i]`
 * has seq `first + i` (the room's log has no holes).
 */
import type { EventSnapshotFrame } from "../frames.js";

/** The room's state as a joining socket sees it, as of room seq `seq` (room clock `at`). */
export interface ShardState {
  snapshot: EventSnapshotFrame;
  seq: number;
  at: number;
}

/** Room → shard: log frames (possibly none) and the room's state after them. */
export interface ShardDelivery {
  /** seq of frames[0] (when there are frames) */
  first: number;
  frames: string[];
  /** the room's last seq when it sent this */
  lastSeq: number;
  state: ShardState;
  /** more frames follow after frames[frames.length - 1] (the shard asks again) */
  truncated: boolean;
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

/** Worker → shard: the most sockets the shard may hold (it answers 503 + SHARD_FULL_HEADER beyond). */
export const SHARD_CAPACITY_HEADER = "x-shard-capacity";
export const SHARD_FULL_HEADER = "x-shard-full";
