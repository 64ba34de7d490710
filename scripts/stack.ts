/**
 * Brings up the whole local stack: D1 migrations, wrangler dev (Worker, DOs,
 * D1, Cache API in workerd/miniflare) and the origin box, then seeds a dev
 * broadcaster. Used by `npm start`, the end-to-end tests and the benchmarks.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { signRequest } from "../common/signing.js";
import { loadOriginConfig } from "../origin/config.js";
import { startOrigin, type RunningOrigin } from "../origin/main.js";
import { startProviderSimulator, type ProviderSimulator } from "./provider-simulator.js";
import { supervise, type Supervised } from "./supervisor.js";
import { ensureStaticFiles } from "./ensure-static.js";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const WRANGLER = join(ROOT, "node_modules", ".bin", "wrangler");
/** Offline by design: no telemetry, no download of request.cf data. */
const WRANGLER_ENV = { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" };

export interface StackOptions {
  edgePort?: number;
  originHttpPort?: number;
  rtmpPort?: number;
  /** Where miniflare keeps D1/DO/Cache state. */
  stateDir?: string;
  /** Ladder name or spec for the origin (see origin/config.ts). */
  ladder?: string;
  broadcasterApiKey?: string;
  reconnectGraceMs?: number;
  /** Extra env for the origin. */
  originEnv?: Record<string, string>;
  /** Extra vars for the Worker. */
  workerVars?: Record<string, string>;
  /**
   * Start the event provider simulator (scripts/provider-simulator.ts) and
   * point the Worker's EVENT_PROVIDER_URL at it. `true`: PROVIDER_PORT or 8090.
   */
  providerSimulator?: boolean | { port?: number };
  /** EVENT_PROVIDER_URL for the Worker when no simulator is started. */
  eventProviderUrl?: string;
  /**
   * wrangler dev does not fire cron triggers: run the cron's work
   * (POST /api/internal/cron/run) once at start and then this often (ms).
   */
  cronIntervalMs?: number;
  quiet?: boolean;
  log?: (message: string) => void;
  /**
   * Run the origin and the provider simulator as their own supervised
   * processes (restarted when they crash) instead of inside this one:
   * `npm start` does, so a crash of one part neither takes the others
   * down nor leaves wrangler orphaned. Tests and benchmarks run in-process.
   */
  supervised?: boolean;
}

export interface RunningStack {
  edgeUrl: string;
  /** The in-process origin (absent when supervised). */
  origin?: RunningOrigin;
  originId: string;
  /** The supervised processes, when `supervised`. */
  processes?: { origin: Supervised; simulator?: Supervised };
  originUrl: string;
  rtmpBaseUrl: string;
  apiKey: string;
  secret: string;
  /** The provider simulator, when started. */
  simulator?: ProviderSimulator;
  /** EVENT_PROVIDER_URL the Worker uses, if any. */
  providerUrl?: string;
  /** Signed POST to an internal Worker route (as the origin would make it). */
  internalPost<T>(path: string, payload: unknown): Promise<T>;
  /** Runs the cron's work now (event ingress + live monitor). */
  runCron(): Promise<unknown>;
  stop(): Promise<void>;
}

/**
 * Worker secrets, kept in the state dir's env file and never printed:
 * ORIGIN_SHARED_SECRET (origin ↔ Worker HMAC) and TOKEN_SECRET (session
 * tokens, IP fingerprints). Missing ones are generated.
 */
function loadOrCreateSecret(stateDir: string): { secret: string; envFile: string } {
  const envFile = join(stateDir, "worker.env");
  const text = existsSync(envFile) ? readFileSync(envFile, "utf8") : "";
  const read = (name: string) => new RegExp(`^${name}=(.+)$`, "m").exec(text)?.[1]?.trim();
  const secret = read("ORIGIN_SHARED_SECRET") ?? randomBytes(32).toString("hex");
  const tokenSecret = read("TOKEN_SECRET") ?? randomBytes(32).toString("hex");
  let missing = "";
  if (read("ORIGIN_SHARED_SECRET") === undefined) missing += `ORIGIN_SHARED_SECRET=${secret}\n`;
  if (read("TOKEN_SECRET") === undefined) missing += `TOKEN_SECRET=${tokenSecret}\n`;
  if (missing !== "") {
    const base = text === "" || text.endsWith("\n") ? text : `${text}\n`;
    writeFileSync(envFile, base + missing, { mode: 0o600 });
  }
  chmodSync(envFile, 0o600);
  return { secret, envFile };
}

async function waitForHttp(url: string, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`process exited (${child.exitCode}) before ${url} answered`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

function stopProcessGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return Promise.resolve();
  return new Promise((resolveStop) => {
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    }, 5_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolveStop();
    });
    try {
      process.kill(-child.pid!, "SIGTERM");
    } catch {
      clearTimeout(timer);
      resolveStop();
    }
  });
}

