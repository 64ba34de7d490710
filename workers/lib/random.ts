import { hmacSha256, sha256Hex } from "../../common/signing.js";

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BASE36_LOWER = "0123456789abcdefghijklmnopqrstuvwxyz";

/** Uniformly random string over `alphabet` (rejection sampling, no modulo bias). */
export function randomString(length: number, alphabet: string): string {
  const limit = 256 - (256 % alphabet.length);
  let out = "";
  while (out.length < length) {
    const bytes = crypto.getRandomValues(new Uint8Array(length * 2));
    for (const b of bytes) {
      if (b < limit) out += alphabet[b % alphabet.length];
      if (out.length === length) break;
    }
  }
  return out;
}

/** `ak_` + 40 base62 chars (~238 bits). */
export function newApiKey(): string {
  return `ak_${randomString(40, BASE62)}`;
}

/**
 * An API key in newApiKey's format derived from `label` under `secret`
 * (HMAC-SHA256, mapped onto base62 without modulo bias): the same label
 * always gives the same key, and nobody without the secret can compute it.
 */
export async function derivedApiKey(secret: string, label: string): Promise<string> {
  const limit = 256 - (256 % BASE62.length);
  let out = "";
  for (let block = 0; out.length < 40; block++) {
    for (const b of new Uint8Array(await hmacSha256(secret, `${label}:${block}`))) {
      if (b < limit) out += BASE62[b % BASE62.length];
      if (out.length === 40) break;
    }
  }
  return `ak_${out}`;
}

/** `sk_` + 40 base62 chars; safe as an RTMP path segment (`^[a-zA-Z0-9_-]+$`). */
export function newStreamKey(): string {
  return `sk_${randomString(40, BASE62)}`;
}

/** 16 chars of [a-z0-9], matching STREAM_ID_PATTERN. */
export function newStreamId(): string {
  return randomString(16, BASE36_LOWER);
}

/**
 * Keys are long random strings, not passwords: a fast SHA-256 is the right
 * hash (brute force over 2^238 is infeasible), and it allows lookups by hash.
 */
export function hashSecret(secret: string): Promise<string> {
  return sha256Hex(secret);
}
