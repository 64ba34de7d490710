/**
 * Runs the peer: Debian's nginx + libnginx-mod-rtmp from a temp dir (our own
 * nginx.conf, `daemon off`, our process group), loopback ports only.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, openSync, readSync, closeSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnTracked, type Tracked } from "../lib/procs.js";
import { renderNginxConf, type NginxConfOptions } from "./nginx-conf.js";

export const RTMP_MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so";

export function nginxBinary(): string | undefined {
  for (const candidate of ["/usr/sbin/nginx", "/usr/bin/nginx"]) if (existsSync(candidate)) return candidate;
  const which = spawnSync("sh", ["-c", "command -v nginx"], { encoding: "utf8" });
  return which.status === 0 && which.stdout.trim() ? which.stdout.trim() : undefined;
}

export function peerInstalled(): boolean {
  return nginxBinary() !== undefined && existsSync(RTMP_MODULE);
}

export function wrkInstalled(): boolean {
  return spawnSync("sh", ["-c", "command -v wrk"], { encoding: "utf8" }).status === 0;
}

/**
 * apt-get installs what is missing of nginx, libnginx-mod-rtmp and wrk (root
 * only). Services are not started: policy-rc.d (Docker images) or
 * RUNLEVEL=1 keeps Debian's nginx service down; the bench runs its own.
 */
export function aptInstall(packages: string[], log: (m: string) => void): void {
  if (packages.length === 0) return;
  if (process.getuid?.() !== 0) throw new Error(`need root to apt-get install ${packages.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive", RUNLEVEL: "1" };
  log(`apt-get install ${packages.join(" ")} …`);
  const update = spawnSync("apt-get", ["update", "-qq"], { env, encoding: "utf8", timeout: 300_000 });
  if (update.status !== 0) throw new Error(`apt-get update failed: ${update.stderr}`);
  const install = spawnSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...packages], {
    env,
    encoding: "utf8",
    timeout: 600_000,
  });
  if (install.status !== 0) throw new Error(`apt-get install failed: ${install.stderr}`);
}

export interface PeerPorts {
  rtmp: number;
  origin: number;
  mother: number;
  child: number;
}

export interface RunningPeer {
  dir: string;
  ports: PeerPorts;
  rtmpUrl: string;
  childUrl: string;
  originLog: string;
  process: Tracked;
  /** Bytes in the origin access log now (mark the start of a phase). */
  originLogMark(): number;
  /** Text appended to the origin access log since `mark`. */
  originLogSince(mark: number): string;
  stop(): Promise<void>;
}

async function waitForPort(url: string, timeoutMs: number, proc: Tracked): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`nginx exited (${proc.child.exitCode}): ${proc.stderrTail()}`);
    try {
      await (await fetch(url, { signal: AbortSignal.timeout(1_000) })).arrayBuffer();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

export async function startPeer(
  options: Omit<NginxConfOptions, "modulePath" | "rtmpPort" | "originPort" | "motherPort" | "childPort"> & { ports: PeerPorts },
): Promise<RunningPeer> {
  const nginx = nginxBinary();
  if (!nginx || !existsSync(RTMP_MODULE)) throw new Error("nginx with the RTMP module is not installed");
  const { dir, ports } = options;
  for (const sub of ["logs", "temp", "cache", "hls"]) mkdirSync(join(dir, sub), { recursive: true });
  const conf = renderNginxConf({
    ...options,
    modulePath: RTMP_MODULE,
    rtmpPort: ports.rtmp,
    originPort: ports.origin,
    motherPort: ports.mother,
    childPort: ports.child,
  });
  const confPath = join(dir, "nginx.conf");
  writeFileSync(confPath, conf);
  const errorLog = join(dir, "logs", "error.log");
  const check = spawnSync(nginx, ["-t", "-q", "-c", confPath, "-p", `${dir}/`, "-e", errorLog], { encoding: "utf8" });
  if (check.status !== 0) throw new Error(`nginx -t failed: ${check.stderr}`);
  const proc = spawnTracked("nginx", nginx, ["-c", confPath, "-p", `${dir}/`, "-e", errorLog], { stopSignal: "SIGTERM" });
  await waitForPort(`http://127.0.0.1:${ports.child}/`, 10_000, proc);
  const originLog = join(dir, "logs", "origin-access.log");
  const size = () => (existsSync(originLog) ? statSync(originLog).size : 0);
  return {
    dir,
    ports,
    rtmpUrl: `rtmp://127.0.0.1:${ports.rtmp}`,
    childUrl: `http://127.0.0.1:${ports.child}`,
    originLog,
    process: proc,
    originLogMark: size,
    originLogSince(mark: number): string {
      const end = size();
      if (end <= mark) return "";
      const fd = openSync(originLog, "r");
      try {
        const buffer = Buffer.alloc(end - mark);
        readSync(fd, buffer, 0, buffer.length, mark);
        return buffer.toString("utf8");
      } finally {
        closeSync(fd);
      }
    },
    stop: () => proc.stop(),
  };
}
