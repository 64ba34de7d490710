/**
 * Origin → Worker calls are HMAC-signed over timestamp, nonce, method,
 * path+query and the raw body (common/signing.ts) with ORIGIN_SHARED_SECRET.
 * One check for every such call, JSON or binary: 401 `bad_signature` for a
 * missing, wrong, stale or too-far-future signature; 409 `replayed_request`
 * for a request whose nonce was already accepted.
 *
 * Nonces are remembered in D1 (`signed_request_nonces`, primary key = nonce)
 * until the request's timestamp leaves the acceptance window. D1 rather than
 * a Durable Object: every isolate of every colo sees the same table, the
 * primary key makes "first one wins" atomic however many replays race (one
 * INSERT succeeds, the others insert nothing), it survives restarts, and it
 * adds no object that every signed call in the world would queue on. The
 * lookup fails closed: a D1 error is a 500, never an unchecked request.
 */
import { lt } from "drizzle-orm";
import { MAX_AGE_MS, NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyRequest, type SignedBody } from "../../common/signing.js";
import { getDb, schema } from "./db.js";
import { HttpError } from "./errors.js";

/**
 * Expired rows are dropped this long after their expiry, not at once, so a
 * clock running a little ahead in another isolate cannot drop a nonce that a
 * clock running behind would still accept a replay of.
 */
const PURGE_SLACK_MS = MAX_AGE_MS;

/** Records `nonce` as spent; false when it already was (a replay). */
async function spendNonce(db: D1Database, nonce: string, expiresAt: number, now: number): Promise<boolean> {
  const d = getDb(db);
  const table = schema.signedRequestNonces;
  const [, inserted] = await d.batch([
    d.delete(table).where(lt(table.expiresAt, now - PURGE_SLACK_MS)),
    d.insert(table).values({ nonce, expiresAt }).onConflictDoNothing().returning({ nonce: table.nonce }),
  ]);
  return inserted.length === 1;
}

/** Verifies the signature and spends its nonce; returns the request id (the nonce). */
export async function assertOriginSignature(request: Request, secret: string | null, body: SignedBody, db: D1Database): Promise<string> {
  const url = new URL(request.url);
  const verified = await verifyRequest(secret ?? "", request.method, url.pathname + url.search, body, {
    timestamp: request.headers.get(TIMESTAMP_HEADER),
    nonce: request.headers.get(NONCE_HEADER),
    signature: request.headers.get(SIGNATURE_HEADER),
  });
  if (verified === null) throw new HttpError(401, "bad_signature", "missing, stale or invalid request signature");
  if (!(await spendNonce(db, verified.nonce, verified.expiresAt, Date.now()))) {
    throw new HttpError(409, "replayed_request", "this signed request was already accepted (its nonce is spent)");
  }
  return verified.nonce;
}
