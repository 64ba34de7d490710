/**
 * Workers tests: run inside workerd via @cloudflare/vitest-pool-workers,
 * reading wrangler.toml (bindings, DO, D1). A real Node HTTP origin
 * is started in globalSetup and handed to the Worker as TEST_UPSTREAM_URL.
 */
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

declare module "vitest" {
  export interface ProvidedContext {
    /** Base URL of the real test origin started in globalSetup. */
    upstreamUrl: string;
    /** Base URL of the event provider simulator started in globalSetup. */
    providerUrl: string;
  }
}

const migrationsDir = fileURLToPath(new URL("./schema/migrations", import.meta.url));

export default defineConfig({
  plugins: [
    cloudflareTest(async ({ inject }) => ({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          ORIGIN_SHARED_SECRET: "test-origin-secret",
          TOKEN_SECRET: "test-token-secret-0123456789",
          ANON_SESSIONS_PER_MINUTE: "5",
          // event rooms poll the real simulator; short backoff keeps outage tests quick
          EVENT_PROVIDER_URL: inject("providerUrl"),
          EVENT_POLL_MS: "250",
          EVENT_POLL_MAX_BACKOFF_MS: "1000",
          EVENT_PROVIDER_TIMEOUT_MS: "500",
          EVENT_POLL_LEASE_MS: "3000",
          // short windows keep the stale-if-error tests fast
          STALE_IF_ERROR_MS: "2500",
          ORIGIN_TIMEOUT_MS: "700",
          // X-Dev-Colo / X-Dev-Region simulate colos and regions (workers/tiers/regions.ts)
          DEV_COLO_HEADER: "1",
          TEST_MIGRATIONS: await readD1Migrations(migrationsDir),
          TEST_UPSTREAM_URL: inject("upstreamUrl"),
        },
      },
    })),
  ],
  test: {
    include: ["test/workers/**/*.test.ts"],
    globalSetup: ["./test/workers/node/global-setup.ts"],
    setupFiles: ["./test/workers/setup.ts"],
    testTimeout: 20_000,
  },
});
