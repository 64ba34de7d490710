/**
 * HMAC-SHA256 request signing for origin → Worker calls (publish auth,
 * heartbeats, stream end). WebCrypto only, so the same code runs in Node and
 * in workerd.
 *
 * The signed string binds the timestamp, a nonce (the request id), method,
 * path (with query) and a hash of the body, so a captured signature cannot be
 * replayed against another route or body, and goes stale after MAX_AGE_MS. A
 * timestamp may lie at most MAX_FUTURE_SKEW_MS ahead of the verifier's clock.
 * Within the window the verifier remembers the nonce (workers/lib/origin-auth.ts),
 * so the very same request is accepted once.
 */
export const SIGNATURE_HEADER = "x-signature";
export const TIMESTAMP_HEADER = "x-signature-timestamp";
/** A fresh random id per request (the request id); never reused, also not by retries. */
export const NONCE_HEADER = "x-signature-nonce";
/** How long after its timestamp a signed request is accepted (and its nonce remembered). */
export const MAX_AGE_MS = 60_000;
/** How far ahead of the verifier's clock a timestamp may be (clock skew between machines). */
const MAX_FUTURE_SKEW_MS = 5_000;
const NONCE_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;

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
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return crypto.subtle.sign("HMAC", key, encoder.encode(message));
}

export async function hmacHex(secret: string, message: string): Promise<string> {
  return toHex(await hmacSha256(secret, message));
}

async function canonical(timestamp: string, nonce: string, method: string, pathWithQuery: string, body: SignedBody) {
  return `${timestamp}\n${nonce}\n${method.toUpperCase()}\n${pathWithQuery}\n${await sha256Hex(body)}`;
}

/** Headers to attach to a signed request: timestamp, nonce (a new random request id unless given) and signature. */
export async function signRequest(
  secret: string,
  method: string,
  pathWithQuery: string,
  body: SignedBody,
  now: number = Date.now(),
  nonce: string = crypto.randomUUID(),
): Promise<Record<string, string>> {
  const timestamp = String(now);
  const signature = await hmacHex(secret, await canonical(timestamp, nonce, method, pathWithQuery, body));
  return { [TIMESTAMP_HEADER]: timestamp, [NONCE_HEADER]: nonce, [SIGNATURE_HEADER]: signature };
}

/** Compares two strings without an early exit on the first difference. */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** The signature headers of a request as received (any may be missing). */
export interface SignatureHeaders {
  timestamp: string | null | undefined;
  nonce: string | null | undefined;
  signature: string | null | undefined;
}

/**
 * Checks the signature and the time window (at most MAX_AGE_MS old, at most
 * MAX_FUTURE_SKEW_MS ahead). On success: the request's nonce and timestamp,
 * which the caller must remember until `expiresAt` to refuse a replay.
 */
export async function verifyRequest(
  secret: string,
  method: string,
  pathWithQuery: string,
  body: SignedBody,
  { timestamp, nonce, signature }: SignatureHeaders,
  now: number = Date.now(),
): Promise<{ nonce: string; timestamp: number; expiresAt: number } | null> {
  if (!secret || !timestamp || !signature || !nonce || !/^\d{1,16}$/.test(timestamp) || !NONCE_PATTERN.test(nonce)) return null;
  const at = Number(timestamp);
  if (at < now - MAX_AGE_MS || at > now + MAX_FUTURE_SKEW_MS) return null;
  const expected = await hmacHex(secret, await canonical(timestamp, nonce, method, pathWithQuery, body));
  if (!constantTimeEqual(expected, signature.toLowerCase())) return null;
  return { nonce, timestamp: at, expiresAt: at + MAX_AGE_MS };
}
