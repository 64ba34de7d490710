/**
 * The Worker: the API (hono, one router per prefix under workers/api/), the
 * edge HLS tier, the watch and replay pages, recordings and thumbnails, the
 * cron; exports the Durable Object classes. docs/architecture.md has the map.
 *
 *   /api/time  /api/session  /api/streams  /api/broadcasters  /api/me
 *   /api/admin  /api/events  /api/internal (HMAC)  /ws/streams/:id  /ws/events/:id
 *   /live/:streamId/<object>  /watch/:streamId  /replay/:streamId
 *   /vod/:streamId/[:dir/]:name  /thumbnails/:streamId/:file  /healthz
 */
import { Hono } from "hono";
import { eventsApi } from "./api/events.js";
import { internalApi } from "./api/internal.js";
import { sessionsApi } from "./api/sessions.js";
import { socketsApi } from "./api/sockets.js";
import { streamsApi } from "./api/streams.js";
import { adminApi } from "./api/admin.js";
import { broadcastersApi, meApi } from "./api/follows.js";
import { studioApi } from "./api/studio.js";
import { timeApi } from "./api/time.js";
import { scheduled } from "./control/scheduled.js";
import { handleReplay } from "./replay.js";
import { handleLive, liveCors } from "./edge.js";
import type { AppEnv } from "./env.js";
import { HttpError, errorResponse, httpErrorResponse } from "./lib/errors.js";
import { handleThumbnail, handleVod } from "./media/serve.js";
import { handleDirectory, handleStudio } from "./pages.js";
import { serveStatic } from "./static-files.js";
import { handleWatch } from "./watch.js";

export { HlsMother } from "./mother/hls-mother.js";
export { HlsRelay } from "./relay/hls-relay.js";
export { EventRoom } from "./rooms/event-room.js";
export { EventShard } from "./rooms/fanout/event-shard.js";
export { StreamRoom } from "./rooms/stream-room.js";
export { StreamShard } from "./rooms/fanout/stream-shard.js";

export const app = new Hono<AppEnv>();

// ./public (bundles, hls.js, CSS) before the routes: /watch/watch.css is a file, /watch/<id> a page
app.use(serveStatic);

app.get("/healthz", (c) => c.json({ ok: true }, 200, { "Cache-Control": "no-store" }));

app.route("/api/time", timeApi); // server clock for the players' sync (web/player/clock-offset.ts)
app.route("/api/session", sessionsApi);
app.route("/api/streams", streamsApi);
app.route("/api/broadcasters", broadcastersApi);
app.route("/api/me", meApi);
app.route("/api/admin", adminApi);
app.route("/api/events", eventsApi);
app.route("/ws", socketsApi);
app.route("/api/internal", internalApi);
app.route("/api/studio", studioApi); // the broadcaster's studio page (web/app/studio)

app.use("/live/*", liveCors);
app.get("/live/*", handleLive);
app.options("/live/*", () => new Response(null, { status: 204 }));

app.get("/", handleDirectory);
app.get("/studio", handleStudio);
app.get("/watch/:streamId", handleWatch);
app.get("/replay/:streamId", handleReplay);
app.use("/vod/*", liveCors);
app.get("/vod/:streamId/:name", handleVod);
app.get("/vod/:streamId/:dir/:name", handleVod);
app.use("/thumbnails/*", liveCors);
app.get("/thumbnails/:streamId/:file", handleThumbnail);

app.notFound(() => errorResponse(404, "not_found", "no such route"));

app.onError((error) => {
  if (error instanceof HttpError) return httpErrorResponse(error);
  console.error("unhandled error", error);
  return errorResponse(500, "internal_error", "internal error");
});

export default {
  fetch: app.fetch,
  scheduled,
} satisfies ExportedHandler<AppEnv["Bindings"]>;
