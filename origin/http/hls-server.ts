/**
 * The origin's HTTP face: a conventional LL-HLS server. It serves what the
 * packager holds with `Cache-Control: no-cache` and leaves caching policy to
 * the tiers in front of it (the HlsMother rewrites it). Blocking requests
 * (`_HLS_msn` / `_HLS_part`, the hinted part) are held by the packager; a
 * client that disconnects releases its hold. Also /metrics.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { classifyObjectPath, isValidStreamId } from "../../common/hls-paths.js";
import { parseHlsQuery, type HlsQuery } from "../../common/hls-query.js";
import type { OriginMetrics } from "../metrics.js";
import type { ServeResult } from "../packager/stream-packager.js";

interface HlsSource {
  /** undefined when the stream is not on this origin. */
  serve(streamId: string, objectPath: string, query: HlsQuery, signal: AbortSignal): Promise<ServeResult> | undefined;
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
    // Dot segments (plain or percent-encoded) would be resolved by URL parsing into another route: refuse them.
    const rawPath = (req.url ?? "/").split("?")[0]!;
    if (/(^|\/)(\.|%2e){1,2}(\/|$)/i.test(rawPath) || /%2f|%5c/i.test(rawPath)) {
      sendJsonError(res, 400, "bad_path", "dot segments and encoded slashes are not allowed");
      return;
    }
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
    const parsed = parseHlsQuery(url.searchParams, type);
    if (!parsed.ok) {
      metrics.recordRequest(type, 400);
      sendJsonError(res, 400, "bad_query", parsed.message);
      return;
    }
    const gone = new AbortController();
    res.once("close", () => {
      if (!res.writableFinished) gone.abort();
    });
    const pending = source.serve(streamId, objectPath, parsed.query, gone.signal);
    if (pending === undefined) {
      metrics.recordRequest(type, 404);
      sendJsonError(res, 404, "unknown_stream", "stream not on this origin");
      return;
    }
    const blocking = parsed.query.msn !== undefined || type === "part";
    void pending.then((result) => {
      if (gone.signal.aborted || res.destroyed) return;
      if (result.kind === "error") {
        metrics.recordRequest(type, result.status);
        sendJsonError(res, result.status, result.code, result.message);
        return;
      }
      const object = result.object;
      const body = typeof object.body === "string" ? Buffer.from(object.body, "utf8") : object.body;
      // a blocking playlist answer is its own object (it is cached as such downstream)
      const key = `${streamId}/${objectPath}${blocking && type === "media" ? `?${url.searchParams.toString()}` : ""}`;
      metrics.recordRequest(type, 200, key, blocking);
      if (req.method !== "HEAD") metrics.bytesServed += body.length;
      res.writeHead(200, {
        "content-type": object.contentType,
        "content-length": body.length,
        "cache-control": "no-cache",
      });
      res.end(req.method === "HEAD" ? undefined : body);
    });
  });
}
