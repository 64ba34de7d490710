import { intFromEnv, type Env } from "../env.js";
import { JsonFeedProvider } from "./json-feed-provider.js";
import type { EventProvider } from "./provider.js";

export const DEFAULT_PROVIDER_TIMEOUT_MS = 2_000;

/** The configured provider (EVENT_PROVIDER_URL, generic JSON feed), or null. */
export function providerFromEnv(env: Pick<Env, "EVENT_PROVIDER_URL" | "EVENT_PROVIDER_TIMEOUT_MS">): EventProvider | null {
  const url = env.EVENT_PROVIDER_URL?.trim();
  if (!url) return null;
  return new JsonFeedProvider(url, { timeoutMs: intFromEnv(env.EVENT_PROVIDER_TIMEOUT_MS, DEFAULT_PROVIDER_TIMEOUT_MS) });
}
