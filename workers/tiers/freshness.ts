/**
 * What every cache tier needs to know about a response: may it be kept,
 * for how long, and how answers name the tier they came from.
 */

/** Every answer names the tier it came from (see workers/edge.ts for the names). */
export const TIER_HEADER = "X-Cache-Tier";

/** Whether a cache tier may keep a response with this Cache-Control. */
export function isEdgeCacheable(cacheControl: string | null): boolean {
  if (!cacheControl) return false;
  const directives = cacheControl
    .toLowerCase()
    .split(",")
    .map((d) => d.trim());
  if (directives.some((d) => d === "no-store" || d === "no-cache" || d === "private")) return false;
  const maxAge = directives.find((d) => d.startsWith("max-age=") || d.startsWith("s-maxage="));
  if (!maxAge) return false;
  const seconds = Number(maxAge.split("=")[1]);
  return Number.isFinite(seconds) && seconds > 0;
}

/** How long (s) a cache tier keeps a response: its max-age, 0 when it may not keep it. */
export function maxAgeSeconds(cacheControl: string | null): number {
  if (!isEdgeCacheable(cacheControl)) return 0;
  const m = /(?:^|,)\s*(?:s-maxage|max-age)=(\d+)/i.exec(cacheControl ?? "");
  return m ? Number(m[1]) : 0;
}
