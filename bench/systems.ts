/**
 * Brings up the two systems side by side and one source feeding both:
 *   ours: scripts/stack.ts (D1 migrations, wrangler dev, origin) on spare
 *         ports, a stream created through the API; viewers use the edge.
 *   peer: nginx-rtmp + two proxy_cache tiers (bench/peer), fed by the same
 *         ladder command our origin runs; viewers use the child tier.
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import HLS from "hls-parser";
import type { MasterPlaylist, MediaPlaylist } from "hls-parser/types.js";
import { parseLadder } from "../origin/config.js";
import { resolveFfmpeg } from "../origin/ffmpeg.js";
import type { RenditionSpec } from "../origin/packager/stream-packager.js";
import { ROOT, startStack, type RunningStack } from "../scripts/stack.js";
import { onCleanup, spawnTracked, type Tracked } from "./lib/procs.js";
import { oursOriginDelta, parsePrometheus, peerOriginCounts, type OriginCounts } from "./lib/origin-counts.js";
import type { BenchOptions } from "./options.js";
import { buildPeerLadderArgs, peerVariantSuffix } from "./peer/ladder.js";
import { startPeer, type RunningPeer } from "./peer/nginx.js";
import { startBenchSource, type BenchSource } from "./source.js";
import type { StackChildConfig, StackChildReady } from "./stack-child.js";

export type SystemKey = "ours" | "peer";

export interface BenchSystem {
  key: SystemKey;
  label: string;
  /** Master playlist through the outermost tier (what viewers use). */
  masterUrl: string;
  /** Ours: the product's watch page for the stream (add `?sync=0` for the controller off). */
  watchUrl?: string;
  /** Ours: PART_DURATION_MS given to the origin (null: its default). */
  partMs: number | null;
  /** Ours: what the media playlist advertises, read once playable. */
  lowLatency?: LowLatencyInfo | null;
  /** Marks the start of a counting window. */
  originMark(): Promise<unknown>;
  /** Origin requests since `mark`. */
  originSince(mark: unknown): Promise<OriginCounts>;
}

export interface Systems {
  ours: BenchSystem;
  peer?: BenchSystem;
  list: BenchSystem[];
  source: BenchSource;
  ladder: RenditionSpec[];
  stack: RunningStack;
  peerRunning?: RunningPeer;
  /** Stops the source and the peer's ladder (the stack and nginx keep serving their caches). */
  stopMedia(): Promise<void>;
  stopAll(): Promise<void>;
}

const PEER_STREAM = "bench";

export interface Ports {
  edge: number;
  origin: number;
  rtmp: number;
  peerRtmp: number;
  peerOrigin: number;
  peerMother: number;
  peerChild: number;
  /** 0: any free port (the page server's URL is read back). */
  page: number;
}

/**
 * Below Linux's ephemeral range (32768-60999): a listener there can collide
 * with the local port of some outgoing connection on a busy machine.
 */
export function benchPorts(offset: number): Ports {
  return {
    edge: 27787 + offset,
    origin: 27080 + offset,
    rtmp: 27935 + offset,
    peerRtmp: 27936 + offset,
    peerOrigin: 27180 + offset,
    peerMother: 27181 + offset,
    peerChild: 27182 + offset,
    page: 0,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function getText(url: string): Promise<{ status: number; text: string }> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    return { status: response.status, text: await response.text() };
  } catch {
    return { status: 0, text: "" };
  }
}

/** Waits until every variant of the master lists at least `minSegments` segments. */
export async function waitPlayable(masterUrl: string, minSegments: number, timeoutMs: number, label: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    const master = await getText(masterUrl);
    if (master.status === 200) {
      const parsed = HLS.parse(master.text) as MasterPlaylist;
      const counts = await Promise.all(
        parsed.variants.map(async (v) => {
          const media = await getText(new URL(v.uri, masterUrl).href);
          // complete segments only: the parser models the LL-HLS open segment as one without a URI
          return media.status === 200 ? (HLS.parse(media.text) as MediaPlaylist).segments.filter((s) => s.uri).length : 0;
        }),
      );
      last = `variants: ${counts.join(", ")} segments`;
      if (counts.length > 0 && counts.every((c) => c >= minSegments)) return;
    } else last = `master ${master.status}`;
    await sleep(500);
  }
  throw new Error(`${label} not playable within ${timeoutMs} ms (${last})`);
}

