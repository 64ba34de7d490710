/**
 * HMAC-SHA256 request signing for origin → Worker calls (publish auth,
 * heartbeats, stream end). WebCrypto only, so the same code runs in Node and
 * in workerd.
 *
 * The signed string binds the timestamp, method, path (with query) and a hash
 * of the body, so a captured signature cannot be replayed against another
 * route or body, and goes stale after MAX_SKEW_MS.
 */
export const SIGNATURE_HEADER = "x-signature";
export const TIMESTAMP_HEADER = "x-signature-timestamp";
const MAX_SKEW_MS = 60_000;

const encoder = new TextEncoder();

function toHex(buffer: ArrayBuffer): string {
  return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Request bodies are JSON text or, for media uploads, raw bytes. */
export type SignedBody = string | Uint8Array<ArrayBuffer>;

export async function sha256Hex(data: SignedBody): Promise<string> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  return toHex(await crypto.subtle.digest("SHA-256", bytes));
}

/** Raw HMAC-SHA256 of `message` under `secret` (WebCrypto). */
export async function hmacSha256(secret: string, message: string): Promise<ArrayBuffer> {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return crypto.subtle.sign("HMAC", key, encoder.encode(message));
}

export async function hmacHex(secret: string, message: string): Promise<string> {
  return toHex(await hmacSha256(secret, message));
}

async function canonical(timestamp: string, method: string, pathWithQuery: string, body: SignedBody) {
  return `${timestamp}\n${method.toUpperCase()}\n${pathWithQuery}\n${await sha256Hex(body)}`;
}

/** Headers to attach to a signed request. */
export async function signRequest(
  secret: string,
  method: string,
  pathWithQuery: string,
  body: SignedBody,
  now: number = Date.now(),
): Promise<Record<string, string>> {
  const timestamp = String(now);
  const signature = await hmacHex(secret, await canonical(timestamp, method, pathWithQuery, body));
  return { [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: signature };
}

/** Compares two strings without an early exit on the first difference. */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

export async function verifyRequest(
  secret: string,
  method: string,
  pathWithQuery: string,
  body: SignedBody,
  timestamp: string | null | undefined,
  signature: string | null | undefined,
  now: number = Date.now(),
): Promise<boolean> {
  if (!secret || !timestamp || !signature || !/^\d{1,16}$/.test(timestamp)) return false;
  if (Math.abs(now - Number(timestamp)) > MAX_SKEW_MS) return false;
  const expected = await hmacHex(secret, await canonical(timestamp, method, pathWithQuery, body));
  return constantTimeEqual(expected, signature.toLowerCase());
}
