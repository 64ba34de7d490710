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
 * What identifies one client's address: an IPv4 address as it is, an IPv6
 * address by its /64 (one subscriber's network: a host picks new addresses
 * inside it at will), an IPv4-mapped IPv6 address as its IPv4.
 */
export function clientNetwork(ip: string): string {
  const value = ip.trim().toLowerCase().replace(/%.*$/, "");
  if (!value.includes(":")) return value;
  const mapped = /^(?:0{0,4}:){0,5}(?::|ffff:)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(value);
  if (mapped?.[1] !== undefined && value.includes("ffff:")) return mapped[1];
  const halves = value.split("::");
  if (halves.length > 2) return value;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return value;
  const hextets = [...head, ...new Array<string>(missing).fill("0"), ...tail];
  if (!hextets.every((h) => /^[0-9a-f]{1,4}$/.test(h))) return value;
  return `${hextets
    .slice(0, 4)
    .map((h) => Number.parseInt(h, 16).toString(16))
    .join(":")}::/64`;
}

/**
 * Keyed hash of the client's address (clientNetwork): a plain SHA-256 of an
 * IPv4 address is reversible by enumeration, an HMAC under a server secret is
 * not. Anonymous accounts (D1) and socket rooms (per-address limits and
 * mutes) use the same fingerprint.
 */
export function ipFingerprint(secret: string, ip: string): Promise<string> {
  return hmacHex(secret, `ip-fingerprint:v1:${clientNetwork(ip)}`);
}
