/**
 * The origin's HTTP face: a conventional media server. It serves what the
 * packager holds with `Cache-Control: no-cache` and leaves caching policy to
 * the tiers in front of it (the HlsMother rewrites it). Also /metrics.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { classifyObjectPath, isValidStreamId } from "../../common/hls-paths.js";
import type { OriginMetrics } from "../metrics.js";
import type { PackagedObject } from "../packager/stream-packager.js";

export interface HlsSource {
  getObject(streamId: string, objectPath: string): PackagedObject | undefined;
  hasStream(streamId: string): boolean;
}

export interface HlsServerOptions {
  source: HlsSource;
  metrics: OriginMetrics;
  gauges: () => { activeStreams: number; reconnectingStreams: number; transcoders: number };
}

function sendJsonError(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(JSON.stringify({ error: { code, message } }));
}

export function createHlsServer(options: HlsServerOptions): Server {
  const { source, metrics } = options;
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    res.setHeader("access-control-allow-origin", "*");
    const url = new URL(req.url ?? "/", "http://origin.local");
    if (req.method !== "GET" && req.method !== "HEAD") {
      sendJsonError(res, 405, "method_not_allowed", "only GET and HEAD");
      return;
    }
    if (url.pathname === "/healthz") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ ok: true }));
      return;
    }
    if (url.pathname === "/metrics") {
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4", "cache-control": "no-store" });
      res.end(metrics.render(options.gauges()));
      return;
    }
    const match = /^\/hls\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (!match) {
      sendJsonError(res, 404, "not_found", "no such route");
      return;
    }
    const [, streamId, objectPath] = match as unknown as [string, string, string];
    const type = classifyObjectPath(objectPath);
    if (!isValidStreamId(streamId) || !type) {
      metrics.recordRequest("unknown", 400);
      sendJsonError(res, 400, "bad_path", "not an HLS object path");
      return;
    }
    const object = source.getObject(streamId, objectPath);
    if (!object) {
      metrics.recordRequest(type, 404);
      const known = source.hasStream(streamId);
      sendJsonError(res, 404, known ? "object_not_found" : "unknown_stream", known ? "no such object (yet)" : "stream not on this origin");
      return;
    }
    const body = typeof object.body === "string" ? Buffer.from(object.body, "utf8") : object.body;
    metrics.recordRequest(type, 200, `${streamId}/${objectPath}`);
    if (req.method !== "HEAD") metrics.bytesServed += body.length;
    res.writeHead(200, {
      "content-type": object.contentType,
      "content-length": body.length,
      "cache-control": "no-cache",
    });
    res.end(req.method === "HEAD" ? undefined : body);
  });
}
