/**
 * RTMP ingest on node-media-server. Each accepted publish is handed to the
 * caller as an IncomingPublish; the caller decides (asynchronously, after
 * asking the Worker) whether to take it or refuse it. Refusal closes the
 * broadcaster's connection before any transcoder exists.
 *
 * Media leaves NMS through an in-process FLV subscriber (the same mechanism
 * NMS uses for its own recorder), so no second RTMP connection is needed
 * between ingest and transcoder.
 */
import { createRequire } from "node:module";
import { connect } from "node:net";
import type { Socket } from "node:net";

const require = createRequire(import.meta.url);
// NMS is CommonJS without type declarations; these are the few shapes we use.
interface NmsSession {
  id: string;
  ip: string;
  streamApp: string;
  streamName: string;
  streamPath: string;
  socket?: Socket;
  close(): void;
}
interface NmsBroadcast {
  publisher: NmsSession | null;
  postPlay(session: unknown): string | null;
  donePlay(session: unknown): void;
}
interface NmsServer {
  store?: { _onSignal?: (signal: NodeJS.Signals) => void };
  on(event: string, listener: (session: NmsSession) => void): void;
  run(): Promise<void> | void;
  stop(): Promise<void>;
}
const NodeMediaServer = require("node-media-server") as new (config: object) => NmsServer;
const Context = require("node-media-server/src/core/context.js") as {
  broadcasts: Map<string, NmsBroadcast>;
};
const logger = require("node-media-server/src/core/logger.js") as { level: string };
const BaseSession = require("node-media-server/src/session/base_session.js") as new () => {
  protocol: string;
  streamPath: string;
  sendBuffer: (buffer: Buffer) => void;
};

export const STREAM_KEY_PATTERN = /^[A-Za-z0-9_-]{8,128}$/;

export interface IncomingPublish {
  readonly streamKey: string;
  readonly clientAddress: string;
  /** False when NMS turned it away itself (e.g. the path already has a live publisher). */
  isActive(): boolean;
  /** Closes the broadcaster's connection. */
  refuse(reason: string): void;
  /** Starts receiving FLV bytes (header, metadata, codec headers, then live tags). Returns detach. */
  attach(sink: (flv: Buffer) => void): () => void;
  /** Called once when the broadcaster's connection closes. */
  onEnd(listener: () => void): void;
}

export interface RtmpIngestOptions {
  bindHost: string;
  port: number;
  dataDir: string;
  onPublish: (publish: IncomingPublish) => void;
  log: (message: string) => void;
}

function isLoopback(address: string): boolean {
  return /^(127\.|::1|::ffff:127\.)/.test(address);
}

export class RtmpIngest {
  private readonly nms: NmsServer;

  constructor(private readonly options: RtmpIngestOptions) {
    this.nms = new NodeMediaServer({
      bind: options.bindHost,
      rtmp: { port: options.port, chunk_size: 60000, gop_cache: true, ping: 30, ping_timeout: 60 },
      store: { path: `${options.dataDir}/nms-store` },
      webadmin: { enable: false },
    });
    // NMS forces "debug" in its constructor; its per-session chatter is not ours to print.
    logger.level = process.env.NMS_LOG_LEVEL ?? "warn";
    this.nms.on("postPublish", (session) => this.handlePublish(session));
    // Players never pull RTMP from us except loopback tools: viewers use HLS.
    this.nms.on("prePlay", (session) => {
      if (!isLoopback(session.ip.replace(/:\d+$/, ""))) {
        this.options.log(`rtmp play refused for ${session.ip}: playback is HLS only`);
        session.close();
      }
    });
  }

  async start(): Promise<void> {
    await this.nms.run();
    // NMS's metadata store installs SIGINT/SIGTERM handlers that re-raise the
    // signal, which would kill the process before our orderly shutdown (stop
    // FFmpeg, report "ended", stop wrangler). Shutdown is ours to run.
    const onSignal = this.nms.store?._onSignal;
    if (onSignal) {
      process.removeListener("SIGINT", onSignal);
      process.removeListener("SIGTERM", onSignal);
    }
    await waitForPort(this.options.bindHost === "0.0.0.0" ? "127.0.0.1" : this.options.bindHost, this.options.port);
  }

  async stop(): Promise<void> {
    await this.nms.stop();
  }

  private handlePublish(session: NmsSession): void {
    const clientAddress = session.ip.replace(/:\d+$/, "");
    const streamKey = session.streamName;
    const endListeners: Array<() => void> = [];
    let ended = false;
    const fireEnd = () => {
      if (ended) return;
      ended = true;
      endListeners.splice(0).forEach((listener) => listener());
    };
    session.socket?.once("close", fireEnd);

    const publish: IncomingPublish = {
      streamKey,
      clientAddress,
      isActive: () => !ended && Context.broadcasts.get(session.streamPath)?.publisher === session,
      refuse: (reason) => {
        this.options.log(`rtmp publish refused (${clientAddress}, app=${session.streamApp}): ${reason}`);
        session.close();
      },
      attach: (sink) => {
        const broadcast = Context.broadcasts.get(session.streamPath);
        if (!broadcast) throw new Error("publish has no broadcast");
        const subscriber = new BaseSession();
        subscriber.protocol = "flv";
        subscriber.streamPath = session.streamPath;
        subscriber.sendBuffer = sink;
        broadcast.postPlay(subscriber);
        return () => broadcast.donePlay(subscriber);
      },
      onEnd: (listener) => {
        if (ended) listener();
        else endListeners.push(listener);
      },
    };

    if (session.streamApp !== "live") {
      publish.refuse(`unknown application "${session.streamApp}" (publish to /live/<streamKey>)`);
      return;
    }
    if (!STREAM_KEY_PATTERN.test(streamKey)) {
      publish.refuse("malformed stream key");
      return;
    }
    this.options.onPublish(publish);
  }
}

export async function waitForPort(host: string, port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host, port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on ${host}:${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
