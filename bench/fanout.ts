/**
 * Event fan-out benchmark: time from a provider change to its
 * receipt on every socket, for
 *
 *   ours      N `ws` sockets on `/ws/events/<id>` through the local stack
 *             (wrangler dev: Worker, D1, the EventRoom Durable Object that
 *             polls and logs, and its fan-out shards (EventShard DOs) that
 *             hold the sockets, EVENT_SHARD_SOCKETS each: the Worker places
 *             every socket on one), and
 *   baseline  N `ws` sockets on a plain Node `ws` broadcast server that polls
 *             the same provider simulator at the same period, diffs with the
 *             same module and sends one serialized frame to every socket
 *             (no persistence, no auth, no runtime in between),
 *
 * in the same run, fed by the same simulator (scripts/provider-simulator.ts).
 *
 * Each round makes one change at the simulator, applied when the next poll
 * request arrives; each system is measured from the arrival of its own first
 * poll that saw the change (the instant the provider's change became visible
 * to it), so no share of the polling period counts in either figure. The
 * baseline polls half a period after the EventRoom, so the two fan-outs do
 * not overlap in the one client process. The frames' server `ts` also gives
 * publish → receipt. As a diagnostic, the same rounds are then run on N
 * sockets connected straight to the user Worker's workerd socket (without
 * wrangler dev's proxy Worker), when /proc lets us find it.
 * Loopback only; every wait is bounded.
 *
 *   npx tsx bench/fanout.ts [--sockets 1000] [--updates 20] [--shard-sockets 1000] [--via auto|proxy|direct] [--no-direct] [--smoke] [--port-offset N]
 *
 * --shard-sockets sets EVENT_SHARD_SOCKETS for the run (default: the
 * product's, 1000; 0 puts every socket on the EventRoom itself, as before
 * the shards); --no-direct skips the diagnostic rounds without the proxy.
 * --via: our sockets through wrangler dev's proxy or straight to the user
 * Worker's workerd socket; auto (default) takes the proxy unless it would run
 * out of file descriptors (about 6 per WebSocket: 5,000 sockets exceed a
 * 20,000 limit), and says so in the results.
 * Writes bench/results/fanout.json and bench/results/fanout.md
 * (--smoke: bench/results/smoke-fanout.*).
 */
import { fork } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import WebSocket, { WebSocketServer } from "ws";
import { signRequest } from "../common/signing.js";
import { startStack, type RunningStack } from "../scripts/stack.js";
import { diffEvents } from "../workers/events/diff.js";
import { parseFeedEvent } from "../workers/events/json-feed-provider.js";
import type { StandardEvent } from "../workers/events/standard-event.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export interface FanoutOptions {
  sockets: number;
  updates: number;
  smoke?: boolean;
  /** provider poll period of both systems, ms (default 1000, the product's EVENT_POLL_MS) */
  pollMs?: number;
  edgePort?: number;
  originHttpPort?: number;
  rtmpPort?: number;
  providerPort?: number;
  baselinePort?: number;
  /** EVENT_SHARD_SOCKETS for the run (default: the product's) */
  shardSockets?: number;
  /** run the diagnostic rounds without wrangler dev's proxy (default true) */
  direct?: boolean;
  /**
   * How our sockets reach the Worker: through wrangler dev's proxy, or
   * straight to the user Worker's workerd socket. "auto" (default): the
   * proxy unless it would run out of file descriptors (it holds about
   * PROXY_FDS_PER_SOCKET per WebSocket, and shares this process's limit).
   */
  via?: "proxy" | "direct" | "auto";
  /** write bench/results/fanout.{json,md} (default true) */
  write?: boolean;
  log?: (message: string) => void;
}

