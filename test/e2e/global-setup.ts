import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startStack, type RunningStack } from "../../scripts/stack.js";

// what setup() provides to the test files: declared in provided-context.ts, which the test files
// can see without importing the stack
import "./provided-context.js";

const RECONNECT_GRACE_MS = 4_000;
const PROVIDER_BACKOFF_MS = 3_000;
let stack: RunningStack | undefined;
let stateDir: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  stateDir = mkdtempSync(join(tmpdir(), "edge-hls-e2e-"));
  stack = await startStack({
    edgePort: Number(process.env.E2E_EDGE_PORT ?? 18787),
    originHttpPort: Number(process.env.E2E_ORIGIN_HTTP_PORT ?? 18080),
    rtmpPort: Number(process.env.E2E_RTMP_PORT ?? 11935),
    stateDir,
    ladder: "tiny",
    reconnectGraceMs: RECONNECT_GRACE_MS,
    originEnv: { X264_PRESET: "ultrafast", ORIGIN_CAPACITY: "10" },
    // the sockets tests drive the simulator's feed (outages, garbage, changes)
    providerSimulator: { port: Number(process.env.E2E_PROVIDER_PORT ?? 18090) },
    // 200+ sockets mint their anonymous sessions from 127.0.0.1: lift the per-address limit.
    workerVars: { EVENT_POLL_MS: "1000", EVENT_POLL_MAX_BACKOFF_MS: String(PROVIDER_BACKOFF_MS), ANON_SESSIONS_PER_MINUTE: "100000" },
    quiet: !process.env.E2E_VERBOSE,
    log: () => {},
  });
  project.provide("edgeUrl", stack.edgeUrl);
  project.provide("originUrl", stack.originUrl);
  project.provide("rtmpBaseUrl", stack.rtmpBaseUrl);
  project.provide("apiKey", stack.apiKey);
  project.provide("secret", stack.secret);
  project.provide("reconnectGraceMs", RECONNECT_GRACE_MS);
  project.provide("providerUrl", stack.providerUrl!);
  project.provide("originId", stack.originId);
  project.provide("providerBackoffMs", PROVIDER_BACKOFF_MS);
}

export async function teardown(): Promise<void> {
  await stack?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
}
