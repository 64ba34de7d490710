/**
 * What a room's RPC answers when it can refuse: the value, or an HTTP status
 * and error code the API route turns into its error response (`unwrap`).
 */
import { HttpError, type ApiErrorCode } from "../lib/errors.js";

export type RoomResult<T> = { ok: true; value: T } | { ok: false; status: number; code: ApiErrorCode; message: string };

export function ok<T>(value: T): RoomResult<T> {
  return { ok: true, value };
}

export function fail<T>(status: number, code: ApiErrorCode, message: string): RoomResult<T> {
  return { ok: false, status, code, message };
}

/** A room's result as the API answer, or the HttpError it stands for. */
export function unwrap<T>(result: RoomResult<T>): T {
  if (!result.ok) throw new HttpError(result.status, result.code, result.message);
  return result.value;
}
