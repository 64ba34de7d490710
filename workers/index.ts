/**
 * Edge Worker: API (hono), edge HLS tier, watch page; exports the HlsMother
 * Durable Object class.
 *
 *   GET  /healthz
 *   POST /api/session/anonymous              anonymous viewer token
 *   POST /api/session                        (Bearer API key) token
 *   POST /api/streams                        (Bearer API key, broadcaster)
 *   GET  /api/streams/:id                    (with viewerCount)
 *   GET  /api/streams/:id/log?from&to        replay log window
 *   POST /api/streams/:id/polls[/:pollId/close] (Bearer, owner)
 *   GET  /api/events[?status=]  GET /api/events/:id
 *   GET  /ws/streams/:id  GET /ws/events/:id   WebSocket (?token=, ?since=)
 *   POST /api/internal/streams/:id/system    (HMAC)
 *   POST /api/internal/cron/run              (HMAC)
 *   GET  /api/internal/events/:id/stats      (HMAC)
 *   POST /api/internal/origins/heartbeat     (HMAC-signed by the origin)
 *   POST /api/internal/publish               (HMAC)
 *   POST /api/internal/streams/:id/status    (HMAC)
 *   POST /api/internal/dev/broadcasters      (HMAC)
 *   GET  /api/internal/mother/:streamId/stats (HMAC)
 *   GET|HEAD|OPTIONS /live/:streamId/<objectPath>
 *   GET  /watch/:streamId
 *   GET  /api/streams[?status&eventId&broadcaster&limit&cursor]   live directory
 *   POST /api/streams/:id/key/rotate  GET /api/streams/:id/play  GET /api/streams/:id/replay
 *   POST|DELETE /api/broadcasters/:userId/follow
 *   GET  /api/me/notifications  POST /api/me/api-key/rotate
 *   POST /api/admin/users  POST /api/admin/streams/:id/end  GET /api/admin/alerts   (admin)
 *   POST /api/internal/cron/watchdog        (HMAC)
 *   GET  /replay/:streamId                  replay page
 */
import { Hono } from "hono";
import { eventsApi } from "./api/events.js";
import { internalApi } from "./api/internal.js";
import { sessionsApi } from "./api/sessions.js";
import { socketsApi } from "./api/sockets.js";
import { streamsApi } from "./api/streams.js";
import { adminApi } from "./api/admin.js";
import { controlInternalApi } from "./api/control-internal.js";
import { directoryApi } from "./api/directory.js";
import { broadcastersApi, meApi } from "./api/follows.js";
import { playApi } from "./api/play.js";
import { timeApi } from "./api/time.js";
import { scheduled } from "./control/scheduled.js";
import { handleReplay } from "./replay.js";
import { handleLive, liveCors } from "./edge.js";
import type { AppEnv } from "./env.js";
import { HttpError, errorResponse } from "./lib/errors.js";
import { handleThumbnail, handleVod } from "./media/serve.js";
import { mediaUploads } from "./media/uploads.js";
import { handleWatch } from "./watch.js";

export { HlsMother } from "./mother/hls-mother.js";
export { EventRoom } from "./rooms/event-room.js";
export { StreamRoom } from "./rooms/stream-room.js";

export const app = new Hono<AppEnv>();

app.get("/healthz", (c) => c.json({ ok: true }, 200, { "Cache-Control": "no-store" }));

app.route("/api/time", timeApi); // server clock for the players' sync (web/player/clock-offset.ts)
app.route("/api/session", sessionsApi);
// control plane (directory, key rotation, viewer source selection, replay) before the base stream routes
app.route("/api/streams", directoryApi);
app.route("/api/streams", playApi);
app.route("/api/streams", streamsApi);
app.route("/api/broadcasters", broadcastersApi);
app.route("/api/me", meApi);
app.route("/api/admin", adminApi);
app.route("/api/events", eventsApi);
app.route("/ws", socketsApi);
// Binary uploads (recording, thumbnails) sign the raw bytes: mounted before the JSON internal API.
app.route("/api/internal/streams", mediaUploads);
app.route("/api/internal", controlInternalApi);
app.route("/api/internal", internalApi);

app.use("/live/*", liveCors);
app.get("/live/*", handleLive);
app.options("/live/*", () => new Response(null, { status: 204 }));

app.get("/watch/:streamId", handleWatch);
app.get("/replay/:streamId", handleReplay);
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
  scheduled,
} satisfies ExportedHandler<AppEnv["Bindings"]>;