export async function startStack(options: StackOptions = {}): Promise<RunningStack> {
  const log = options.log ?? ((m: string) => console.log(m));
  const edgePort = options.edgePort ?? Number(process.env.EDGE_PORT ?? 8787);
  const originHttpPort = options.originHttpPort ?? Number(process.env.ORIGIN_HTTP_PORT ?? 8080);
  const rtmpPort = options.rtmpPort ?? Number(process.env.RTMP_PORT ?? 1935);
  const stateDir = resolve(options.stateDir ?? join(ROOT, ".wrangler", "state"));
  mkdirSync(stateDir, { recursive: true });
  ensureStaticFiles();
  const { secret, envFile } = loadOrCreateSecret(stateDir);
  const edgeUrl = `http://127.0.0.1:${edgePort}`;

  const migrate = spawnSync(WRANGLER, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", stateDir], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, ...WRANGLER_ENV, CI: "true" },
  });
  if (migrate.status !== 0) {
    throw new Error(`D1 migrations failed:\n${migrate.stdout}\n${migrate.stderr}`);
  }
  log("D1 migrations applied");

  let simulator: ProviderSimulator | undefined;
  let simulatorProcess: Supervised | undefined;
  let simulatorUrl: string | undefined;
  if (options.providerSimulator) {
    const requested = typeof options.providerSimulator === "object" ? options.providerSimulator.port : undefined;
    const port = requested ?? Number(process.env.PROVIDER_PORT ?? 8090);
    if (options.supervised) {
      simulatorProcess = supervise({
        name: "provider simulator",
        command: process.execPath,
        args: ["--import", "tsx", "scripts/provider-simulator.ts"],
        cwd: ROOT,
        env: { ...process.env, PROVIDER_PORT: String(port) },
        log,
        quiet: options.quiet,
      });
      simulatorUrl = `http://127.0.0.1:${port}`;
      await waitForHttp(`${simulatorUrl}/events/sim-live-1`, 30_000);
    } else {
      simulator = await startProviderSimulator({ port, log });
      simulatorUrl = simulator.url;
    }
  }
  const providerUrl = simulatorUrl ?? options.eventProviderUrl;
  // locally, X-Dev-Colo / X-Dev-Region simulate viewers in many colos and regions (workers/tiers/regions.ts)
  const workerVars = { DEV_COLO_HEADER: "1", ...(providerUrl ? { EVENT_PROVIDER_URL: providerUrl } : {}), ...options.workerVars };
  const varArgs = Object.entries(workerVars).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
  const wrangler = spawn(
    WRANGLER,
    [
      "dev",
      "--port",
      String(edgePort),
      "--ip",
      "127.0.0.1",
      "--persist-to",
      stateDir,
      "--env-file",
      envFile,
      "--show-interactive-dev-session=false",
      "--inspector-port",
      "0",
      ...varArgs,
    ],
    {
      cwd: ROOT,
      detached: true,
      stdio: ["ignore", options.quiet ? "ignore" : "inherit", options.quiet ? "ignore" : "inherit"],
      env: { ...process.env, ...WRANGLER_ENV },
    },
  );
  const stopWorker = async () => {
    await stopProcessGroup(wrangler);
    await simulator?.close();
    await simulatorProcess?.stop();
  };
  let origin: RunningOrigin | undefined;
  let originProcess: Supervised | undefined;
  let cronTimer: NodeJS.Timeout | undefined;
  try {
    await waitForHttp(`${edgeUrl}/healthz`, 90_000, wrangler);
    log(`Worker up at ${edgeUrl}`);
    const originEnv = {
      ...process.env,
      ...options.originEnv,
      ORIGIN_SHARED_SECRET: secret,
      ORIGIN_HTTP_PORT: String(originHttpPort),
      RTMP_PORT: String(rtmpPort),
      WORKER_URL: edgeUrl,
      LADDER: options.ladder ?? process.env.LADDER ?? "default",
      RECONNECT_GRACE_MS: String(options.reconnectGraceMs ?? process.env.RECONNECT_GRACE_MS ?? 15_000),
      ORIGIN_DATA_DIR: join(stateDir, "origin"),
    };
    const originConfig = loadOriginConfig(originEnv);
    if (options.supervised) {
      // one origin id for every restart: its streams, pool entry and journal stay its own
      originProcess = supervise({
        name: "origin",
        command: process.execPath,
        args: ["--import", "tsx", "origin/main.ts"],
        cwd: ROOT,
        env: { ...originEnv, ORIGIN_ID: originConfig.originId },
        log,
        quiet: options.quiet,
      });
      await waitForHttp(`http://127.0.0.1:${originHttpPort}/healthz`, 60_000);
    } else {
      origin = await startOrigin(originConfig, options.quiet ? () => {} : undefined);
      if (!(await origin.heartbeat())) throw new Error("the Worker refused the origin's heartbeat");
    }

    const internalPost = async <T>(path: string, payload: unknown): Promise<T> => {
      const body = JSON.stringify(payload);
      const response = await fetch(`${edgeUrl}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(await signRequest(secret, "POST", path, body)) },
        body,
      });
      const json = (await response.json()) as T;
      if (!response.ok) throw new Error(`${path}: ${response.status} ${JSON.stringify(json)}`);
      return json;
    };
    const seeded = await internalPost<{ apiKey: string }>("/api/internal/dev/broadcasters", {
      name: "dev broadcaster",
      ...(options.broadcasterApiKey ? { apiKey: options.broadcasterApiKey } : {}),
    });
    const runCron = () => internalPost<unknown>("/api/internal/cron/run", {});
    if (options.cronIntervalMs !== undefined && options.cronIntervalMs > 0) {
      // the every-minute trigger also runs the stream/server watchdog (workers/control/watchdog.ts)
      const tick = () =>
        Promise.all([
          runCron().catch((error: Error) => log(`cron run failed: ${error.message}`)),
          internalPost<unknown>("/api/internal/cron/watchdog", {}).catch((error: Error) => log(`watchdog run failed: ${error.message}`)),
        ]);
      await tick();
      cronTimer = setInterval(tick, options.cronIntervalMs);
      cronTimer.unref();
    }
    const running: RunningStack = {
      edgeUrl,
      origin,
      originId: originConfig.originId,
      processes: originProcess ? { origin: originProcess, simulator: simulatorProcess } : undefined,
      originUrl: `http://127.0.0.1:${originHttpPort}`,
      rtmpBaseUrl: `rtmp://127.0.0.1:${rtmpPort}/live`,
      apiKey: seeded.apiKey,
      secret,
      simulator,
      providerUrl,
      internalPost,
      runCron,
      stop: async () => {
        if (cronTimer) clearInterval(cronTimer);
        await origin?.stop();
        await originProcess?.stop();
        await stopWorker();
      },
    };
    return running;
  } catch (error) {
    if (cronTimer) clearInterval(cronTimer);
    await origin?.stop();
    await originProcess?.stop();
    await stopWorker();
    throw error;
  }
}
