/**
 * The pages' static files (everything under ./public: the app bundles, the
 * vendored hls.js, the pages' CSS), served by the Worker from its own bundle.
 * scripts/vendor.mjs builds them and writes them, with their content type
 * and an ETag, into workers/generated/static-files.ts (git-ignored).
 *
 * Why not Workers Static Assets (`[assets]` in wrangler.toml): with assets
 * configured, every request - each media request of every viewer included -
 * first passes the platform's router Worker and asset lookup, which locally
 * (wrangler dev) cost about 0.3 ms of CPU per request on top of a bare
 * Worker's 0.1 ms; a dozen files per page view do not need them. Measured in
 * bench/README.md ("Edge hit").
 *
 * Caching as the asset server did: revalidate every time (`max-age=0,
 * must-revalidate`), answered 304 when the ETag matches (conditionalAnswer,
 * as recordings are), so a rebuilt bundle is picked up at once.
 */
import type { MiddlewareHandler } from "hono";
import { staticFiles } from "./generated/static-files.js";
import { conditionalAnswer } from "./lib/byte-range.js";
import { errorResponse } from "./lib/errors.js";

export interface StaticFile {
  /** Content-Type */
  type: string;
  /** strong ETag, quoted */
  etag: string;
  body: string;
}

const encoder = new TextEncoder();
/** Bodies encoded once, on first use of each file. */
const bytes = new Map<string, ArrayBuffer>();
const byPath = new Map<string, StaticFile>(Object.entries(staticFiles));

export const serveStatic: MiddlewareHandler = async (c, next) => {
  const path = c.req.path;
  const file = byPath.get(path);
  if (file === undefined) return next();
  const method = c.req.method;
  if (method !== "GET" && method !== "HEAD") {
    return errorResponse(405, "method_not_allowed", "static files take GET and HEAD", { Allow: "GET, HEAD" });
  }
  let body = bytes.get(path);
  if (body === undefined) {
    body = encoder.encode(file.body).buffer as ArrayBuffer;
    bytes.set(path, body);
  }
  const headers = new Headers({
    "Content-Type": file.type,
    ETag: file.etag,
    "Cache-Control": "public, max-age=0, must-revalidate",
    "X-Content-Type-Options": "nosniff",
  });
  return conditionalAnswer(c.req.raw, body, headers);
};
