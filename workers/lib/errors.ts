/**
 * HTTP errors, one style: throw an `HttpError` (the app's onError renders
 * it), or, outside hono, return `errorResponse`. Both produce JSON
 * `{ "error": { "code", "message" } }` with a code from the closed set
 * below, as the socket protocol has its own (rooms/protocol.ts).
 */
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- a value only so the ApiErrorCode union below is derived from one list
const API_ERROR_CODES = [
  // requests
  "invalid_json",
  "invalid_body",
  "payload_too_large",
  "unsupported_media_type",
  "bad_query",
  "bad_path",
  "bad_stream_id",
  "bad_event_id",
  "bad_user_id",
  "bad_poll_id",
  "bad_since",
  "bad_window",
  "bad_name",
  "bad_index",
  "bad_connect",
  "bad_frame",
  "not_jpeg",
  "not_found",
  "upgrade_required",
  // who is calling
  "unauthorized",
  "token_expired",
  "bad_signature",
  "replayed_request",
  "forbidden",
  "rate_limited",
  "sessions_unavailable",
  // streams and their lifecycle
  "unknown_stream",
  "unknown_stream_key",
  "stream_ended",
  "replay_not_ready",
  "origin_mismatch",
  "unknown_origin",
  "no_origin",
  "no_available_server",
  // polls
  "unknown_poll",
  "poll_closed",
  "poll_already_open",
  // events, users, follows
  "unknown_event",
  "event_final",
  "unknown_broadcaster",
  "self_follow",
  "role_conflict",
  "rotated_concurrently",
  // the HLS tiers (edge, mother)
  "mother_unavailable",
  "wrong_mother",
  "directory_unavailable",
  "stream_offline",
  "origin_rejected",
  "origin_timeout",
  "origin_error",
  "client_gone",
  "method_not_allowed",
  "msn_too_far",
  "part_too_far",
  "internal_error",
] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/** The JSON error body; `code` is one of API_ERROR_CODES (typed loosely for the mother's pass-through). */
export function errorBody(code: ApiErrorCode | (string & {}), message: string): string {
  return JSON.stringify({ error: { code, message } });
}

export function errorResponse(status: number, code: ApiErrorCode, message: string, headers: Record<string, string> = {}): Response {
  return new Response(errorBody(code, message), {
    status,
    headers: {
      "Content-Type": "application/json; charset=utf-8",
      "Cache-Control": "no-store",
      ...headers,
    },
  });
}

/** The response of an HttpError (the app's onError, and code outside hono). */
export function httpErrorResponse(error: HttpError): Response {
  return errorResponse(error.status, error.code, error.message, error.headers);
}