interface OursStack {
  system: BenchSystem;
  stack: RunningStack;
  ingestUrl: string;
  stop(): Promise<void>;
}

/** One of our stacks (wrangler dev + origin) with a stream created through the API. */
async function startOurs(
  options: BenchOptions,
  ports: Ports,
  partMs: number | null,
  label: string,
  log: (m: string) => void,
): Promise<OursStack> {
  const stateDir = mkdtempSync(join(tmpdir(), "edge-hls-bench-"));
  onCleanup("bench state dir", () => rmSync(stateDir, { recursive: true, force: true }));
  log(
    `starting our stack${partMs ? ` with PART_DURATION_MS=${partMs}` : ""} (edge :${ports.edge}, origin :${ports.origin}, rtmp :${ports.rtmp}) …`,
  );
  const stack = await startStack({
    edgePort: ports.edge,
    originHttpPort: ports.origin,
    rtmpPort: ports.rtmp,
    stateDir,
    ladder: options.ladder,
    reconnectGraceMs: 15_000,
    originEnv: {
      X264_PRESET: options.preset,
      ORIGIN_BIND: "127.0.0.1",
      FRAME_RATE: String(options.frameRate),
      ...(partMs ? { PART_DURATION_MS: String(partMs) } : {}),
    },
    quiet: true,
    log: () => {},
    // the origin in a process of its own: in this one it would share the event loop with up to
    // 1,000 simulated viewers and answer the mother late (504 origin_timeout under load)
    supervised: true,
  });
  const stop = onCleanup("stack", () => stack.stop());
  // the supervised origin answers /healthz before its first heartbeat has put it in the Worker's
  // pool: until then creating a stream is a 503 no_available_server, so ask again for a while
  let created: Response;
  for (let attempt = 1; ; attempt++) {
    created = await fetch(`${stack.edgeUrl}/api/streams`, {
      method: "POST",
      headers: { authorization: `Bearer ${stack.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ title: "bench" }),
    });
    if (created.status !== 503 || attempt >= 60) break;
    await created.body?.cancel();
    await sleep(500);
  }
  if (created.status !== 201) throw new Error(`create stream: ${created.status} ${await created.text()}`);
  const stream = (await created.json()) as { streamId: string; ingestUrl: string };
  const metrics = async () => parsePrometheus(await (await fetch(`${stack.originUrl}/metrics`)).text());
  const system: BenchSystem = {
    key: "ours",
    label,
    masterUrl: `${stack.edgeUrl}/live/${stream.streamId}/master.m3u8`,
    watchUrl: `${stack.edgeUrl}/watch/${stream.streamId}`,
    partMs,
    originMark: metrics,
    originSince: async (mark) => oursOriginDelta(mark as Map<string, number>, await metrics()),
  };
  return { system, stack, ingestUrl: stream.ingestUrl, stop };
}

/** LL-HLS parameters a media playlist advertises (null fields when it has none). */
export interface LowLatencyInfo {
  partTarget: number | null;
  partHoldBack: number | null;
  holdBack: number | null;
  targetDuration: number;
}

export async function lowLatencyInfo(masterUrl: string): Promise<LowLatencyInfo | null> {
  const master = await getText(masterUrl);
  if (master.status !== 200) return null;
  const variant = (HLS.parse(master.text) as MasterPlaylist).variants[0];
  if (!variant) return null;
  const media = await getText(new URL(variant.uri, masterUrl).href);
  if (media.status !== 200) return null;
  const playlist = HLS.parse(media.text) as MediaPlaylist;
  return {
    partTarget: playlist.partTargetDuration ?? null,
    partHoldBack: playlist.lowLatencyCompatibility?.partHoldBack ?? null,
    holdBack: playlist.lowLatencyCompatibility?.holdBack ?? null,
    targetDuration: playlist.targetDuration,
  };
}

export async function startSystems(options: BenchOptions, withPeer: boolean, log: (m: string) => void): Promise<Systems> {
  const ports = benchPorts(options.portOffset);
  const ladder = parseLadder(options.ladder, options.frameRate);
  const oursStack = await startOurs(options, ports, options.partMs, "ours (edge Worker → HlsMother DO → origin)", log);
  const { stack } = oursStack;
  const ours = oursStack.system;
  const stopStack = oursStack.stop;

  let peerRunning: RunningPeer | undefined;
  let peer: BenchSystem | undefined;
  if (withPeer) {
    const dir = mkdtempSync(join(tmpdir(), "edge-hls-bench-nginx-"));
    chmodSync(dir, 0o755); // nginx's workers (nobody) serve and write below it
    onCleanup("nginx dir", () => rmSync(dir, { recursive: true, force: true }));
    log(
      `starting the peer nginx (rtmp :${ports.peerRtmp}, origin :${ports.peerOrigin}, mother :${ports.peerMother}, child :${ports.peerChild}) …`,
    );
    peerRunning = await startPeer({
      dir,
      ports: { rtmp: ports.peerRtmp, origin: ports.peerOrigin, mother: ports.peerMother, child: ports.peerChild },
      variants: ladder.map((r) => ({
        suffix: peerVariantSuffix(r),
        bandwidth: Math.round((r.videoBitrate * 1.1 + r.audioBitrate) * 1.05),
        width: r.width,
        height: r.height,
        frameRate: r.frameRate,
      })),
      mediaPlaylistTtl: options.peerPlaylistTtl,
      staleWhileUpdating: options.peerStaleUpdating,
    });
    const running = peerRunning;
    peer = {
      key: "peer",
      label: "peer (nginx child → nginx mother → nginx-rtmp)",
      masterUrl: `${running.childUrl}/hls/${PEER_STREAM}.m3u8`,
      partMs: null,
      originMark: async () => running.originLogMark(),
      originSince: async (mark) => peerOriginCounts(running.originLogSince(mark as number)),
    };
  }

  const outputs = [oursStack.ingestUrl];
  if (peerRunning) outputs.push(`${peerRunning.rtmpUrl}/src/${PEER_STREAM}`);
  log(
    `publishing one ${options.sourceWidth}x${options.sourceHeight}@${options.frameRate} test source to ${outputs.length === 2 ? "both systems" : "our system"} …`,
  );
  const source = startBenchSource({
    outputs,
    width: options.sourceWidth,
    height: options.sourceHeight,
    frameRate: options.frameRate,
    videoBitrate: "1500k",
    maxSeconds: 30 * 60,
  });

  let peerLadder: Tracked | undefined;
  if (peerRunning) {
    await sleep(1_000);
    const args = buildPeerLadderArgs({
      ladder,
      frameRate: options.frameRate,
      preset: options.preset,
      inputUrl: `${peerRunning.rtmpUrl}/src/${PEER_STREAM}`,
      outputBase: `${peerRunning.rtmpUrl}/hls/${PEER_STREAM}`,
    });
    peerLadder = spawnTracked("peer ladder ffmpeg", resolveFfmpeg(), args);
  }

  const list = [ours, ...(peer ? [peer] : [])];
  try {
    await Promise.all(list.map((s) => waitPlayable(s.masterUrl, 3, 60_000, s.label)));
  } catch (error) {
    const tail = [`source: ${source.process.stderrTail()}`, peerLadder ? `peer ladder: ${peerLadder.stderrTail()}` : ""].join("\n");
    throw new Error(`${(error as Error).message}\n${tail}`);
  }
  ours.lowLatency = await lowLatencyInfo(ours.masterUrl);
  log(`${list.length === 2 ? "both systems are" : "our system is"} playable`);

  const stopMedia = async () => {
    await source.stop();
    await peerLadder?.stop();
  };
  return {
    ours,
    peer,
    list,
    source,
    ladder,
    stack,
    peerRunning,
    stopMedia,
    stopAll: async () => {
      await stopMedia();
      await peerRunning?.stop();
      await stopStack();
    },
  };
}

/** Our stacks side by side, one per part duration, fed by one source (the part-duration comparison). */
export interface PartComparison {
  systems: BenchSystem[];
  source: BenchSource;
  stopAll(): Promise<void>;
}

/** Starts bench/stack-child.ts and waits for its ready line. */
async function startChildStack(
  options: BenchOptions,
  ports: Ports,
  partMs: number | null,
  log: (m: string) => void,
): Promise<{ system: BenchSystem; ingestUrl: string; stop(): Promise<void> }> {
  const config: StackChildConfig = {
    edgePort: ports.edge,
    originHttpPort: ports.origin,
    rtmpPort: ports.rtmp,
    ladder: options.ladder,
    originEnv: {
      X264_PRESET: options.preset,
      ORIGIN_BIND: "127.0.0.1",
      FRAME_RATE: String(options.frameRate),
      ...(partMs ? { PART_DURATION_MS: String(partMs) } : {}),
    },
  };
  log(
    `starting our stack${partMs ? ` with PART_DURATION_MS=${partMs}` : ""} in its own process (edge :${ports.edge}, origin :${ports.origin}, rtmp :${ports.rtmp}) …`,
  );
  const child = spawnTracked(
    `stack (part ${partMs ?? "default"})`,
    process.execPath,
    ["--import", "tsx", join(ROOT, "bench", "stack-child.ts"), JSON.stringify(config)],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      stopGraceMs: 30_000,
    },
  );
  const ready = await new Promise<StackChildReady>((resolve, reject) => {
    let buffer = "";
    const timer = setTimeout(
      () => reject(new Error(`stack child (part ${partMs ?? "default"}) not ready within 120 s: ${child.stderrTail()}`)),
      120_000,
    );
    child.child.stdout!.on("data", (d: Buffer) => {
      buffer += d.toString();
      const line = buffer.split("\n").find((l) => l.startsWith('{"ready"'));
      if (line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { ready: StackChildReady }).ready);
      }
    });
    void child.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`stack child (part ${partMs ?? "default"}) exited with ${code}: ${child.stderrTail()}`));
    });
  });
  const metrics = async () => parsePrometheus(await (await fetch(`${ready.originUrl}/metrics`)).text());
  return {
    system: {
      key: "ours",
      label: `ours, ${partMs ? `PART_DURATION_MS=${partMs}` : "default part"}`,
      masterUrl: ready.masterUrl,
      watchUrl: ready.watchUrl,
      partMs,
      originMark: metrics,
      originSince: async (mark) => oursOriginDelta(mark as Map<string, number>, await metrics()),
    },
    ingestUrl: ready.ingestUrl,
    stop: child.stop,
  };
}

/**
 * Starts one of our stacks per entry of `partMs` (null: the origin's default),
 * each in its own process (node-media-server's state is per process) on ports
 * below the main run's (26xxx), publishes one source to all of them and waits
 * until every one is playable.
 */
export async function startPartComparison(
  options: BenchOptions,
  partMs: Array<number | null>,
  log: (m: string) => void,
): Promise<PartComparison> {
  let source: BenchSource | undefined;
  const started: Array<Awaited<ReturnType<typeof startChildStack>>> = [];
  const stopAll = async () => {
    await source?.stop();
    await Promise.all(started.map((s) => s.stop()));
  };
  try {
    // 26xxx: below the main run's ports and clear of the e2e suites' 18xxx/28xxx/38xxx
    const children = await Promise.allSettled(
      partMs.map((ms, i) => startChildStack(options, benchPorts(options.portOffset - 1000 - 50 * i), ms, log)),
    );
    for (const c of children) if (c.status === "fulfilled") started.push(c.value);
    const failed = children.find((c) => c.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
    log(`publishing one test source to ${started.length} stacks (part comparison) …`);
    source = startBenchSource({
      outputs: started.map((s) => s.ingestUrl),
      width: options.sourceWidth,
      height: options.sourceHeight,
      frameRate: options.frameRate,
      videoBitrate: "1500k",
      maxSeconds: 10 * 60,
    });
    await Promise.all(started.map((s) => waitPlayable(s.system.masterUrl, 3, 60_000, s.system.label)));
    for (const s of started) s.system.lowLatency = await lowLatencyInfo(s.system.masterUrl);
    return { systems: started.map((s) => s.system), source, stopAll };
  } catch (error) {
    const tail = source ? `\nsource: ${source.process.stderrTail()}` : "";
    await stopAll();
    throw new Error(`${(error as Error).message}${tail}`);
  }
}

export { ROOT };
