/** Vitest globalSetup (Node): starts the real test origin, provides its URL. */
import type { TestProject } from "vitest/node";
import { ensureStaticFiles } from "../../../scripts/ensure-static.js";
import { startProviderSimulator } from "../../../scripts/provider-simulator.js";
import { startUpstream } from "./upstream.js";

// `upstreamUrl` is declared on vitest's ProvidedContext in vitest.workers.config.ts.
export default async function setup(project: TestProject) {
  ensureStaticFiles(); // the Worker imports the module it writes
  const upstream = await startUpstream();
  project.provide("upstreamUrl", upstream.url);
  // event provider simulator; tests create their own games (auto: false)
  const simulator = await startProviderSimulator({ games: [] });
  project.provide("providerUrl", simulator.url);
  return async () => {
    await upstream.close();
    await simulator.close();
  };
}
