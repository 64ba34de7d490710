/**
 * Session tokens for the sockets (and any API that wants a viewer identity):
 * compact JWTs, HS256 (HMAC-SHA256 via WebCrypto, common/signing.ts) under
 * TOKEN_SECRET, expiring (default 1 h).
 *
 *   claims: { sub: userId, role, anon, iat, exp (seconds), aud: "edge-hls-sync" }
 *
 * Only this exact header is accepted (no `alg` negotiation, no "none").
 * Tokens travel as `?token=` on socket URLs (browsers cannot set headers on a
 * WebSocket): they are never logged.
 */
import { z } from "zod";
import { ID_PATTERN } from "../../common/ids.js";
import { constantTimeEqual, hmacSha256 } from "../../common/signing.js";
import { USER_ROLES } from "../../schema/index.js";

export const TOKEN_ROLES = [...USER_ROLES, "anonymous"] as const;
export type TokenRole = (typeof TOKEN_ROLES)[number];

const TOKEN_AUDIENCE = "edge-hls-sync";
export const DEFAULT_TOKEN_TTL_S = 3600;
const MAX_TOKEN_LENGTH = 2048;
export const MIN_SECRET_LENGTH = 16;

const HEADER = base64UrlEncodeText(JSON.stringify({ alg: "HS256", typ: "JWT" }));

export interface SessionClaims {
  sub: string;
  role: TokenRole;
  anon: boolean;
  /** seconds since the epoch */
  iat: number;
  /** seconds since the epoch */
  exp: number;
  aud: string;
}

const ClaimsSchema = z.object({
  sub: z.string().regex(ID_PATTERN),
  role: z.enum(TOKEN_ROLES),
  anon: z.boolean(),
  iat: z.number().int().nonnegative(),
  exp: z.number().int().positive(),
  aud: z.literal(TOKEN_AUDIENCE),
});

type VerifyFailure = "missing" | "malformed" | "bad_signature" | "expired";
export type VerifyResult = { ok: true; claims: SessionClaims } | { ok: false; reason: VerifyFailure };

function bytesToBinary(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 0x8000) out += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return out;
}

function base64UrlEncode(bytes: Uint8Array): string {
  return btoa(bytesToBinary(bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function base64UrlEncodeText(text: string): string {
  return base64UrlEncode(new TextEncoder().encode(text));
}

export function base64UrlDecodeText(value: string): string {
  const b64 = value.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (value.length % 4)) % 4);
  const binary = atob(b64);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
}

async function signature(secret: string, signingInput: string): Promise<string> {
  return base64UrlEncode(new Uint8Array(await hmacSha256(secret, signingInput)));
}

function assertUsableSecret(secret: string | undefined): asserts secret is string {
  if (secret === undefined || secret.length < MIN_SECRET_LENGTH) {
    throw new Error(`TOKEN_SECRET is missing or shorter than ${MIN_SECRET_LENGTH} characters`);
  }
}

export interface MintOptions {
  ttlSeconds?: number;
  /** ms since the epoch (tests) */
  now?: number;
}

/** Signs a token for `sub` with `role`; returns it with its expiry (ms). */
export async function signSessionToken(
  secret: string,
  subject: { sub: string; role: TokenRole; anon: boolean },
  { ttlSeconds = DEFAULT_TOKEN_TTL_S, now = Date.now() }: MintOptions = {},
): Promise<{ token: string; expiresAt: number; claims: SessionClaims }> {
  assertUsableSecret(secret);
  const iat = Math.floor(now / 1000);
  const claims: SessionClaims = {
    sub: subject.sub,
    role: subject.role,
    anon: subject.anon,
    iat,
    exp: iat + ttlSeconds,
    aud: TOKEN_AUDIENCE,
  };
  const payload = base64UrlEncodeText(JSON.stringify(claims));
  const input = `${HEADER}.${payload}`;
  return { token: `${input}.${await signature(secret, input)}`, expiresAt: claims.exp * 1000, claims };
}

/** Checks shape, signature (constant time), audience and expiry. */
export async function verifySessionToken(
  secret: string | undefined,
  token: string | null | undefined,
  now: number = Date.now(),
): Promise<VerifyResult> {
  if (token === null || token === undefined || token === "") return { ok: false, reason: "missing" };
  if (secret === undefined || secret.length < MIN_SECRET_LENGTH) return { ok: false, reason: "bad_signature" };
  if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: "malformed" };
  const parts = token.split(".");
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]+$/.test(p))) return { ok: false, reason: "malformed" };
  const [header, payload, sig] = parts as [string, string, string];
  if (header !== HEADER) return { ok: false, reason: "malformed" };
  const expected = await signature(secret, `${header}.${payload}`);
  if (!constantTimeEqual(expected, sig)) return { ok: false, reason: "bad_signature" };
  let claims: unknown;
  try {
    claims = JSON.parse(base64UrlDecodeText(payload));
  } catch {
    return { ok: false, reason: "malformed" };
  }
  const parsed = ClaimsSchema.safeParse(claims);
  if (!parsed.success) return { ok: false, reason: "malformed" };
  if (parsed.data.exp * 1000 <= now) return { ok: false, reason: "expired" };
  return { ok: true, claims: parsed.data };
}
