/**
 * What the edge knows about a client, for grouping (README "Groups": sockets
 * that share a characteristic) and anonymous accounts: IP (only ever stored as a
 * keyed fingerprint), country, device type.
 */
import { hmacHex } from "../../common/signing.js";

export const DEVICE_TYPES = ["mobile", "tablet", "desktop", "tv", "bot", "other"] as const;
export type DeviceType = (typeof DEVICE_TYPES)[number];

/** Device class from a User-Agent string (coarse on purpose). */
export function deviceType(userAgent: string | null | undefined): DeviceType {
  const ua = (userAgent ?? "").toLowerCase();
  if (ua === "") return "other";
  if (/bot|crawler|spider|curl|wget|python-requests|headless/.test(ua)) return "bot";
  if (/smart-?tv|appletv|apple tv|googletv|hbbtv|roku|tizen|webos|crkey|aftb|aftt|bravia/.test(ua)) return "tv";
  if (/ipad|tablet|kindle|silk|playbook|(android(?!.*mobile))/.test(ua)) return "tablet";
  if (/mobi|iphone|ipod|android|blackberry|opera mini|iemobile|windows phone/.test(ua)) return "mobile";
  if (/windows nt|macintosh|mac os x|x11|linux|cros/.test(ua)) return "desktop";
  return "other";
}

/** ISO 3166-1 alpha-2 country: Cloudflare's `request.cf.country`, else the `CF-IPCountry` header. */
export function clientCountry(request: Request): string | null {
  const cf = (request as Request & { cf?: { country?: unknown } }).cf;
  const raw = typeof cf?.country === "string" ? cf.country : request.headers.get("CF-IPCountry");
  if (raw === null || raw === undefined) return null;
  const code = raw.trim().toUpperCase();
  return /^[A-Z]{2}$/.test(code) && code !== "XX" ? code : null;
}

/** `CF-Connecting-IP`, else the first `X-Forwarded-For` hop, else "unknown". */
export function clientIp(request: Request): string {
  const direct = request.headers.get("CF-Connecting-IP")?.trim();
  if (direct) return direct.slice(0, 64);
  const forwarded = request.headers.get("X-Forwarded-For")?.split(",")[0]?.trim();
  if (forwarded) return forwarded.slice(0, 64);
  return "unknown";
}

/**
 * Keyed hash of the IP: a plain SHA-256 of an IPv4 address is reversible by
 * enumeration, an HMAC under a server secret is not.
 */
export function ipFingerprint(secret: string, ip: string): Promise<string> {
  return hmacHex(secret, `ip-fingerprint:v1:${ip}`);
}
