/**
 * Edge Worker: API (hono), edge HLS tier, watch page; exports the HlsMother
 * Durable Object class.
 *
 *   GET  /healthz
 *   POST /api/streams                        (Bearer API key, broadcaster)
 *   GET  /api/streams/:id
 *   POST /api/internal/origins/heartbeat     (HMAC-signed by the origin)
 *   POST /api/internal/publish               (HMAC)
 *   POST /api/internal/streams/:id/status    (HMAC)
 *   POST /api/internal/dev/broadcasters      (HMAC)
 *   GET  /api/internal/mother/:streamId/stats (HMAC)
 *   GET|HEAD|OPTIONS /live/:streamId/<objectPath>
 *   GET  /watch/:streamId
 */
import { Hono } from "hono";
import { internalApi } from "./api/internal.js";
import { streamsApi } from "./api/streams.js";
import { handleLive, liveCors } from "./edge.js";
import type { AppEnv } from "./env.js";
import { HttpError, errorResponse } from "./lib/errors.js";
import { handleThumbnail, handleVod } from "./media/serve.js";
import { mediaUploads } from "./media/uploads.js";
import { handleWatch } from "./watch.js";

export { HlsMother } from "./mother/hls-mother.js";

export const app = new Hono<AppEnv>();

app.get("/healthz", (c) => c.json({ ok: true }, 200, { "Cache-Control": "no-store" }));

app.route("/api/streams", streamsApi);
// Binary uploads (recording, thumbnails) sign the raw bytes: mounted before the JSON internal API.
app.route("/api/internal/streams", mediaUploads);
app.route("/api/internal", internalApi);

app.use("/live/*", liveCors);
app.get("/live/*", handleLive);
app.options("/live/*", () => new Response(null, { status: 204 }));

app.get("/watch/:streamId", handleWatch);
app.get("/vod/:streamId/:name", handleVod);
app.get("/thumbnails/:streamId/:file", handleThumbnail);

app.notFound(() => errorResponse(404, "not_found", "no such route"));

app.onError((error) => {
  if (error instanceof HttpError) return errorResponse(error.status, error.code, error.message, error.headers);
  console.error("unhandled error", error);
  return errorResponse(500, "internal_error", "internal error");
});

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<AppEnv["Bindings"]>;
