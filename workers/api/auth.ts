/** Who may call a route: API keys (Bearer) and origin signatures (HMAC). */
import type { MiddlewareHandler } from "hono";
import type { UserRole } from "../../schema/index.js";
import { parseConfig } from "../config.js";
import type { AppEnv } from "../env.js";
import { assertJsonBody, readBodyText } from "../lib/body.js";
import { HttpError } from "../lib/errors.js";
import { assertOriginSignature } from "../lib/origin-auth.js";
import { findUserByApiKey } from "../lib/users.js";

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** The credential of `Authorization: Bearer <credential>`; undefined when absent or malformed. */
export function bearerCredential(header: string | undefined): string | undefined {
  return BEARER.exec(header ?? "")?.[1];
}

/** `Authorization: Bearer <apiKey>` of a user with one of `roles`: 401 / 403 otherwise. */
export function requireApiKey(roles: readonly UserRole[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const apiKey = bearerCredential(c.req.header("Authorization"));
    if (apiKey === undefined) throw new HttpError(401, "unauthorized", "missing bearer API key", { "WWW-Authenticate": "Bearer" });
    const user = await findUserByApiKey(c.env.DB, apiKey);
    if (user === undefined) throw new HttpError(401, "unauthorized", "unknown API key", { "WWW-Authenticate": "Bearer" });
    if (!roles.includes(user.role)) throw new HttpError(403, "forbidden", `role '${user.role}' may not do this`);
    c.set("user", user);
    await next();
  };
}

/** Reads the JSON body once (≤ 16 KiB, 413 otherwise; 415 unless declared JSON) into `rawBody`. */
export const readBody: MiddlewareHandler<AppEnv> = async (c, next) => {
  const raw = await readBodyText(c.req.raw);
  assertJsonBody(c.req.raw, raw);
  c.set("rawBody", raw);
  await next();
};

/**
 * Origin → Worker JSON calls: the signed body is read once into `rawBody`;
 * the signature's nonce (spent now: a replay is refused) is the `requestId`.
 */
export const requireOriginSignature: MiddlewareHandler<AppEnv> = async (c, next) => {
  const raw = await readBodyText(c.req.raw);
  c.set("requestId", await assertOriginSignature(c.req.raw, parseConfig(c.env).originSharedSecret, raw, c.env.DB));
  assertJsonBody(c.req.raw, raw);
  c.set("rawBody", raw);
  await next();
};