export interface LatencyStats {
  n: number;
  min: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export interface SystemResult {
  name: string;
  /** provider change → receipt, every socket × every update */
  changeToReceipt: LatencyStats;
  /** server frame ts → receipt */
  publishToReceipt: LatencyStats;
  /** (socket, update) pairs never received within the round's timeout */
  missed: number;
  /** per update: provider change → the LAST socket's receipt (time to reach everyone), over the updates */
  lastSocketPerUpdate: LatencyStats;
  /** every socket saw the updates in the same order */
  sameOrder: boolean;
  /** every socket got byte-identical update frames (same seq, ts, changes) */
  sameFrames: boolean;
  connectMs: number;
  /** sockets per fan-out shard, from each socket's hello (ours only) */
  shards?: Record<string, number>;
  /** sockets that closed or failed during the rounds, by reason */
  lost: Record<string, number>;
}

export interface FanoutRow {
  group: string;
  measure: string;
  unit: string;
  ours: number | string | null;
  peer: number | string | null;
  better: "lower" | "higher" | "";
  note?: string;
}

export interface FanoutResult {
  sockets: number;
  updates: number;
  pollMs: number;
  smoke: boolean;
  ours: SystemResult;
  baseline: SystemResult;
  /** diagnostic: the same EventRoom reached on the user Worker's workerd socket, without wrangler dev's proxy */
  oursDirect?: SystemResult;
  /** EVENT_SHARD_SOCKETS of the run */
  shardSockets: number;
  /** how our sockets reached the Worker in the main rounds */
  via: "proxy" | "direct";
  /** why, when it was not the proxy */
  viaNote?: string;
  /** the room's view of its shards after the rounds (sockets each reported, seq each acknowledged) */
  roomShards?: { index: number; sockets: number; acked: number }[];
  /** ours p99 / baseline p99 (change → receipt) */
  p99Ratio: number;
  /** rows for bench/run.ts's table: ours = EventRoom, peer = plain Node ws */
  rows: FanoutRow[];
  markdown: string;
  /** 1/5/15-min load averages at the start and at the end of the run (other work adds noise) */
  machine: { cpus: number; model: string; node: string; loadStart: number[]; loadEnd: number[] };
  startedAt: string;
  durationMs: number;
}

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round1 = (x: number) => Math.round(x * 10) / 10;

export function latencyStats(values: number[]): LatencyStats {
  if (values.length === 0) return { n: 0, min: NaN, p50: NaN, p95: NaN, p99: NaN, max: NaN, mean: NaN };
  const sorted = [...values].sort((a, b) => a - b);
  // nearest-rank percentiles
  const pick = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
  return {
    n: sorted.length,
    min: round1(sorted[0]!),
    p50: round1(pick(50)),
    p95: round1(pick(95)),
    p99: round1(pick(99)),
    max: round1(sorted[sorted.length - 1]!),
    mean: round1(sorted.reduce((a, b) => a + b, 0) / sorted.length),
  };
}

/**
 * The user Worker's own workerd socket behind `wrangler dev` (bench/lib/workerd-direct.ts
 * lists candidates through /proc): the one whose /healthz answers like ours.
 */
/** File descriptors wrangler dev's proxy workerd held per proxied WebSocket (measured: 15,148 at 2,500 sockets). */
const PROXY_FDS_PER_SOCKET = 6.1;

/** This process's soft limit on open files (the stack's processes inherit it); undefined if unknown. */
function openFilesLimit(): number | undefined {
  try {
    const line = readFileSync("/proc/self/limits", "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === undefined || soft === "unlimited" ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}

async function findUserWorkerPort(edgePort: number): Promise<number | undefined> {
  let candidates: number[] = [];
  try {
    const { userWorkerCandidates } = await import("./lib/workerd-direct.js");
    candidates = userWorkerCandidates(edgePort);
  } catch {
    return undefined;
  }
  for (const port of candidates) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2_000) });
      if (res.ok && JSON.stringify(await res.json()) === '{"ok":true}') return port;
    } catch {
      // not this one
    }
  }
  return undefined;
}

/** A measuring client: records when each round's update arrived. */
class Probe {
  /** round → [receivedAt, server ts] */
  readonly got = new Map<string, [number, number]>();
  readonly order: string[] = [];
  /** round → the frame's text as received */
  readonly texts = new Map<string, string>();
  /** the fan-out shard its hello names (undefined: the room itself, or the baseline) */
  shard: number | undefined;
  /** the socket closed or failed after it opened (code, or the error's message) */
  lost: string | undefined;
  private waiters = new Map<string, () => void>();

  constructor(readonly ws: WebSocket) {
    // after the open: a reset or a close is recorded (and counted as missed rounds), never thrown
    ws.on("error", (error) => {
      this.lost ??= `error ${error.message}`;
    });
    ws.on("close", (code, reason) => {
      this.lost ??= `close ${code}${reason.length > 0 ? ` ${String(reason)}` : ""}`;
    });
    ws.on("message", (data) => {
      const at = now();
      const text = String(data);
      const frame = JSON.parse(text) as { type: string; ts: number; shard?: number; changes?: { details?: { benchRound?: string } } };
      if (frame.type === "hello") this.shard = frame.shard;
      if (frame.type !== "event_update") return;
      const round = frame.changes?.details?.benchRound;
      if (typeof round !== "string" || this.got.has(round)) return;
      this.got.set(round, [at, frame.ts]);
      this.texts.set(round, text);
      this.order.push(round);
      this.waiters.get(round)?.();
    });
  }

