/**
 * One of our stacks in a process of its own, for the part-duration
 * comparison: node-media-server keeps its sessions in module-level state, so
 * two origins in one process see each other's publishes (and refuse them).
 *
 *   node --import tsx bench/stack-child.ts '<json StackChildConfig>'
 *
 * Starts the stack (scripts/stack.ts), creates a stream, prints one JSON line
 * `{ ready: { edgeUrl, originUrl, masterUrl, watchUrl, ingestUrl } }` on
 * stdout and keeps serving until SIGTERM/SIGINT, then stops the stack (and
 * with it wrangler dev and the origin's FFmpeg) and exits.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStack, type RunningStack } from "../scripts/stack.js";

export interface StackChildConfig {
  edgePort: number;
  originHttpPort: number;
  rtmpPort: number;
  ladder: string;
  originEnv: Record<string, string>;
}

export interface StackChildReady {
  edgeUrl: string;
  originUrl: string;
  masterUrl: string;
  watchUrl: string;
  ingestUrl: string;
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? "{}") as StackChildConfig;
  const stateDir = mkdtempSync(join(tmpdir(), "edge-hls-bench-part-"));
  let stack: RunningStack | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (code: number) => {
    stopping ??= (async () => {
      try {
        await stack?.stop();
      } finally {
        rmSync(stateDir, { recursive: true, force: true });
        process.exit(code);
      }
    })();
    return stopping;
  };
  const ours = [() => void stop(0), () => void stop(0)] as const;
  process.on("SIGTERM", ours[0]);
  process.on("SIGINT", ours[1]);
  try {
    stack = await startStack({
      edgePort: config.edgePort,
      originHttpPort: config.originHttpPort,
      rtmpPort: config.rtmpPort,
      stateDir,
      ladder: config.ladder,
      reconnectGraceMs: 15_000,
      originEnv: config.originEnv,
      quiet: true,
      log: () => {},
    });
    // node-media-server re-raises signals from its own handlers: ours must be the only ones.
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      for (const listener of process.listeners(signal)) {
        if (!(ours as readonly unknown[]).includes(listener)) process.removeListener(signal, listener);
      }
    }
    const created = await fetch(`${stack.edgeUrl}/api/streams`, {
      method: "POST",
      headers: { authorization: `Bearer ${stack.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ title: "bench part comparison" }),
    });
    if (created.status !== 201) throw new Error(`create stream: ${created.status} ${await created.text()}`);
    const stream = (await created.json()) as { streamId: string; ingestUrl: string };
    const ready: StackChildReady = {
      edgeUrl: stack.edgeUrl,
      originUrl: stack.originUrl,
      masterUrl: `${stack.edgeUrl}/live/${stream.streamId}/master.m3u8`,
      watchUrl: `${stack.edgeUrl}/watch/${stream.streamId}`,
      ingestUrl: stream.ingestUrl,
    };
    process.stdout.write(`${JSON.stringify({ ready })}\n`);
  } catch (error) {
    process.stderr.write(`${(error as Error).stack ?? error}\n`);
    await stop(1);
  }
}

void main();
