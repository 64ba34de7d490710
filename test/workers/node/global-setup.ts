/** Vitest globalSetup (Node): starts the real test origin, provides its URL. */
import type { TestProject } from "vitest/node";
import { startUpstream } from "./upstream.js";

// `upstreamUrl` is declared on vitest's ProvidedContext in vitest.workers.config.ts.
export default async function setup(project: TestProject) {
  const upstream = await startUpstream();
  project.provide("upstreamUrl", upstream.url);
  return async () => {
    await upstream.close();
  };
}
