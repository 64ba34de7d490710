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
import { intFromEnv, type AppEnv, type Env } from "../env.js";
import { clientIp, ipFingerprint } from "../lib/client-info.js";
import { getDb, schema } from "../lib/db.js";
import { HttpError } from "../lib/errors.js";
import { randomString } from "../lib/random.js";
import { DEFAULT_TOKEN_TTL_S, MIN_SECRET_LENGTH, signSessionToken } from "../lib/session-token.js";
import { requireApiKey } from "./auth.js";

function tokenSecret(env: Env): string {
  const secret = env.TOKEN_SECRET;
  if (typeof secret !== "string" || secret.length < MIN_SECRET_LENGTH) {
    console.error("TOKEN_SECRET is not configured (>= 16 characters); sessions cannot be issued");
    throw new HttpError(503, "sessions_unavailable", "sessions are not configured on this server");
  }
  return secret;
}

function ttlSeconds(env: Env): number {
  return Math.max(1, intFromEnv(env.TOKEN_TTL_S, DEFAULT_TOKEN_TTL_S));
}

export const sessionsApi = new Hono<AppEnv>();

sessionsApi.post("/anonymous", async (c) => {
  const secret = tokenSecret(c.env);
  const userId = `anon_${randomString(20, "0123456789abcdefghijklmnopqrstuvwxyz")}`;
  const now = Date.now();
  await getDb(c.env.DB)
    .insert(schema.anonymousViewers)
    .values({ id: userId, ipFingerprint: await ipFingerprint(secret, clientIp(c.req.raw)), createdAt: now });
  const { token, expiresAt } = await signSessionToken(
    secret,
    { sub: userId, role: "anonymous", anon: true },
    { ttlSeconds: ttlSeconds(c.env), now },
  );
  return c.json({ token, userId, role: "anonymous", expiresAt }, 201, { "Cache-Control": "no-store" });
});

sessionsApi.post("/", requireApiKey(USER_ROLES), async (c) => {
  const user = c.get("user");
  const { token, expiresAt } = await signSessionToken(
    tokenSecret(c.env),
    { sub: user.id, role: user.role, anon: false },
    { ttlSeconds: ttlSeconds(c.env) },
  );
  return c.json({ token, userId: user.id, role: user.role, expiresAt }, 200, { "Cache-Control": "no-store" });
});
