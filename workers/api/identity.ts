/**
 * Who is calling: `Authorization: Bearer <apiKey>` (users table) or
 * `Bearer <session token>` (POST /api/session[/anonymous]). A present but
 * invalid credential is 401; none at all is anonymous (null) or 401 when
 * required.
 */
import type { Context } from "hono";
import { bearerCredential } from "./auth.js";
import { parseConfig } from "../config.js";
import type { AppEnv } from "../env.js";
import { HttpError } from "../lib/errors.js";
import { findUserByApiKey } from "../lib/users.js";
import { verifySessionToken, type TokenRole } from "../lib/session-token.js";

export interface Identity {
  userId: string;
  role: TokenRole;
  anon: boolean;
  via: "api_key" | "session";
}

const unauthorized = (message: string) => new HttpError(401, "unauthorized", message, { "WWW-Authenticate": "Bearer" });

export async function optionalIdentity(c: Context<AppEnv>): Promise<Identity | null> {
  const header = c.req.header("Authorization");
  if (header === undefined || header.trim() === "") return null;
  const credential = bearerCredential(header);
  if (credential === undefined) throw unauthorized("malformed Authorization header");
  if (credential.split(".").length === 3) {
    const result = await verifySessionToken(parseConfig(c.env).tokenSecret ?? undefined, credential);
    if (!result.ok) throw unauthorized(`session token ${result.reason}`);
    return { userId: result.claims.sub, role: result.claims.role, anon: result.claims.anon, via: "session" };
  }
  const user = await findUserByApiKey(c.env.DB, credential);
  if (user === undefined) throw unauthorized("unknown API key");
  return { userId: user.id, role: user.role, anon: false, via: "api_key" };
}

export async function requireIdentity(c: Context<AppEnv>): Promise<Identity> {
  const identity = await optionalIdentity(c);
  if (identity === null) throw unauthorized("missing bearer API key or session token");
  return identity;
}