  wait(round: string, timeoutMs: number): Promise<boolean> {
    if (this.got.has(round)) return Promise.resolve(true);
    return new Promise((resolveWait) => {
      const timer = setTimeout(() => {
        this.waiters.delete(round);
        resolveWait(false);
      }, timeoutMs);
      this.waiters.set(round, () => {
        clearTimeout(timer);
        this.waiters.delete(round);
        resolveWait(true);
      });
    });
  }
}

function connectProbe(url: string, headers: Record<string, string> = {}): Promise<Probe> {
  return new Promise((resolveOpen, reject) => {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false });
    const probe = new Probe(ws);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`connect timeout: ${url.replace(/token=[^&]+/, "token=…")}`));
    }, 20_000);
    ws.once("open", () => {
      clearTimeout(timer);
      resolveOpen(probe);
    });
    ws.once("unexpected-response", (_req, res) => {
      clearTimeout(timer);
      reject(new Error(`upgrade refused: ${res.statusCode}`));
    });
    ws.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

async function inBatches<T>(count: number, batch: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < count; i += batch) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(batch, count - i) }, (_, k) => make(i + k)))));
  }
  return out;
}

/**
 * The plain baseline: polls the simulator like an EventRoom does (same
 * period, same validation and diff), broadcasts one serialized frame to every
 * socket with `ws`.
 */
