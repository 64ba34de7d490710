/**
 * `npm start`'s supervised stack: the origin and the provider simulator run
 * as their own processes. Killing one (SIGKILL) no longer takes the stack
 * down: it is started again, the rest keeps serving, and stopping the stack
 * leaves nothing running.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startStack, type RunningStack } from "../../scripts/stack.js";
import { eventually } from "./helpers.js";

const OFFSET = 211;
const alive = (pid: number | undefined) => {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const answers = async (url: string) => (await fetch(url, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined))?.ok ?? false;

describe("supervised local stack", () => {
  const stateDir = mkdtempSync(join(tmpdir(), "edge-hls-supervised-"));
  let stack: RunningStack | undefined;
  afterAll(async () => {
    await stack?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("restarts a killed origin and simulator, keeps the Worker up, and leaves nothing behind on stop", async () => {
    stack = await startStack({
      edgePort: Number(process.env.E2E_EDGE_PORT ?? 18787) + OFFSET,
      originHttpPort: Number(process.env.E2E_ORIGIN_HTTP_PORT ?? 18080) + OFFSET,
      rtmpPort: Number(process.env.E2E_RTMP_PORT ?? 11935) + OFFSET,
      providerSimulator: { port: Number(process.env.E2E_PROVIDER_PORT ?? 18090) + OFFSET },
      stateDir,
      ladder: "tiny",
      supervised: true,
      quiet: true,
      log: () => {},
    });
    const { origin, simulator } = stack.processes!;
    expect(simulator).toBeDefined();
    const firstOrigin = origin.pid;
    expect(alive(firstOrigin)).toBe(true);

    process.kill(firstOrigin!, "SIGKILL"); // a crash
    await origin.started(2);
    expect(origin.restarts).toBe(1);
    await eventually(async () => ((await answers(`${stack!.originUrl}/healthz`)) ? true : undefined), 30_000, "the restarted origin");
    expect(origin.pid).not.toBe(firstOrigin);
    expect(await answers(`${stack.edgeUrl}/healthz`)).toBe(true); // the Worker never went down

    const firstSimulator = simulator!.pid;
    process.kill(firstSimulator!, "SIGKILL");
    await simulator!.started(2);
    await eventually(
      async () => ((await answers(`${stack!.providerUrl}/events/sim-live-1`)) ? true : undefined),
      30_000,
      "the restarted simulator",
    );

    const pids = [origin.pid, simulator!.pid];
    await stack.stop();
    stack = undefined;
    expect(pids.some(alive)).toBe(false);
    expect(await answers(`http://127.0.0.1:${Number(process.env.E2E_EDGE_PORT ?? 18787) + OFFSET}/healthz`)).toBe(false);
  });
});
