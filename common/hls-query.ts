/**
 * LL-HLS delivery directives (`_HLS_msn`, `_HLS_part`) in one canonical
 * form, shared by the origin (which answers them), the mother and the edge
 * (which key caches on them).
 *
 * They mean something only on a media playlist: on every other object the
 * whole query string is dropped before any cache lookup, so `?x=1` or
 * `?_HLS_msn=7` on a segment can neither fragment a cache nor reach the
 * origin. `_HLS_skip` is dropped too: we do not advertise delta updates
 * (CAN-SKIP-UNTIL), so no conforming client sends it.
 */
import type { HlsObjectType } from "./hls-paths.js";

export interface HlsQuery {
  msn?: number;
  part?: number;
}

/** Canonical decimal: no sign, no leading zeros, so `7` and `007` cannot be two cache keys. */
const CANONICAL_NUMBER = /^(0|[1-9]\d{0,11})$/;
/** No segment has this many parts (2 s segments of 1/3 s parts have 6); larger is an attack on the cache key space. */
const MAX_PART_INDEX = 99;

export type ParsedHlsQuery = { ok: true; query: HlsQuery } | { ok: false; message: string };

/**
 * The directives of a request for an object of `type`. Refused (the HLS spec
 * asks for 400) when malformed, when `_HLS_part` comes without `_HLS_msn`,
 * or when a part index is beyond any segment's.
 */
export function parseHlsQuery(search: string | URLSearchParams, type: HlsObjectType): ParsedHlsQuery {
  if (type !== "media") return { ok: true, query: {} };
  const params = typeof search === "string" ? new URLSearchParams(search) : search;
  const msn = params.get("_HLS_msn");
  const part = params.get("_HLS_part");
  const query: HlsQuery = {};
  if (msn !== null) {
    if (!CANONICAL_NUMBER.test(msn)) return { ok: false, message: "_HLS_msn must be a non-negative integer" };
    query.msn = Number(msn);
  }
  if (part !== null) {
    if (msn === null) return { ok: false, message: "_HLS_part requires _HLS_msn" };
    if (!CANONICAL_NUMBER.test(part) || Number(part) > MAX_PART_INDEX) {
      return { ok: false, message: `_HLS_part must be an integer from 0 to ${MAX_PART_INDEX}` };
    }
    query.part = Number(part);
  }
  return { ok: true, query };
}

/** Canonical query string (`""` or `?_HLS_msn=..[&_HLS_part=..]`). */
export function formatHlsQuery(query: HlsQuery): string {
  if (query.msn === undefined) return "";
  return query.part === undefined ? `?_HLS_msn=${query.msn}` : `?_HLS_msn=${query.msn}&_HLS_part=${query.part}`;
}
