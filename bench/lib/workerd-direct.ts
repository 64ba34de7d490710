/**
 * `wrangler dev` puts a proxy Worker (its own workerd) in front of the user
 * Worker. For the edge-hit figure we also measure the user Worker's own
 * workerd socket, found by walking /proc: the workerd whose ancestors include
 * the wrangler started for `edgePort` and that does not listen on edgePort.
 * Best effort (Linux only): undefined when it cannot be found.
 */
import { readFileSync, readdirSync, readlinkSync } from "node:fs";

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
  } catch {
    return "";
  }
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

/** Loopback TCP ports the process listens on. */
export function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      } catch {
        // fd closed meanwhile
      }
    }
  } catch {
    return [];
  }
  const ports: number[] = [];
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || cols[3] !== "0A" || !inodes.has(cols[9]!)) continue; // 0A = LISTEN
      ports.push(parseInt(cols[1]!.split(":")[1]!, 16));
    }
  }
  return ports;
}

export function userWorkerCandidates(edgePort: number): number[] {
  const ports: number[] = [];
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const cmd = cmdline(pid);
    if (!/\bworkerd\b.* serve /.test(cmd) || cmd.includes(`entry=127.0.0.1:${edgePort}`)) continue;
    let ancestor = parentOf(pid);
    let ours = false;
    for (let i = 0; i < 6 && ancestor && ancestor > 1; i++) {
      const a = cmdline(ancestor);
      if (a.includes("wrangler") && a.includes(`--port ${edgePort}`)) {
        ours = true;
        break;
      }
      ancestor = parentOf(ancestor);
    }
    if (ours) ports.push(...listeningPorts(pid));
  }
  return ports;
}

/** Base URL of the user Worker's own socket, if one of the candidates answers `probePath` like the edge does. */
export async function findUserWorker(edgePort: number, probePath: string): Promise<string | undefined> {
  for (const port of userWorkerCandidates(edgePort)) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}${probePath}`, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.ok && response.headers.get("x-cache-tier")) return `http://127.0.0.1:${port}`;
    } catch {
      // not it
    }
  }
  return undefined;
}

/** The processes of one wrangler dev (for CPU per request): its Node CLI, the proxy workerd and the user Worker's workerd. */
export interface StackProcesses {
  wrangler?: number;
  proxy?: number;
  user?: number;
}

export function stackProcesses(edgePort: number): StackProcesses {
  const found: StackProcesses = {};
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const cmd = cmdline(pid);
    if (/\bworkerd\b.* serve /.test(cmd)) {
      if (cmd.includes(`entry=127.0.0.1:${edgePort}`)) {
        found.proxy = pid;
        continue;
      }
      // the user Worker's workerd: a child of the wrangler CLI whose proxy listens on edgePort
      const parent = parentOf(pid);
      if (parent !== undefined && cmdline(parent).includes(`--port ${edgePort}`)) found.user = pid;
    } else if (cmd.includes("wrangler-dist/cli.js") && cmd.includes(`--port ${edgePort}`)) {
      found.wrangler = pid;
    }
  }
  return found;
}

/** CPU time (ms, user + system) a process has used; undefined when it is gone. */
export function cpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[11] = utime, fields[12] = stime (clock ticks; 100 per second on Linux)
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

const CLOCK_TICKS = 100;
