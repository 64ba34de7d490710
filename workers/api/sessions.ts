/**
 * Session tokens for the sockets (mounted at /api/session):
 *
 *   POST /api/session/anonymous  → 201 { token, userId, role: "anonymous", expiresAt }
 *       mints an anonymous viewer account; only a keyed fingerprint of the
 *       client IP is kept (D1 anonymous_viewers), never the IP itself.
 *   POST /api/session            (Authorization: Bearer <apiKey>)
 *                                → 200 { token, userId, role, expiresAt }
 *
 * Tokens are HS256 JWTs under TOKEN_SECRET (workers/lib/session-token.ts),
 * valid TOKEN_TTL_S seconds (default 3600).
 */
import { Hono } from "hono";
import { USER_ROLES } from "../../schema/index.js";
import { parseConfig } from "../config.js";
import type { AppEnv, Env } from "../env.js";
import { clientIp, ipFingerprint } from "../lib/client-info.js";
import { HttpError } from "../lib/errors.js";
import { anonymousSessionsSince, insertAnonymousViewer } from "../lib/users.js";
import { randomString } from "../lib/random.js";
import { signSessionToken } from "../lib/session-token.js";
import { requireApiKey } from "./auth.js";

function tokenSecret(env: Env): string {
  const secret = parseConfig(env).tokenSecret;
  if (secret === null) {
    console.error("TOKEN_SECRET is not configured (>= 16 characters); sessions cannot be issued");
    throw new HttpError(503, "sessions_unavailable", "sessions are not configured on this server");
  }
  return secret;
}

export const sessionsApi = new Hono<AppEnv>();

sessionsApi.post("/anonymous", async (c) => {
  const secret = tokenSecret(c.env);
  const userId = `anon_${randomString(20, "0123456789abcdefghijklmnopqrstuvwxyz")}`;
  const now = Date.now();
  const fingerprint = await ipFingerprint(secret, clientIp(c.req.raw));
  // A flood of anonymous accounts from one address is refused, not minted.
  const limit = parseConfig(c.env).anonSessionsPerMinute;
  if (limit > 0) {
    if ((await anonymousSessionsSince(c.env.DB, fingerprint, now - 60_000)) >= limit) {
      throw new HttpError(429, "rate_limited", `at most ${limit} anonymous sessions per minute per client`, { "Retry-After": "60" });
    }
  }
  await insertAnonymousViewer(c.env.DB, userId, fingerprint, now);
  const { token, expiresAt } = await signSessionToken(
    secret,
    { sub: userId, role: "anonymous", anon: true },
    { ttlSeconds: parseConfig(c.env).tokenTtlSeconds, now },
  );
  return c.json({ token, userId, role: "anonymous", expiresAt }, 201, { "Cache-Control": "no-store" });
});

sessionsApi.post("/", requireApiKey(USER_ROLES), async (c) => {
  const user = c.get("user");
  const { token, expiresAt } = await signSessionToken(
    tokenSecret(c.env),
    { sub: user.id, role: user.role, anon: false },
    { ttlSeconds: parseConfig(c.env).tokenTtlSeconds },
  );
  return c.json({ token, userId: user.id, role: user.role, expiresAt }, 200, { "Cache-Control": "no-store" });
});
