/**
 * The Worker's bindings. `Env` is generated from wrangler.toml by
 * `npm run types` (workers/worker-configuration.d.ts, checked by `npm test`);
 * this file adds what wrangler.toml cannot say (the secrets) and the hono
 * types. Read configuration values through parseConfig (config.ts), never
 * from `env` directly.
 */
import type { User } from "../schema/index.js";

declare global {
  namespace Cloudflare {
    interface Env {
      /** HMAC secret shared with origin boxes (secret). */
      ORIGIN_SHARED_SECRET: string;
      /** HMAC secret of session tokens and IP fingerprints (secret, ≥ 16 characters). */
      TOKEN_SECRET: string;
    }
  }
}

export type Env = Cloudflare.Env;

type AppVariables = {
  /** Raw request body, read once (size-limited) by the body/signature middleware. */
  rawBody: string;
  /** Id of a signed origin call (its nonce, spent by the signature middleware). */
  requestId: string;
  /** Authenticated API user (bearer middleware). */
  user: User;
};

export type AppEnv = { Bindings: Env; Variables: AppVariables };
