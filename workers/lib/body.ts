import type { z } from "zod";
import { HttpError } from "./errors.js";
import { formatIssues } from "./zod-issues.js";

const MAX_BODY_BYTES = 16 * 1024;

/**
 * Reads the request body as bytes, refusing (413) anything larger than
 * `limit` bytes, whether announced by Content-Length or streamed chunked.
 */
export async function readBodyBytes(request: Request, limit: number): Promise<Uint8Array<ArrayBuffer>> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) {
    throw new HttpError(413, "payload_too_large", `request body exceeds ${limit} bytes`);
  }
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      // the client sent too much; cancelling only frees the stream, its failure changes nothing
      await reader.cancel().catch((error: unknown) => console.warn("request body: cancel after 413 failed", error));
      throw new HttpError(413, "payload_too_large", `request body exceeds ${limit} bytes`);
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
