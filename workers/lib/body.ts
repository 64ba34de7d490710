import type { z } from "zod";
import { HttpError } from "./errors.js";
import { formatIssues } from "./zod-issues.js";

const MAX_BODY_BYTES = 16 * 1024;
/**
 * A body over its limit is still read to its end (and dropped) up to this
 * much in all and for this long before the 413 goes out: a client that is
 * still sending when the server answers and closes gets a TCP reset instead
 * of the answer. Beyond these the stream is cancelled (Cloudflare refuses
 * bodies over 100 MB itself).
 */
const MAX_DRAIN_BYTES = 64 * 1024 * 1024;
const MAX_DRAIN_MS = 10_000;

function tooLarge(limit: number): HttpError {
  return new HttpError(413, "payload_too_large", `request body exceeds ${limit} bytes`);
}

/** Reads and drops the rest of a body (bounded); cancels what is left beyond the bounds. */
async function drain(reader: ReadableStreamDefaultReader<Uint8Array>, alreadyRead: number): Promise<void> {
  const deadline = Date.now() + MAX_DRAIN_MS;
  let total = alreadyRead;
  try {
    while (total <= MAX_DRAIN_BYTES && Date.now() < deadline) {
      const { done, value } = await reader.read();
      if (done) return;
      total += value.byteLength;
    }
    // the client sent far too much: cancelling only frees the stream, its failure changes nothing
    await reader.cancel();
  } catch (error) {
    console.warn("request body: draining after 413 failed", error);
  }
}

/**
 * Reads the request body as bytes, refusing (413) anything larger than
 * `limit` bytes, whether announced by Content-Length or streamed chunked.
 */
export async function readBodyBytes(request: Request, limit: number): Promise<Uint8Array<ArrayBuffer>> {
  const declared = request.headers.get("content-length");
  const declaredTooLarge = declared !== null && Number(declared) > limit;
  if (request.body === null) {
    if (declaredTooLarge) throw tooLarge(limit);
    return new Uint8Array(0);
  }
  const reader = request.body.getReader();
  if (declaredTooLarge) {
    // more than could be drained anyway: no point reading any of it
    if (Number(declared) > MAX_DRAIN_BYTES)
      await reader.cancel().catch((error: unknown) => console.warn("request body: cancel after 413 failed", error));
    else await drain(reader, 0);
    throw tooLarge(limit);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await drain(reader, total);
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** `application/json` or any `+json` type, with or without parameters (charset). */
function isJsonContentType(header: string | null): boolean {
  if (header === null) return false;
  const type = header.split(";")[0]!.trim().toLowerCase();
  return type === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

/** JSON routes: a non-empty body must be declared JSON; 415 `unsupported_media_type` otherwise. */
export function assertJsonBody(request: Request, body: string): void {
  if (body.trim() === "") return;
  if (!isJsonContentType(request.headers.get("content-type"))) {
    throw new HttpError(415, "unsupported_media_type", "request body must be JSON (Content-Type: application/json)");
  }
}

/** Reads the request body as UTF-8 text (≤ `limit` bytes, 413 otherwise; 400 if not UTF-8). */
export async function readBodyText(request: Request, limit = MAX_BODY_BYTES): Promise<string> {
  const bytes = await readBodyBytes(request, limit);
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new HttpError(400, "invalid_json", "request body is not valid UTF-8");
  }
}

/**
 * Parses `text` as JSON and validates it with `schema`: 400 `invalid_json` or
 * 400 `invalid_body` (with the first issues in the message). An empty body is
 * treated as `{}` when `emptyAsObject` is set.
 */
export function parseJsonBody<S extends z.ZodTypeAny>(
  text: string,
  schema: S,
  { emptyAsObject = false }: { emptyAsObject?: boolean } = {},
): z.output<S> {
  let data: unknown;
  if (text.trim() === "") {
    if (!emptyAsObject) throw new HttpError(400, "invalid_json", "request body must be a JSON object");
    data = {};
  } else {
    try {
      data = JSON.parse(text);
    } catch {
      throw new HttpError(400, "invalid_json", "request body is not valid JSON");
    }
  }
  const result = schema.safeParse(data);
  if (!result.success) {
    throw new HttpError(400, "invalid_body", formatIssues(result.error, "body") || "request body failed validation");
  }
  return result.data;
}