async function startBaseline(
  port: number,
  providerUrl: string,
  eventId: string,
  pollMs: number,
  nextPollAt: (now: number, started: number) => number | Promise<number>,
) {
  const server = new WebSocketServer({ host: "127.0.0.1", port, perMessageDeflate: false });
  await new Promise<void>((r, reject) => {
    server.once("listening", () => r());
    server.once("error", reject);
  });
  let state: StandardEvent | null = null;
  let seq = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  server.on("connection", (ws) => {
    ws.send(JSON.stringify({ type: "event_snapshot", seq, ts: Date.now(), eventId, event: state }));
  });
  const poll = async () => {
    const started = Date.now();
    try {
      const res = await fetch(`${providerUrl}/events/${encodeURIComponent(eventId)}`, {
        headers: { "x-poller": "baseline" },
        signal: AbortSignal.timeout(2_000),
      });
      const next = parseFeedEvent(await res.json(), "json-feed");
      const changes = diffEvents(state, next);
      if (changes !== null) {
        state = next;
        const text = JSON.stringify({ type: "event_update", seq: ++seq, ts: Date.now(), eventId, changes });
        for (const client of server.clients) if (client.readyState === WebSocket.OPEN) client.send(text);
      }
    } catch {
      // keep the last state, like the room
    }
    if (stopped) return;
    const at = await nextPollAt(Date.now(), started);
    if (!stopped) timer = setTimeout(poll, Math.max(0, at - Date.now()));
  };
  await poll();
  return {
    url: `ws://127.0.0.1:${port}/`,
    close: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      for (const client of server.clients) client.terminate();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

interface BaselineConfig {
  port: number;
  providerUrl: string;
  eventId: string;
  pollMs: number;
}

/**
 * The plain baseline in a Node process of its own, as workerd is its own
 * process: its 5,000 sends do not share an event loop with the measuring
 * clients. It asks this process when to poll next (IPC), so its polls stay
 * half a period after the EventRoom's.
 */
async function startBaselineProcess(config: BaselineConfig, nextPollAt: (now: number, started: number) => number) {
  const child = fork(fileURLToPath(import.meta.url), ["--baseline-server", JSON.stringify(config)], {
    execArgv: process.execArgv,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.on("message", (message: { type: string; id?: number; now?: number; started?: number }) => {
    if (message.type === "next") child.send({ type: "next", id: message.id, at: nextPollAt(message.now!, message.started!) });
  });
  await new Promise<void>((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error("the plain ws baseline process did not start")), 30_000);
    child.on("message", (message: { type: string }) => {
      if (message.type === "ready") {
        clearTimeout(timer);
        resolveReady();
      }
    });
    child.once("exit", (code) => reject(new Error(`the plain ws baseline process exited (${code})`)));
  });
  return {
    url: `ws://127.0.0.1:${config.port}/`,
    close: async () => {
      if (child.connected) child.send({ type: "stop" });
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Child side of startBaselineProcess. */
async function baselineServerMain(config: BaselineConfig) {
  const waiting = new Map<number, (at: number) => void>();
  let ids = 0;
  let server: Awaited<ReturnType<typeof startBaseline>> | undefined;
  // listening before the first poll: it already asks when to poll next
  process.on("message", async (message: { type: string; id?: number; at?: number }) => {
    if (message.type === "next") {
      waiting.get(message.id!)?.(message.at!);
      waiting.delete(message.id!);
    } else if (message.type === "stop") {
      await server?.close();
      process.exit(0);
    }
  });
  process.on("disconnect", () => process.exit(0));
  server = await startBaseline(config.port, config.providerUrl, config.eventId, config.pollMs, (now, started) => {
    const id = ++ids;
    return new Promise<number>((resolveAt) => {
      waiting.set(id, resolveAt);
      process.send!({ type: "next", id, now, started });
    });
  });
  process.send!({ type: "ready" });
}

function shardSummary(shards: Record<string, number> | undefined): string {
  if (shards === undefined) return "no shard named in hello";
  const entries = Object.entries(shards).sort((a, b) => Number(a[0]) - Number(b[0]));
  if (entries.length === 1 && entries[0]![0] === "room") return "every socket on the EventRoom itself";
  return `${entries.length} shard${entries.length === 1 ? "" : "s"} (${entries.map(([k, v]) => `#${k}: ${v}`).join(", ")})`;
}

function lostSummary(lost: Record<string, number>): string {
  const entries = Object.entries(lost);
  return entries.length === 0 ? "none" : entries.map(([why, n]) => `${n} (${why})`).join(", ");
}

function renderMarkdown(result: Omit<FanoutResult, "markdown" | "rows">): string {
  const line = (label: string, s: LatencyStats, missed: number | string) =>
    `| ${label} | ${s.n} | ${s.p50} | ${s.p95} | ${s.p99} | ${s.max} | ${s.mean} | ${missed} |`;
  const o = result.ours;
  const b = result.baseline;
  const d = result.oursDirect;
  const where = result.via === "proxy" ? "wrangler dev" : "user workerd socket, no dev proxy";
  const ours = result.shardSockets > 0 ? `EventRoom → shards (${where})` : `EventRoom, no shards (${where})`;
  const oursDirect =
    result.shardSockets > 0 ? "EventRoom → shards, no dev proxy (diagnostic)" : "EventRoom, no shards, no dev proxy (diagnostic)";
  const ratio = (x: number) => Math.round((x / b.changeToReceipt.p99) * 100) / 100;
  const verdict = (s: SystemResult) =>
    `p99 ${s.changeToReceipt.p99} ms (${s.changeToReceipt.p99 <= 100 ? "≤" : "**>**"} 100 ms), ${ratio(s.changeToReceipt.p99)}× plain ws (${ratio(s.changeToReceipt.p99) <= 1.5 ? "≤" : "**>**"} 1.5×), missed ${s.missed}, order ${s.sameOrder ? "kept" : "**NOT kept**"}, identical frames on every socket ${s.sameFrames ? "yes" : "**NO**"}`;
  return [
    `### Event fan-out: ${result.sockets} sockets × ${result.updates} updates (poll ${result.pollMs} ms, EVENT_SHARD_SOCKETS ${result.shardSockets})`,
    "",
    "| system · interval | samples | p50 ms | p95 ms | p99 ms | max ms | mean ms | missed |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    line(`${ours} · provider change → receipt`, o.changeToReceipt, o.missed),
    line("plain Node `ws` · provider change → receipt", b.changeToReceipt, b.missed),
    ...(d ? [line(`${oursDirect} · provider change → receipt`, d.changeToReceipt, d.missed)] : []),
    line(`${ours} · frame ts → receipt`, o.publishToReceipt, "-"),
    line("plain Node `ws` · frame ts → receipt", b.publishToReceipt, "-"),
    ...(d ? [line(`${oursDirect} · frame ts → receipt`, d.publishToReceipt, "-")] : []),
    line(`${ours} · change → last socket, per update`, o.lastSocketPerUpdate, "-"),
    line("plain Node `ws` · change → last socket, per update", b.lastSocketPerUpdate, "-"),
    ...(d ? [line(`${oursDirect} · change → last socket, per update`, d.lastSocketPerUpdate, "-")] : []),
    "",
    ...(result.viaNote !== undefined ? [`- Our sockets: ${result.viaNote}.`] : []),
    `- Goal: p99 ≤ 100 ms and ≤ 1.5× the plain baseline, 0 missed, order kept. ${result.via === "proxy" ? "Through wrangler dev" : "Straight to workerd"}: ${verdict(o)}.${
      d
        ? ` Without wrangler dev's proxy Worker (sockets on the user Worker's workerd socket, measured after the main rounds): ${verdict(d)}.`
        : ""
    } Plain ws: missed ${b.missed}, order ${b.sameOrder ? "kept" : "NOT kept"}.`,
    `- Sockets per shard (from each socket's hello): ${result.via === "proxy" ? "through wrangler dev" : "straight to workerd"} ${shardSummary(o.shards)}${d ? `; without the proxy ${shardSummary(d.shards)}` : ""}.${
      result.roomShards
        ? ` The room's registry after the rounds: ${result.roomShards.map((r) => `#${r.index} ${r.sockets} sockets, acked seq ${r.acked}`).join("; ")}.`
        : ""
    }`,
    `- Sockets lost during the rounds: ours ${lostSummary(o.lost)}${d ? `, without the proxy ${lostSummary(d.lost)}` : ""}, plain ws ${lostSummary(b.lost)}.`,
    `- Connect ${result.sockets} sockets: ours ${o.connectMs} ms${d ? ` (without the proxy ${d.connectMs} ms)` : ""}, plain ws ${b.connectMs} ms.`,
    `- "Provider change" = arrival at the simulator of the system's first poll that saw the change (no share of the ${result.pollMs} ms polling period counts for either system); receipt = the client's 'message' event. One Node process runs all ${2 * result.sockets} measuring clients; the plain ws server runs in a Node process of its own (as workerd is its own); the baseline polls half a period after the EventRoom so the two fan-outs do not overlap. workerd (the room, every shard, the Worker), wrangler dev's proxy, the baseline and the clients share the same ${result.machine.cpus} cores.`,
    `- Machine: ${result.machine.cpus} × ${result.machine.model}, Node ${result.machine.node}, load ${result.machine.loadStart.map((l) => l.toFixed(2)).join(" ")} → ${result.machine.loadEnd.map((l) => l.toFixed(2)).join(" ")}; ${result.startedAt}, ${Math.round(result.durationMs / 1000)} s.`,
    "",
  ].join("\n");
}

export async function runFanout(opts: FanoutOptions): Promise<FanoutResult> {
  const started = Date.now();
  const loadStart = loadavg();
  const log = opts.log ?? ((m: string) => console.error(`[fanout] ${m}`));
  const smoke = opts.smoke ?? false;
  const sockets = Math.max(1, Math.floor(smoke ? Math.min(opts.sockets, 50) : opts.sockets));
  const updates = Math.max(1, Math.floor(smoke ? Math.min(opts.updates, 3) : opts.updates));
  const pollMs = opts.pollMs ?? 1_000;
  const roundTimeoutMs = pollMs + 10_000;
  const stateDir = mkdtempSync(join(tmpdir(), "edge-hls-fanout-"));
  let stack: RunningStack | undefined;
  let baseline: Awaited<ReturnType<typeof startBaselineProcess>> | undefined;
  const probes: Probe[] = [];
  try {
    log(`starting the stack (wrangler dev, origin, provider simulator)`);
    stack = await startStack({
      edgePort: opts.edgePort ?? 23787,
      originHttpPort: opts.originHttpPort ?? 23080,
      rtmpPort: opts.rtmpPort ?? 23935,
      stateDir,
      ladder: "tiny",
      originEnv: { X264_PRESET: "ultrafast", ORIGIN_CAPACITY: "4" },
      providerSimulator: { port: opts.providerPort ?? 23090 },
      // thousands of sockets mint anonymous sessions from 127.0.0.1: lift the per-address limit
      workerVars: {
        EVENT_POLL_MS: String(pollMs),
        ANON_SESSIONS_PER_MINUTE: "0",
        ...(opts.shardSockets !== undefined ? { EVENT_SHARD_SOCKETS: String(opts.shardSockets) } : {}),
      },
      // FANOUT_STACK_LOG=1: the stack's own output (wrangler, origin) for diagnosis
      quiet: process.env.FANOUT_STACK_LOG !== "1",
      log: process.env.FANOUT_STACK_LOG === "1" ? (m: string) => console.error(m) : () => {},
    });
    const simulator = stack.simulator!;
    const eventId = `bench-fanout-${Date.now().toString(36)}`;
    simulator.control({
      create: {
        id: eventId,
        sport: "basketball",
        status: "in_progress",
        startTime: new Date(Date.now() - 10 * 60_000).toISOString(),
        home: { name: "Harbor City Herons", abbr: "HCH", score: 50 },
        away: { name: "Summit Peaks", abbr: "SUM", score: 48 },
        period: 3,
        clock: "08:00",
        details: { benchRound: "none" },
        auto: false,
      },
    });
    await stack.runCron();

    // the baseline polls half a period after the EventRoom's polls
    baseline = await startBaselineProcess(
      { port: opts.baselinePort ?? 23091, providerUrl: stack.providerUrl!, eventId, pollMs },
      (t, started) => {
        const edgePoll = simulator.lastPollAt(eventId, "edge");
        if (edgePoll === undefined) return started + pollMs;
        let next = edgePoll + pollMs / 2;
        while (next <= t + 5) next += pollMs;
        return Math.min(next, started + 2 * pollMs);
      },
    );

    log(`minting ${sockets} anonymous session tokens`);
    const edgeUrl = stack.edgeUrl;
    const tokens = await inBatches(sockets, 50, async () => {
      // a 5xx under the minting burst is retried (D1 on 2 shared cores); anything else stops the run
      for (let attempt = 1; ; attempt++) {
        const res = await fetch(`${edgeUrl}/api/session/anonymous`, { method: "POST", signal: AbortSignal.timeout(15_000) });
        if (res.status === 201) return ((await res.json()) as { token: string }).token;
        const body = (await res.text()).slice(0, 200);
        if (res.status < 500 || attempt >= 3) throw new Error(`anonymous session: ${res.status} ${body}`);
        log(`anonymous session: ${res.status} ${body}; again`);
        await sleep(500 * attempt);
      }
    });

    // through wrangler dev's proxy, or straight to the user Worker's workerd socket
    let via: "proxy" | "direct" = opts.via === "direct" ? "direct" : "proxy";
    let viaNote: string | undefined;
    const fdLimit = openFilesLimit();
    if ((opts.via ?? "auto") === "auto" && fdLimit !== undefined && sockets * PROXY_FDS_PER_SOCKET + 1_000 > fdLimit) {
      via = "direct";
      viaNote = `wrangler dev's proxy holds about ${PROXY_FDS_PER_SOCKET} file descriptors per WebSocket (15,148 at 2,500 sockets): ${sockets} sockets need about ${Math.round(sockets * PROXY_FDS_PER_SOCKET)}, over this machine's limit of ${fdLimit} (the proxy dies with 'accept: Too many open files'), so our sockets go straight to the user Worker's workerd socket`;
    }
    let wsBase = edgeUrl.replace(/^http/, "ws");
    if (via === "direct") {
      const port = await findUserWorkerPort(opts.edgePort ?? 23787);
      if (port === undefined) throw new Error("the user Worker's workerd socket was not found (needed without the proxy)");
      wsBase = `ws://127.0.0.1:${port}`;
      if (viaNote === undefined) viaNote = "--via direct: our sockets go straight to the user Worker's workerd socket";
    }
    log(
      `connecting ${sockets} sockets to the EventRoom (${via === "proxy" ? "through wrangler dev's proxy" : "on the user workerd socket"}) and ${sockets} to the plain ws server`,
    );
    let t0 = now();
    const ours = await inBatches(sockets, 100, (i) =>
      connectProbe(`${wsBase}/ws/events/${eventId}?token=${encodeURIComponent(tokens[i]!)}`),
    );
    const oursConnectMs = Math.round(now() - t0);
    t0 = now();
    const theirs = await inBatches(sockets, 100, () => connectProbe(baseline!.url));
    const baselineConnectMs = Math.round(now() - t0);
    probes.push(...ours, ...theirs);
    await sleep(1_000);

    type Bucket = { change: number[]; publish: number[]; missed: number; rounds: string[]; lastSocket: number[] };
    const bucket = (): Bucket => ({ change: [], publish: [], missed: 0, rounds: [], lastSocket: [] });
    let score = 50;
    let roundNo = 0;
    /** One change per round; each group measured from its own poller's first sight of it. */
    const runRounds = async (groups: { probes: Probe[]; poller: string; bucket: Bucket }[], count: number, label: string) => {
      for (let k = 1; k <= count; k++) {
        const round = `r${++roundNo}`;
        score += 1;
        simulator.control({ applyOnNextPoll: { id: eventId, poller: "any", set: { home: { score }, details: { benchRound: round } } } });
        const timeout = sleep(roundTimeoutMs).then(() => NaN);
        const seenAt = await Promise.all(groups.map((g) => Promise.race([simulator.whenSeen(eventId, g.poller), timeout])));
        if (seenAt.some(Number.isNaN)) {
          const missing = groups.filter((_, i) => Number.isNaN(seenAt[i])).map((g) => g.poller);
          let stats = "";
          try {
            const path = `/api/internal/events/${eventId}/stats`;
            const res = await fetch(`${edgeUrl}${path}`, { headers: await signRequest(stack!.secret, "GET", path, "") });
            stats = JSON.stringify({ ...((await res.json()) as object), event: undefined });
          } catch (error) {
            stats = String(error);
          }
          throw new Error(
            `round ${round}: ${missing.join(", ")} never polled the change; requests ${JSON.stringify(simulator.requests)}; room ${stats}`,
          );
        }
        const arrived = await Promise.all(groups.map((g) => Promise.all(g.probes.map((p) => p.wait(round, roundTimeoutMs)))));
        groups.forEach((g, gi) => {
          g.bucket.rounds.push(round);
          let last = 0;
          for (const [i, probe] of g.probes.entries()) {
            const got = probe.got.get(round);
            if (!arrived[gi]![i] || got === undefined) {
              g.bucket.missed++;
              continue;
            }
            g.bucket.change.push(got[0] - seenAt[gi]!);
            g.bucket.publish.push(got[0] - got[1]);
            last = Math.max(last, got[0] - seenAt[gi]!);
          }
          g.bucket.lastSocket.push(last);
        });
        await sleep(150);
        if (k % 5 === 0 || k === count) log(`${label}: ${k}/${count} updates`);
      }
    };

    const sameOrder = (group: Probe[], rounds: string[]) =>
      group.every((p) => p.order.filter((r) => rounds.includes(r)).join(",") === rounds.filter((r) => p.got.has(r)).join(","));
    /** every socket that got a round got the same text for it (same seq, ts and changes) */
    const sameFrames = (group: Probe[], rounds: string[]) =>
      rounds.every((r) => {
        const texts = new Set(group.map((p) => p.texts.get(r)).filter((t) => t !== undefined));
        return texts.size <= 1;
      });
    const lostOf = (group: Probe[]) => {
      const counts: Record<string, number> = {};
      for (const p of group) if (p.lost !== undefined) counts[p.lost] = (counts[p.lost] ?? 0) + 1;
      return counts;
    };
    const shardsOf = (group: Probe[]) => {
      const counts: Record<string, number> = {};
      for (const p of group) {
        const key = p.shard === undefined ? "room" : String(p.shard);
        counts[key] = (counts[key] ?? 0) + 1;
      }
      return counts;
    };
    const system = (name: string, b: Bucket, group: Probe[], connectMs: number, withShards = false): SystemResult => ({
      name,
      changeToReceipt: latencyStats(b.change),
      publishToReceipt: latencyStats(b.publish),
      missed: b.missed,
      lastSocketPerUpdate: latencyStats(b.lastSocket),
      sameOrder: sameOrder(group, b.rounds),
      sameFrames: sameFrames(group, b.rounds),
      connectMs,
      ...(withShards ? { shards: shardsOf(group) } : {}),
      lost: lostOf(group),
    });
    const roomStats = async () => {
      const path = `/api/internal/events/${eventId}/stats`;
      const res = await fetch(`${edgeUrl}${path}`, {
        headers: await signRequest(stack!.secret, "GET", path, ""),
        signal: AbortSignal.timeout(10_000),
      });
      return (await res.json()) as { shards?: { index: number; sockets: number; acked: number }[] };
    };

    const oursBucket = bucket();
    const baselineBucket = bucket();
    await runRounds(
      [
        { probes: ours, poller: "edge", bucket: oursBucket },
        { probes: theirs, poller: "baseline", bucket: baselineBucket },
      ],
      updates,
      "EventRoom + plain ws",
    );
    const oursResult = system(
      via === "proxy" ? "EventRoom → shards (wrangler dev)" : "EventRoom → shards (user workerd socket, no wrangler proxy)",
      oursBucket,
      ours,
      oursConnectMs,
      true,
    );
    let roomShards: FanoutResult["roomShards"];
    try {
      roomShards = (await roomStats()).shards?.map((r) => ({ index: r.index, sockets: r.sockets, acked: r.acked }));
    } catch (error) {
      log(`room stats: ${String(error)}`);
    }
    const baselineResult = system("plain Node ws", baselineBucket, theirs, baselineConnectMs);

    // Diagnostic: the same room without wrangler dev's proxy Worker in front
    // (the user Worker's own workerd socket, found through /proc; skipped if not found).
    let oursDirect: SystemResult | undefined;
    const directPort = (opts.direct ?? true) && via === "proxy" ? await findUserWorkerPort(opts.edgePort ?? 23787) : undefined;
    if (directPort !== undefined) {
      for (const probe of ours) probe.ws.terminate();
      await sleep(500);
      t0 = now();
      const direct = await inBatches(sockets, 100, (i) =>
        connectProbe(`ws://127.0.0.1:${directPort}/ws/events/${eventId}?token=${encodeURIComponent(tokens[i]!)}`),
      );
      const directConnectMs = Math.round(now() - t0);
      probes.push(...direct);
      await sleep(1_000);
      const directBucket = bucket();
      await runRounds([{ probes: direct, poller: "edge", bucket: directBucket }], updates, "EventRoom without the dev proxy");
      oursDirect = system("EventRoom → shards (user workerd socket, no wrangler proxy)", directBucket, direct, directConnectMs, true);
    } else if ((opts.direct ?? true) && via === "proxy") {
      log("user workerd socket not found: no measurement without the dev proxy");
    }

    const cpu = cpus();
    const partial = {
      sockets,
      updates,
      pollMs,
      smoke,
      ours: oursResult,
      baseline: baselineResult,
      ...(oursDirect ? { oursDirect } : {}),
      shardSockets: opts.shardSockets ?? 1000,
      via,
      ...(viaNote !== undefined ? { viaNote } : {}),
      ...(roomShards ? { roomShards } : {}),
      p99Ratio: Math.round((oursResult.changeToReceipt.p99 / baselineResult.changeToReceipt.p99) * 100) / 100,
      machine: { cpus: cpu.length, model: cpu[0]?.model ?? "?", node: process.version, loadStart, loadEnd: loadavg() },
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
    };
    const markdown = renderMarkdown(partial);
    const shardCount = Object.keys(oursResult.shards ?? {}).filter((k) => k !== "room").length;
    const group = `event fan-out (${sockets} sockets${shardCount > 0 ? `, ${shardCount} shards` : ""})`;
    const rows: FanoutRow[] = [
      ...(["p50", "p95", "p99", "max"] as const).map((p) => ({
        group,
        measure: `provider change → every socket ${p}`,
        unit: "ms",
        ours: oursResult.changeToReceipt[p],
        peer: baselineResult.changeToReceipt[p],
        better: "lower" as const,
        ...(p === "p99"
          ? {
              note: `ours = EventRoom pushing to its fan-out shards, sockets ${via === "proxy" ? "through wrangler dev" : "straight to workerd (the dev proxy runs out of file descriptors at this size)"}; peer = plain Node ws broadcast server, same simulator and poll period`,
            }
          : {}),
      })),
      { group, measure: "missed deliveries", unit: "", ours: oursResult.missed, peer: baselineResult.missed, better: "lower" },
      {
        group,
        measure: "order kept, identical frames on every socket",
        unit: "",
        ours: oursResult.sameOrder && oursResult.sameFrames ? "yes" : "no",
        peer: baselineResult.sameOrder ? "yes" : "no",
        better: "",
      },
      ...(oursDirect
        ? (["p50", "p99"] as const).map((p) => ({
            group,
            measure: `provider change → every socket ${p}, without wrangler's dev proxy`,
            unit: "ms",
            ours: oursDirect!.changeToReceipt[p],
            peer: baselineResult.changeToReceipt[p],
            better: "lower" as const,
            note: "diagnostic: sockets on the user Worker's workerd socket, measured after the main rounds",
          }))
        : []),
    ];
    const result: FanoutResult = { ...partial, rows, markdown };

    if (opts.write ?? true) {
      const dir = join(ROOT, "bench", "results");
      mkdirSync(dir, { recursive: true });
      const base = smoke ? "smoke-fanout" : "fanout";
      writeFileSync(join(dir, `${base}.json`), `${JSON.stringify({ ...result, markdown: undefined }, null, 2)}\n`);
      writeFileSync(join(dir, `${base}.md`), markdown);
    }
    return result;
  } finally {
    for (const probe of probes) probe.ws.terminate();
    await baseline?.close().catch(() => {});
    await stack?.stop().catch(() => {});
    rmSync(stateDir, { recursive: true, force: true });
  }
}

function argValue(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

/** The stack's ports (23787 edge, 23080 origin, 23935 RTMP, 23090 provider, 23091 baseline) shifted by `offset`. */
export function fanoutPorts(
  offset: number,
): Pick<FanoutOptions, "edgePort" | "originHttpPort" | "rtmpPort" | "providerPort" | "baselinePort"> {
  if (!Number.isInteger(offset) || offset < 0) throw new Error("--port-offset wants a non-negative integer");
  return {
    edgePort: 23787 + offset,
    originHttpPort: 23080 + offset,
    rtmpPort: 23935 + offset,
    providerPort: 23090 + offset,
    baselinePort: 23091 + offset,
  };
}

if (process.argv.includes("--baseline-server")) {
  await baselineServerMain(JSON.parse(argValue("--baseline-server")!) as BaselineConfig);
} else if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runFanout({
    sockets: Number(argValue("--sockets") ?? 1000),
    updates: Number(argValue("--updates") ?? 20),
    smoke: process.argv.includes("--smoke"),
    ...(argValue("--poll-ms") ? { pollMs: Number(argValue("--poll-ms")) } : {}),
    ...(argValue("--shard-sockets") !== undefined ? { shardSockets: Number(argValue("--shard-sockets")) } : {}),
    ...(process.argv.includes("--no-direct") ? { direct: false } : {}),
    ...(argValue("--via") !== undefined ? { via: argValue("--via") as "proxy" | "direct" | "auto" } : {}),
    ...fanoutPorts(Number(argValue("--port-offset") ?? 0)),
  });
  console.log(result.markdown);
  process.exit(result.ours.missed + result.baseline.missed > 0 ? 1 : 0);
}
