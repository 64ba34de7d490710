/**
 * What the StreamRoom hands its components (polls, mutes, likes, audience,
 * metadata, telemetry): key-value storage, the clock, the log, and its one timer
 * mechanism. Components never see the Durable Object, sockets or env, so
 * they can be driven from a unit test with a fake clock. Components with
 * tables of their own (polls, mutes) also get the room's SQLite handle.
 */
import type { Clock } from "../clock.js";
import type { LoggedFrame, StreamLogFrame } from "../frames.js";

/** Small JSON values by key (storage.ts MetaStore). */
interface KeyValues {
  get<T>(key: string): T | undefined;
  set(key: string, value: unknown): void;
}

export interface StreamRoomServices {
  readonly meta: KeyValues;
  readonly clock: Clock;
  /** Persists a log frame with its offset from stream start, then broadcasts it. */
  record(frame: StreamLogFrame): LoggedFrame;
  /** Runs the room's `onTimer(name)` at `at` (a persisted Durable Object alarm). */
  schedule(name: string, at: number): Promise<void>;
  /** Drops a timer set with `schedule`. */
  cancel(name: string): Promise<void>;
}
