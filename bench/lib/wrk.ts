/**
 * HTTP load for the edge-hit figure: wrk (Debian's) when installed, otherwise
 * a small keep-alive Node client. Both systems always get the same tool in one
 * run. The parsers are pure.
 */
import { spawn } from "node:child_process";
import http from "node:http";
import { percentile } from "./stats.js";

export interface LoadResult {
  tool: string;
  requests: number;
  rps: number;
  /** ms */
  p50: number | null;
  p99: number | null;
  errors: number;
  non2xx: number;
  bytesPerSec: number | null;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };
const UNIT_BYTES: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };

/** "1.23ms" → 1.23 (milliseconds). */
export function parseWrkDuration(text: string): number | null {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!match) return null;
  return Number(match[1]) * UNIT_MS[match[2]!]!;
}

/** Parses the output of `wrk --latency`. */
export function parseWrkOutput(output: string): LoadResult {
  const dist = (label: string) => {
    const match = new RegExp(`^\\s*${label}%\\s+(\\S+)`, "m").exec(output);
    return match ? parseWrkDuration(match[1]!) : null;
  };
  const total = /(\d+) requests in/.exec(output);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(output);
  const transfer = /Transfer\/sec:\s+([\d.]+)(B|KB|MB|GB)/.exec(output);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(output);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  if (!total || !rps) throw new Error(`cannot parse wrk output:\n${output}`);
  return {
    tool: "wrk",
    requests: Number(total[1]),
    rps: Number(rps[1]),
    p50: dist("50"),
    p99: dist("99"),
    errors: socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    bytesPerSec: transfer ? Number(transfer[1]) * UNIT_BYTES[transfer[2]!]! : null,
  };
}

export function runWrk(url: string, opts: { connections: number; threads: number; durationSec: number }): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      "wrk",
      ["-t", String(opts.threads), "-c", String(opts.connections), "-d", `${opts.durationSec}s`, "--latency", "--timeout", "5s", url],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), (opts.durationSec + 20) * 1000);
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`wrk exited ${code}: ${out}`));
      try {
        resolve({ ...parseWrkOutput(out), tool: `wrk -t${opts.threads} -c${opts.connections} -d${opts.durationSec}s` });
      } catch (e) {
        reject(e);
      }
    });
  });
}

/** Fallback when wrk is not installed: `connections` keep-alive loops for `durationSec`. */
export async function runNodeLoad(url: string, opts: { connections: number; durationSec: number }): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.connections });
  const latencies: number[] = [];
  let errors = 0;
  let non2xx = 0;
  let bytes = 0;
  const started = performance.now();
  const deadline = started + opts.durationSec * 1000;
  const once = () =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      const req = http.get(url, { agent }, (res) => {
        if ((res.statusCode ?? 0) >= 300) non2xx++;
        res.on("data", (d: Buffer) => (bytes += d.length));
        res.on("end", () => {
          latencies.push(performance.now() - t0);
          resolve();
        });
        res.on("error", () => {
          errors++;
          resolve();
        });
      });
      req.setTimeout(5_000, () => req.destroy(new Error("timeout")));
      req.on("error", () => {
        errors++;
        resolve();
      });
    });
  await Promise.all(
    Array.from({ length: opts.connections }, async () => {
      while (performance.now() < deadline) await once();
    }),
  );
  agent.destroy();
  const elapsed = (performance.now() - started) / 1000;
  return {
    tool: `node keep-alive client -c${opts.connections} -d${opts.durationSec}s`,
    requests: latencies.length,
    rps: latencies.length / elapsed,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    errors,
    non2xx,
    bytesPerSec: bytes / elapsed,
  };
}
