/**
 * StreamRoom components driven without a Durable Object: an in-memory meta
 * store, a recorder for log frames, a fake timer and a hand-moved clock.
 */
import { ManualClock } from "../../workers/rooms/clock.js";
import type { StreamLogFrame } from "../../workers/rooms/frames.js";
import type { StreamRoomServices } from "../../workers/rooms/stream/services.js";

export function fakeRoom(clock = new ManualClock(1_000_000)) {
  const values = new Map<string, unknown>();
  const frames: StreamLogFrame[] = [];
  const timers = new Map<string, number>();
  const services: StreamRoomServices = {
    meta: {
      get: <T>(key: string) => values.get(key) as T | undefined,
      set: (key: string, value: unknown) => void values.set(key, value),
    },
    clock,
    record: (frame) => {
      frames.push(frame);
      return { seq: frames.length, ts: clock.now(), type: frame.type, text: JSON.stringify(frame) };
    },
    schedule: async (name, at) => void timers.set(name, at),
    cancel: async (name) => void timers.delete(name),
  };
  return { services, clock, frames, timers };
}
