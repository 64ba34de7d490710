import { eq } from "drizzle-orm";
import type { MiddlewareHandler } from "hono";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyRequest } from "../../common/signing.js";
import type { UserRole } from "../../schema/index.js";
import type { AppEnv } from "../env.js";
import { readBodyText } from "../lib/body.js";
import { getDb, schema } from "../lib/db.js";
import { HttpError } from "../lib/errors.js";
import { hashSecret } from "../lib/random.js";

/** `Authorization: Bearer <apiKey>` of a user with one of `roles`: 401 / 403 otherwise. */
export function requireApiKey(roles: readonly UserRole[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header("Authorization") ?? "";
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) {
      throw new HttpError(401, "unauthorized", "missing bearer API key", { "WWW-Authenticate": "Bearer" });
    }
    const [user] = await getDb(c.env.DB)
      .select()
      .from(schema.users)
      .where(eq(schema.users.apiKeyHash, await hashSecret(match[1]!)))
      .limit(1);
    if (user === undefined) {
      throw new HttpError(401, "unauthorized", "unknown API key", { "WWW-Authenticate": "Bearer" });
    }
    if (!roles.includes(user.role)) {
      throw new HttpError(403, "forbidden", `role '${user.role}' may not do this`);
    }
    c.set("user", user);
    await next();
  };
}

/** Reads the body once (≤ 16 KiB, 413 otherwise) into `rawBody`. */
export const readBody: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.set("rawBody", await readBodyText(c.req.raw));
  await next();
};

/**
 * Origin → Worker calls: HMAC over timestamp, method, path+query and the raw
 * body (common/signing.ts) with ORIGIN_SHARED_SECRET; 401 `bad_signature`.
 */
export const requireOriginSignature: MiddlewareHandler<AppEnv> = async (c, next) => {
  const raw = await readBodyText(c.req.raw);
  const url = new URL(c.req.url);
  const ok = await verifyRequest(
    c.env.ORIGIN_SHARED_SECRET ?? "",
    c.req.method,
    url.pathname + url.search,
    raw,
    c.req.header(TIMESTAMP_HEADER),
    c.req.header(SIGNATURE_HEADER),
  );
  if (!ok) throw new HttpError(401, "bad_signature", "missing, stale or invalid request signature");
  c.set("rawBody", raw);
  await next();
};
