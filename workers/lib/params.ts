/** Path parameters checked once, the same way everywhere: 400 with a fixed code otherwise. */
import { ID_RULE, isValidId, isValidStreamId, POLL_ID_PATTERN } from "../../common/ids.js";
import { HttpError } from "./errors.js";

export function streamIdParam(id: string | undefined): string {
  if (id === undefined || !isValidStreamId(id)) throw new HttpError(400, "bad_stream_id", "stream id must match [a-z0-9]{8,32}");
  return id;
}

export function eventIdParam(id: string | undefined): string {
  if (id === undefined || !isValidId(id)) throw new HttpError(400, "bad_event_id", `event id must be ${ID_RULE}`);
  return id;
}

export function userIdParam(id: string | undefined): string {
  if (id === undefined || !isValidId(id)) throw new HttpError(400, "bad_user_id", "malformed user id");
  return id;
}

export function pollIdParam(id: string | undefined): string {
  if (id === undefined || !POLL_ID_PATTERN.test(id)) throw new HttpError(400, "bad_poll_id", "malformed poll id");
  return id;
}
