import type { D1Migration } from "cloudflare:test";
import type { Env as WorkerEnv } from "../../workers/env.js";

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {
      TEST_MIGRATIONS: D1Migration[];
      TEST_UPSTREAM_URL: string;
    }
  }
}
