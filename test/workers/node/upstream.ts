/**
 * A real HTTP origin for the Workers tests (runs in Node, started by
 * global-setup.ts). Serves `/hls/<streamId>/...` like the origin box does
 * (`Cache-Control: no-cache`, artificial delay so requests overlap), counts
 * requests per path, and can be told to fail per stream.
 *
 * Control endpoints:
 *   GET  /__count?path=/hls/<id>/<obj>[?query]  → { count }   (exact path+query)
 *   GET  /__count?prefix=/hls/<id>/             → { count }   (sum over paths)
 *   GET  /__aborted?path=/hls/<id>/<obj>[?query] → { count }  (requests whose client left before the answer)
 *   POST /__reset                                → clears counters and modes
 *   POST /__mode  { stream, mode, delayMs?, targetDuration?, holdMs?, holdStatus? }
 *        mode: "ok" | "error" (500) | "hang" (never answers) | "reset" (drops the connection)
 *
 * LL-HLS, like the origin box: a media playlist request with `_HLS_msn`
 * beyond the static live edge (msn 105) is held `holdMs` and then answered
 * with a playlist that reaches it (or `holdStatus`, e.g. 503 as after three
 * target durations); a part (`<epoch>-p<n>.m4s`) numbered ≥ HINTED_PART is
 * held `holdMs` the same way (the hinted part being completed).
 */
import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { HINTED_PART } from "../upstream-contract.js";

export type UpstreamMode = "ok" | "error" | "hang" | "reset";

interface StreamConfig {
  mode: UpstreamMode;
  delayMs: number;
  targetDuration: number;
  holdMs: number;
  holdStatus: number;
}

const LIVE_EDGE_MSN = 105;

export const DEFAULT_DELAY_MS = 150;
/** Segments with an msn at or above this do not exist yet (404). */
export const FUTURE_MSN = 1000;

const OBJECT_RE = /^\/hls\/([a-z0-9]{8,32})\/(.+)$/;

function bytesFor(path: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash("sha256").update(path).digest();
  for (let offset = 0; offset < size; offset += block.length) {
    block.copy(out, offset);
    block = createHash("sha256").update(block).digest();
  }
  return out;
}

export function mediaPlaylist(targetDuration: number, served: number, lastMsn = LIVE_EDGE_MSN): string {
  const lines = [
    "#EXTM3U",
    "#EXT-X-VERSION:7",
    `#EXT-X-TARGETDURATION:${targetDuration}`,
    `#EXT-X-MEDIA-SEQUENCE:${lastMsn - 5}`,
    '#EXT-X-MAP:URI="init-e1-0.mp4"',
  ];
  for (let msn = lastMsn - 5; msn <= lastMsn; msn++) lines.push(`#EXTINF:${targetDuration.toFixed(3)},`, `e1-${msn}.m4s`);
  lines.push(`## served ${served}`);
  return `${lines.join("\n")}\n`;
}

export const MASTER_PLAYLIST = [
  "#EXTM3U",
  '#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2"',
  "v0/index.m3u8",
  "",
].join("\n");

export async function startUpstream(): Promise<{ url: string; close: () => Promise<void> }> {
  const counts = new Map<string, number>();
  const aborted = new Map<string, number>();
  const configs = new Map<string, StreamConfig>();
  const sockets = new Set<Socket>();
  let served = 0;

  const config = (stream: string): StreamConfig =>
    configs.get(stream) ?? { mode: "ok", delayMs: DEFAULT_DELAY_MS, targetDuration: 2, holdMs: 1000, holdStatus: 200 };

  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "Content-Type": "application/json" });
    res.end(JSON.stringify(body));
  };

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://upstream");
    if (url.pathname === "/__count") {
      const path = url.searchParams.get("path");
      const prefix = url.searchParams.get("prefix");
      let count = 0;
      if (path !== null) count = counts.get(path) ?? 0;
      else if (prefix !== null) for (const [p, n] of counts) if (p.startsWith(prefix)) count += n;
      return json(res, 200, { count });
    }
    if (url.pathname === "/__aborted") {
      return json(res, 200, { count: aborted.get(url.searchParams.get("path") ?? "") ?? 0 });
    }
    if (url.pathname === "/__reset" && req.method === "POST") {
      counts.clear();
      aborted.clear();
      configs.clear();
      return json(res, 200, { ok: true });
    }
    if (url.pathname === "/__mode" && req.method === "POST") {
      let raw = "";
      for await (const chunk of req) raw += chunk;
      const body = JSON.parse(raw) as Partial<StreamConfig> & { stream: string };
      configs.set(body.stream, { ...config(body.stream), ...body });
      return json(res, 200, { ok: true });
    }

    const match = OBJECT_RE.exec(url.pathname);
    if (!match || req.method !== "GET") return json(res, 404, { error: "not found" });
    const [, stream, objectPath] = match as unknown as [string, string, string];
    const key = url.pathname + url.search;
    counts.set(key, (counts.get(key) ?? 0) + 1);

    const cfg = config(stream);
    let answered = false;
    res.once("close", () => {
      if (!answered && !res.writableFinished) aborted.set(key, (aborted.get(key) ?? 0) + 1);
    });
    res.once("finish", () => (answered = true));
    const msnParam = url.searchParams.get("_HLS_msn");
    const blockingMsn =
      msnParam !== null && /index\.m3u8$/.test(objectPath) && Number(msnParam) > LIVE_EDGE_MSN ? Number(msnParam) : undefined;
    const hintedPart = /-p(\d+)\.m4s$/.exec(objectPath);
    const held = blockingMsn !== undefined || (hintedPart !== null && Number(hintedPart[1]) >= HINTED_PART);
    await new Promise((resolve) => setTimeout(resolve, held ? cfg.holdMs : cfg.delayMs));
    if (res.destroyed) return;
    if (held && cfg.holdStatus !== 200) return json(res, cfg.holdStatus, { error: "held too long" });
    if (cfg.mode === "hang") return; // never answer; destroyed on close
    if (cfg.mode === "reset") return req.socket.destroy();
    if (cfg.mode === "error") return json(res, 500, { error: "boom" });

    const send = (type: string, body: string | Buffer) => {
      res.writeHead(200, { "Content-Type": type, "Cache-Control": "no-cache", "Content-Length": Buffer.byteLength(body) });
      res.end(body);
    };
    if (objectPath === "master.m3u8") return send("application/vnd.apple.mpegurl", MASTER_PLAYLIST);
    if (/^[a-z0-9_]+\/index\.m3u8$/.test(objectPath)) {
      return send("application/vnd.apple.mpegurl", mediaPlaylist(cfg.targetDuration, ++served, blockingMsn));
    }
    if (/\/init-[a-z0-9]+-\d+\.mp4$/.test(objectPath)) return send("video/mp4", bytesFor(url.pathname, 1024));
    if (hintedPart) return send("video/iso.segment", bytesFor(url.pathname, 8 * 1024));
    const seg = /\/[a-z0-9]+-(\d+)\.m4s$/.exec(objectPath);
    if (seg) {
      if (Number(seg[1]) >= FUTURE_MSN) return json(res, 404, { error: "not yet" });
      return send("video/iso.segment", bytesFor(url.pathname, 64 * 1024));
    }
    return json(res, 404, { error: "not found" });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.keepAliveTimeout = 1000;

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
