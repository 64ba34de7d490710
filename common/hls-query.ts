/**
 * LL-HLS delivery directives kept in cache keys and forwarded to the origin.
 * Everything else in a query string is dropped, so `?x=1` cannot fragment the
 * caches or reach the origin.
 */
export interface HlsQuery {
  msn?: number;
  part?: number;
  skip?: "YES" | "v2";
}

const DIGITS = /^\d{1,12}$/;

/**
 * Parses the `_HLS_*` directives of a query string. Returns null when one is
 * present but malformed (the HLS spec asks servers to answer 400), or when
 * `_HLS_part` comes without `_HLS_msn`.
 */
export function parseHlsQuery(search: string | URLSearchParams): HlsQuery | null {
  const params = typeof search === "string" ? new URLSearchParams(search) : search;
  const query: HlsQuery = {};
  const msn = params.get("_HLS_msn");
  const part = params.get("_HLS_part");
  const skip = params.get("_HLS_skip");
  if (msn !== null) {
    if (!DIGITS.test(msn)) return null;
    query.msn = Number(msn);
  }
  if (part !== null) {
    if (!DIGITS.test(part) || msn === null) return null;
    query.part = Number(part);
  }
  if (skip !== null) {
    if (skip !== "YES" && skip !== "v2") return null;
    query.skip = skip;
  }
  return query;
}

/** Canonical query string (`""` or `?_HLS_msn=..&_HLS_part=..&_HLS_skip=..`). */
export function formatHlsQuery(query: HlsQuery): string {
  const parts: string[] = [];
  if (query.msn !== undefined) parts.push(`_HLS_msn=${query.msn}`);
  if (query.part !== undefined) parts.push(`_HLS_part=${query.part}`);
  if (query.skip !== undefined) parts.push(`_HLS_skip=${query.skip}`);
  return parts.length ? `?${parts.join("&")}` : "";
}

/** parse + format; null when malformed. */
export function canonicalHlsSearch(search: string | URLSearchParams): string | null {
  const query = parseHlsQuery(search);
  return query === null ? null : formatHlsQuery(query);
}
