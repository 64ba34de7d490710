/**
 * Event fan-out benchmark (design §6): time from a provider change to its
 * receipt on every socket, for
 *
 *   ours      N `ws` sockets on one EventRoom through the local stack
 *             (wrangler dev: Worker + EventRoom Durable Object, D1), and
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
 *   npx tsx bench/fanout.ts [--sockets 1000] [--updates 20] [--smoke]
 *
 * Writes bench/results/fanout.json and bench/results/fanout.md
 * (--smoke: bench/results/smoke-fanout.*).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
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
  connectMs: number;
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
  private waiters = new Map<string, () => void>();

  constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const at = now();
      const frame = JSON.parse(String(data)) as { type: string; ts: number; changes?: { details?: { benchRound?: string } } };
      if (frame.type !== "event_update") return;
      const round = frame.changes?.details?.benchRound;
      if (typeof round !== "string" || this.got.has(round)) return;
      this.got.set(round, [at, frame.ts]);
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
  nextPollAt: (now: number, started: number) => number,
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
    if (!stopped) timer = setTimeout(poll, Math.max(0, nextPollAt(Date.now(), started) - Date.now()));
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

function renderMarkdown(result: Omit<FanoutResult, "markdown" | "rows">): string {
  const line = (label: string, s: LatencyStats, missed: number | string) =>
    `| ${label} | ${s.n} | ${s.p50} | ${s.p95} | ${s.p99} | ${s.max} | ${s.mean} | ${missed} |`;
  const o = result.ours;
  const b = result.baseline;
  return [
    `### Event fan-out: ${result.sockets} sockets × ${result.updates} updates (poll ${result.pollMs} ms)`,
    "",
    "| system · interval | samples | p50 ms | p95 ms | p99 ms | max ms | mean ms | missed |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    line("EventRoom (wrangler dev) · provider change → receipt", o.changeToReceipt, o.missed),
    line("plain Node `ws` · provider change → receipt", b.changeToReceipt, b.missed),
    ...(result.oursDirect ? [line("EventRoom, no dev proxy (diagnostic) · provider change → receipt", result.oursDirect.changeToReceipt, result.oursDirect.missed)] : []),
    line("EventRoom · frame ts → receipt", o.publishToReceipt, "-"),
    line("plain Node `ws` · frame ts → receipt", b.publishToReceipt, "-"),
    ...(result.oursDirect ? [line("EventRoom, no dev proxy (diagnostic) · frame ts → receipt", result.oursDirect.publishToReceipt, "-")] : []),
    line("EventRoom · change → last socket, per update", o.lastSocketPerUpdate, "-"),
    line("plain Node `ws` · change → last socket, per update", b.lastSocketPerUpdate, "-"),
    ...(result.oursDirect ? [line("EventRoom, no dev proxy · change → last socket, per update", result.oursDirect.lastSocketPerUpdate, "-")] : []),
    "",
    `- p99 ratio EventRoom / plain ws (change → receipt): **${result.p99Ratio}×** (goal: p99 ≤ 100 ms at 1,000 sockets and ≤ 1.5× the plain baseline).${
      result.oursDirect
        ? ` Without wrangler dev's proxy Worker (sockets on the user Worker's workerd socket, measured after the main rounds): ${Math.round((result.oursDirect.changeToReceipt.p99 / b.changeToReceipt.p99) * 100) / 100}×.`
        : ""
    }`,
    `- Same order on every socket: EventRoom ${o.sameOrder ? "yes" : "NO"}, plain ws ${b.sameOrder ? "yes" : "NO"}; connect ${result.sockets} sockets: EventRoom ${o.connectMs} ms, plain ws ${b.connectMs} ms.`,
    `- "Provider change" = arrival at the simulator of the system's first poll that saw the change (no share of the ${result.pollMs} ms polling period counts for either system); receipt = the client's 'message' event. One Node process runs all ${2 * result.sockets} clients; the baseline polls half a period after the EventRoom so the two fan-outs do not overlap.`,
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
  let baseline: Awaited<ReturnType<typeof startBaseline>> | undefined;
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
      workerVars: { EVENT_POLL_MS: String(pollMs), ANON_SESSIONS_PER_MINUTE: "0" },
      quiet: true,
      log: () => {},
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
    baseline = await startBaseline(opts.baselinePort ?? 23091, stack.providerUrl!, eventId, pollMs, (t, started) => {
      const edgePoll = simulator.lastPollAt(eventId, "edge");
      if (edgePoll === undefined) return started + pollMs;
      let next = edgePoll + pollMs / 2;
      while (next <= t + 5) next += pollMs;
      return Math.min(next, started + 2 * pollMs);
    });

    log(`minting ${sockets} anonymous session tokens`);
    const edgeUrl = stack.edgeUrl;
    const tokens = await inBatches(sockets, 50, async () => {
      const res = await fetch(`${edgeUrl}/api/session/anonymous`, { method: "POST", signal: AbortSignal.timeout(15_000) });
      if (res.status !== 201) throw new Error(`anonymous session: ${res.status}`);
      return ((await res.json()) as { token: string }).token;
    });

    log(`connecting ${sockets} sockets to the EventRoom and ${sockets} to the plain ws server`);
    let t0 = now();
    const ours = await inBatches(sockets, 100, (i) =>
      connectProbe(`${edgeUrl.replace(/^http/, "ws")}/ws/events/${eventId}?token=${encodeURIComponent(tokens[i]!)}`),
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
          throw new Error(`round ${round}: ${missing.join(", ")} never polled the change; requests ${JSON.stringify(simulator.requests)}; room ${stats}`);
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
    const system = (name: string, b: Bucket, group: Probe[], connectMs: number): SystemResult => ({
      name,
      changeToReceipt: latencyStats(b.change),
      publishToReceipt: latencyStats(b.publish),
      missed: b.missed,
      lastSocketPerUpdate: latencyStats(b.lastSocket),
      sameOrder: sameOrder(group, b.rounds),
      connectMs,
    });

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
    const oursResult = system("EventRoom (wrangler dev)", oursBucket, ours, oursConnectMs);
    const baselineResult = system("plain Node ws", baselineBucket, theirs, baselineConnectMs);

    // Diagnostic: the same room without wrangler dev's proxy Worker in front
    // (the user Worker's own workerd socket, found through /proc; skipped if not found).
    let oursDirect: SystemResult | undefined;
    const directPort = await findUserWorkerPort(opts.edgePort ?? 23787);
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
      oursDirect = system("EventRoom (user workerd socket, no wrangler proxy)", directBucket, direct, directConnectMs);
    } else {
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
      p99Ratio: Math.round((oursResult.changeToReceipt.p99 / baselineResult.changeToReceipt.p99) * 100) / 100,
      machine: { cpus: cpu.length, model: cpu[0]?.model ?? "?", node: process.version, loadStart, loadEnd: loadavg() },
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
    };
    const markdown = renderMarkdown(partial);
    const group = `event fan-out (${sockets} sockets)`;
    const rows: FanoutRow[] = [
      ...(["p50", "p95", "p99", "max"] as const).map((p) => ({
        group,
        measure: `provider change → every socket ${p}`,
        unit: "ms",
        ours: oursResult.changeToReceipt[p],
        peer: baselineResult.changeToReceipt[p],
        better: "lower" as const,
        ...(p === "p99" ? { note: "peer = plain Node ws broadcast server, same simulator and poll period" } : {}),
      })),
      { group, measure: "missed deliveries", unit: "", ours: oursResult.missed, peer: baselineResult.missed, better: "lower" },
      ...(oursDirect
        ? (["p50", "p99"] as const).map((p) => ({
            group,
            measure: `provider change → every socket ${p}, EventRoom without wrangler's dev proxy`,
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

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runFanout({
    sockets: Number(argValue("--sockets") ?? 1000),
    updates: Number(argValue("--updates") ?? 20),
    smoke: process.argv.includes("--smoke"),
    ...(argValue("--poll-ms") ? { pollMs: Number(argValue("--poll-ms")) } : {}),
  });
  console.log(result.markdown);
  process.exit(result.ours.missed + result.baseline.missed > 0 ? 1 : 0);
}
