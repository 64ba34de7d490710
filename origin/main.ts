/**
 * The origin box: RTMP ingest → live streams (FFmpeg ladder → our packager)
 * → HTTP. `startOrigin` is used by the CLI below, by `npm start` and by the
 * end-to-end tests.
 */
import { mkdirSync } from "node:fs";
import type { Server } from "node:http";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { exitWithParent } from "./exit-with-parent.js";
import { loadOriginConfig, type OriginConfig } from "./config.js";
import { startHeartbeat } from "./control/heartbeat.js";
import { LoadSampler } from "./control/load-sampler.js";
import { WorkerApi } from "./control/worker-api.js";
import { createHlsServer } from "./http/hls-server.js";
import { RtmpIngest } from "./ingest/rtmp-ingest.js";
import { StreamJournal } from "./stream/stream-journal.js";
import { Recorder } from "./media/recorder.js";
import { AUDIO_RENDITION } from "./packager/packager-types.js";
import { Thumbnailer } from "./media/thumbnailer.js";
import { OriginMetrics } from "./metrics.js";
import { StreamRegistry } from "./stream/registry.js";
import { buildLadderArgs, nominalPartDuration } from "./transcode/ladder-args.js";
import { killAllTranscodersSync, runningTranscoders, startTranscoder } from "./transcode/transcoder.js";

export interface RunningOrigin {
  config: OriginConfig;
  metrics: OriginMetrics;
  registry: StreamRegistry;
  /** Sends one heartbeat now; resolves false if the Worker did not take it. */
  heartbeat(): Promise<boolean>;
  stop(): Promise<void>;
}

export type Logger = (message: string) => void;

const defaultLog: Logger = (message) => console.log(`[origin] ${new Date().toISOString()} ${message}`);

export async function startOrigin(config: OriginConfig, log: Logger = defaultLog): Promise<RunningOrigin> {
  mkdirSync(config.dataDir, { recursive: true });
  const metrics = new OriginMetrics();
  const api = new WorkerApi(config.workerUrl, config.sharedSecret, config.originId);
  const ladderOptions = {
    ladder: config.ladder,
    frameRate: config.frameRate,
    preset: config.x264Preset,
    partDuration: config.partDuration,
  };
  const ladderArgs = {
    withAudio: buildLadderArgs(ladderOptions),
    silentAudio: buildLadderArgs({ ...ladderOptions, silentAudio: true }),
  };

  // crash recovery: a stream this origin was serving when it died continues where it stopped
  const journalDir = join(config.dataDir, "journal");
  StreamJournal.prune(journalDir);
  const registry = new StreamRegistry({
    authorizer: api,
    streamOptions: {
      ladder: config.ladder,
      targetDuration: config.targetDuration,
      partTarget: nominalPartDuration(config.partDuration, config.frameRate),
      windowSize: config.windowSize,
      reconnectGraceMs: config.reconnectGraceMs,
    },
    endedRetentionMs: config.endedRetentionMs,
    onRefused: () => metrics.publishRefused++,
    onAccepted: () => metrics.publishAccepted++,
    log,
    makeDeps: (streamId) => {
      const journal = new StreamJournal(journalDir, streamId, log);
      return {
        journal,
        extensions: (packager, resumed) => {
          const top = config.ladder[0]!.name;
          const streamLog = (message: string) => log(`[${streamId}] ${message}`);
          const extensions = [];
          if (config.record) {
            const recorder = new Recorder(packager, {
              streamId,
              renditions: [top, AUDIO_RENDITION],
              master: () => packager.masterFor([top]),
              targetDuration: config.targetDuration,
              uploader: api,
              log: streamLog,
              resumeSegments: resumed?.recording,
              onSegmentRecorded: (segment) => journal.appendRecording(segment),
            });
            extensions.push({
              finish: async () => {
                const result = await recorder.finish();
                streamLog(`recording closed: ${result.segments} segments, ${result.failedUploads} failed uploads`);
              },
            });
          }
          if (config.thumbnails) {
            const thumbnailer = new Thumbnailer(packager, { streamId, rendition: top, sink: api, log: streamLog });
            extensions.push({ finish: async () => thumbnailer.stop() });
          }
          return extensions;
        },
        buildArgs: ({ sourceHasAudio }) => (sourceHasAudio ? ladderArgs.withAudio : ladderArgs.silentAudio),
        startTranscoder,
        reportStatus: (state, reason) =>
          api.reportStatus(streamId, state, reason).catch((error: Error) => {
            log(`could not report ${streamId} as ${state}: ${error.message}`);
          }),
        onSegment: () => metrics.segmentsPackaged++,
        onTranscoderFailure: () => metrics.transcoderFailures++,
        log: (message) => log(`[${streamId}] ${message}`),
      };
    },
  });

  const gauges = () => {
    const { active, reconnecting } = registry.counts();
    return { activeStreams: active, reconnectingStreams: reconnecting, transcoders: runningTranscoders() };
  };

  const http: Server = createHlsServer({
    metrics,
    gauges,
    source: {
      serve: (streamId, objectPath, query, signal) => registry.get(streamId)?.packager.serve(objectPath, query, signal),
    },
  });
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(config.httpPort, config.bindHost, () => resolve());
  });

  const ingest = new RtmpIngest({
    bindHost: config.bindHost,
    port: config.rtmpPort,
    dataDir: config.dataDir,
    log,
    maxConnectionsPerAddress: config.rtmpMaxConnectionsPerAddress,
    handshakeTimeoutMs: config.rtmpHandshakeTimeoutMs,
    mediaIdleTimeoutMs: config.rtmpIdleTimeoutMs,
    onPublish: (publish) => {
      registry.handlePublish(publish).catch((error: Error) => {
        log(`publish handling failed: ${error.message}`);
        publish.refuse("internal error");
      });
    },
  });
  await ingest.start();

  const loadSampler = new LoadSampler(() => metrics.bytesServed);
  const heartbeat = startHeartbeat(
    api,
    () => ({
      ...loadSampler.sample(),
      originId: config.originId,
      baseUrl: config.publicBaseUrl,
      rtmpUrl: config.publicRtmpUrl,
      capacity: config.capacity,
      activeStreams: gauges().activeStreams + gauges().reconnectingStreams,
      pool: config.pool,
      streams: registry.reports(),
    }),
    config.heartbeatIntervalMs,
    log,
    (orders) => registry.applyOrders(orders),
  );
  void heartbeat.beatNow();
  process.once("exit", killAllTranscodersSync);
  log(
    `origin ${config.originId}: http ${config.publicBaseUrl}, rtmp ${config.publicRtmpUrl}, ladder ${config.ladder.map((r) => r.name).join("/")}`,
  );

  let stopping: Promise<void> | undefined;
  return {
    config,
    metrics,
    registry,
    heartbeat: () => heartbeat.beatNow(),
    stop: () =>
      (stopping ??= (async () => {
        heartbeat.stop();
        await ingest.stop();
        await registry.endAll("origin shutting down");
        killAllTranscodersSync();
        await new Promise<void>((resolve) => {
          http.close(() => resolve());
          http.closeAllConnections();
        });
      })()),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const origin = await startOrigin(loadOriginConfig());
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    origin.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error("origin: shutdown failed", error);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
  exitWithParent(shutdown);
}
