import type { WorkerConfig } from "../config.js";
import { JsonFeedProvider } from "./json-feed-provider.js";
import type { EventProvider } from "./provider.js";

/** The configured provider (EVENT_PROVIDER_URL, generic JSON feed), or null. */
export function providerFrom(events: WorkerConfig["events"]): EventProvider | null {
  return events.providerUrl === null ? null : new JsonFeedProvider(events.providerUrl, { timeoutMs: events.providerTimeoutMs });
}
