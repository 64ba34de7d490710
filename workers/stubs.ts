import type { Env } from "../env.js";
import { HttpError } from "../lib/errors.js";

export function streamRoom(env: Pick<Env, "STREAM_ROOM">, streamId: string) {
  return env.STREAM_ROOM.get(env.STREAM_ROOM.idFromName(streamId));
}

export function eventRoom(env: Pick<Env, "EVENT_ROOM">, eventId: string) {
  return env.EVENT_ROOM.get(env.EVENT_ROOM.idFromName(eventId));
}

/** A room's result object as the API answer, or the HttpError it stands for. */
export function unwrap<T>(result: { ok: true; value: T } | { ok: false; status: number; code: string; message: string }): T {
  if (!result.ok) throw new HttpError(result.status, result.code, result.message);
  return result.value;
}
