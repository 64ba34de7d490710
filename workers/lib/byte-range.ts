/**
 * Single byte ranges (RFC 9110 §14) over a complete body, for the immutable
 * media objects (segments, parts, inits, recordings). Players seek inside
 * recordings with them and CDNs probe with them. Multiple ranges are answered
 * with the whole object (allowed: a server may ignore Range).
 */

export type RangeAnswer = { kind: "whole" } | { kind: "partial"; start: number; end: number } | { kind: "unsatisfiable" };

/** Interprets a Range header against a body of `size` bytes. */
export function parseRange(header: string | null, size: number): RangeAnswer {
  if (header === null) return { kind: "whole" };
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return { kind: "whole" }; // not a single byte range: ignore it
  if (m[1] === "") {
    // suffix: the last N bytes
    const n = Number(m[2]);
    if (n === 0) return { kind: "unsatisfiable" };
    return size === 0 ? { kind: "unsatisfiable" } : { kind: "partial", start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return { kind: "unsatisfiable" };
  return { kind: "partial", start, end };
}

/** A 206 / 416 for `range` over `body`, or undefined to answer the whole body. */
export function rangeResponse(body: ArrayBuffer, headers: Headers, range: RangeAnswer): Response | undefined {
  if (range.kind === "whole") return undefined;
  const out = new Headers(headers);
  if (range.kind === "unsatisfiable") {
    out.set("Content-Range", `bytes */${body.byteLength}`);
    out.delete("Content-Length");
    return new Response(null, { status: 416, headers: out });
  }
  out.set("Content-Range", `bytes ${range.start}-${range.end}/${body.byteLength}`);
  out.set("Content-Length", String(range.end - range.start + 1));
  return new Response(body.slice(range.start, range.end + 1), { status: 206, headers: out });
}

/**
 * The answer to a GET/HEAD of a complete, immutable object: 304 when
 * If-None-Match names its ETag (weak comparison, as RFC 9110 13.1.2 says for
 * If-None-Match: `W/"x"` matches `"x"`), 206/416 for a single byte range,
 * else 200.
 */
export function conditionalAnswer(request: Request, body: ArrayBuffer, headers: Headers): Response {
  const out = new Headers(headers);
  out.set("Accept-Ranges", "bytes");
  const opaque = (tag: string) => tag.trim().replace(/^W\//, "");
  const etag = out.get("ETag");
  if (
    etag !== null &&
    request.headers
      .get("If-None-Match")
      ?.split(",")
      .some((v) => opaque(v) === opaque(etag) || v.trim() === "*")
  ) {
    return new Response(null, { status: 304, headers: out });
  }
  if (request.method === "GET") {
    const partial = rangeResponse(body, out, parseRange(request.headers.get("Range"), body.byteLength));
    if (partial) return partial;
  }
  return new Response(body, { status: 200, headers: out });
}
