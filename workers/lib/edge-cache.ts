/**
 * Read-through of this colo's Cache API for responses the Worker builds
 * itself (replay logs of ended streams, recordings, thumbnails). A cache
 * that fails to answer or to store is never an error for the client: the
 * response is built (or served) all the same, and the failure is logged.
 */
import { TIER_HEADER } from "../tiers/freshness.js";

/** The cached response for `key` marked `edge-hit`, or null (miss, or the cache failed). */
export async function cachedResponse(key: string | Request): Promise<Response | null> {
  let hit: Response | undefined;
  try {
    hit = await caches.default.match(key);
  } catch (error) {
    console.warn("edge cache: lookup failed, building the response", error);
    return null;
  }
  if (hit === undefined) return null;
  const response = new Response(hit.body, hit);
  response.headers.set(TIER_HEADER, "edge-hit");
  return response;
}

/** Stores a copy for later requests without delaying this one. */
export function storeInBackground(ctx: Pick<ExecutionContext, "waitUntil">, key: string | Request, response: Response): void {
  ctx.waitUntil(
    caches.default
      .put(key, response)
      .catch((error: unknown) => console.warn("edge cache: store failed; the next request builds it again", error)),
  );
}
