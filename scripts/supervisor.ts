/**
 * Runs one part of the local stack (the origin, the provider simulator) as
 * its own process and keeps it running: a crash is logged and the process
 * is started again (1 s, doubling to 10 s while it keeps crashing), without
 * taking the rest of the stack down. Each child gets its own process group
 * so stopping it also stops what it started; it is told who its parent is
 * (EDGE_HLS_PARENT_PID) and exits by itself when that parent is gone.
 */
import { spawn, type ChildProcess } from "node:child_process";

export interface SupervisedOptions {
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  log: (message: string) => void;
  quiet?: boolean;
}

export interface Supervised {
  readonly pid: number | undefined;
  /** Times it was started again after an unexpected exit. */
  readonly restarts: number;
  /** Resolves when the process has started `n` times in all (for tests). */
  started(n: number): Promise<void>;
  stop(): Promise<void>;
}

const MIN_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 10_000;
/** A process that ran this long before crashing is restarted after the minimum backoff again. */
const HEALTHY_AFTER_MS = 30_000;

export function supervise(options: SupervisedOptions): Supervised {
  let child: ChildProcess | undefined;
  let stopping = false;
  let restarts = 0;
  let starts = 0;
  let backoff = MIN_BACKOFF_MS;
  let timer: NodeJS.Timeout | undefined;
  const waiters: Array<{ n: number; resolve: () => void }> = [];

  const start = () => {
    const startedAt = Date.now();
    const proc = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: { ...options.env, EDGE_HLS_PARENT_PID: String(process.pid) },
      detached: true,
      stdio: ["ignore", options.quiet ? "ignore" : "inherit", options.quiet ? "ignore" : "inherit"],
    });
    child = proc;
    starts++;
    for (const w of waiters.filter((w) => starts >= w.n)) w.resolve();
    proc.once("exit", (code, signal) => {
      if (child === proc) child = undefined;
      if (stopping) return;
      if (Date.now() - startedAt > HEALTHY_AFTER_MS) backoff = MIN_BACKOFF_MS;
      options.log(`${options.name} exited (code ${code}, signal ${signal}); starting it again in ${backoff} ms`);
      restarts++;
      timer = setTimeout(start, backoff);
      backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
    });
  };
  start();

  return {
    get pid() {
      return child?.pid;
    },
    get restarts() {
      return restarts;
    },
    started: (n) => (starts >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
    stop: async () => {
      stopping = true;
      clearTimeout(timer);
      const proc = child;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null || !proc.pid) return;
      await new Promise<void>((resolve) => {
        const kill = setTimeout(() => {
          try {
            process.kill(-proc.pid!, "SIGKILL");
          } catch {
            // already gone
          }
        }, 8_000);
        proc.once("exit", () => {
          clearTimeout(kill);
          resolve();
        });
        try {
          process.kill(-proc.pid!, "SIGTERM"); // orderly: the origin ends its streams and stops its FFmpegs
        } catch {
          clearTimeout(kill);
          resolve();
        }
      });
    },
  };
}
