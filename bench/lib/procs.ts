/**
 * Everything the bench starts is registered here and stopped at the end, on
 * error and on SIGINT/SIGTERM: child processes (each in its own process
 * group, killed as a group), servers, browsers, the stack.
 */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";

type Cleanup = { name: string; fn: () => Promise<void> | void };
const cleanups: Cleanup[] = [];
let cleaning: Promise<void> | undefined;

/** Registers a cleanup; returns a function that runs it early (once) and unregisters it. */
export function onCleanup(name: string, fn: () => Promise<void> | void): () => Promise<void> {
  const entry: Cleanup = { name, fn };
  cleanups.push(entry);
  let done = false;
  return async () => {
    if (done) return;
    done = true;
    const at = cleanups.indexOf(entry);
    if (at >= 0) cleanups.splice(at, 1);
    await fn();
  };
}

/** Runs every registered cleanup, newest first, each bounded to 15 s. */
export function cleanupAll(log: (m: string) => void = () => {}): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length) {
      const { name, fn } = cleanups.pop()!;
      try {
        await Promise.race([Promise.resolve(fn()), new Promise((r) => setTimeout(r, 15_000))]);
      } catch (error) {
        log(`cleanup ${name}: ${(error as Error).message}`);
      }
    }
  })();
  return cleaning;
}

/**
 * First Ctrl-C/SIGTERM: stop everything, then exit 130. A second one exits at
 * once. (`on`, not `once`: tsx's own handler exits right away when it is the
 * only listener left.)
 */
const ownHandlers = new Set<(...args: unknown[]) => void>();

export function installSignalHandlers(log: (m: string) => void): void {
  let received = 0;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    const handler = () => {
      if (received++ > 0) process.exit(130);
      log(`\n${signal}: stopping everything the bench started…`);
      void cleanupAll(log).then(() => process.exit(130));
    };
    ownHandlers.add(handler);
    process.on(signal, handler);
  }
}

/**
 * Removes SIGINT/SIGTERM listeners that libraries running in this process
 * added (node-media-server's store, inside the in-process origin, flushes and
 * re-sends the signal to kill the process at once), so Ctrl-C always goes
 * through our cleanup. Returns how many were removed.
 */
export function takeOverSignals(): number {
  let removed = 0;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    for (const listener of process.listeners(signal)) {
      if (ownHandlers.has(listener as (...args: unknown[]) => void)) continue;
      process.removeListener(signal, listener);
      removed++;
    }
  }
  return removed;
}

/** Sends `signal` to the child's process group, then SIGKILL after `graceMs`. */
export function stopGroup(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM", graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = (s: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, s);
      } catch {
        try {
          child.kill(s);
        } catch {
          // gone
        }
      }
    };
    const timer = setTimeout(() => kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    kill(signal);
  });
}

export interface Tracked {
  child: ChildProcess;
  /** Last 4 KB of stderr. */
  stderrTail(): string;
  stop(): Promise<void>;
  exited: Promise<number | null>;
}

/** Spawns in a new process group and registers its stop. */
export function spawnTracked(
  name: string,
  command: string,
  args: string[],
  options: SpawnOptions & { stopSignal?: NodeJS.Signals; stopGraceMs?: number } = {},
): Tracked {
  const { stopSignal, stopGraceMs, ...spawnOptions } = options;
  const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"], ...spawnOptions, detached: true });
  let tail = "";
  child.stderr?.on("data", (d: Buffer) => {
    tail = (tail + d.toString()).slice(-4096);
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.once("error", (e) => {
      tail += `\nspawn error: ${e.message}`;
      resolve(null);
    });
  });
  const stop = onCleanup(name, () => stopGroup(child, stopSignal ?? "SIGTERM", stopGraceMs));
  return { child, stderrTail: () => tail, stop, exited };
}
