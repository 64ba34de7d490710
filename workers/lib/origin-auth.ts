/**
 * Origin → Worker calls are HMAC-signed over timestamp, method, path+query
 * and the raw body (common/signing.ts) with ORIGIN_SHARED_SECRET. One check
 * for every such call, JSON or binary: 401 `bad_signature` otherwise.
 */
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyRequest, type SignedBody } from "../../common/signing.js";
import { HttpError } from "./errors.js";

export async function assertOriginSignature(request: Request, secret: string | null, body: SignedBody): Promise<void> {
  const url = new URL(request.url);
  const ok = await verifyRequest(
    secret ?? "",
    request.method,
    url.pathname + url.search,
    body,
    request.headers.get(TIMESTAMP_HEADER),
    request.headers.get(SIGNATURE_HEADER),
  );
  if (!ok) throw new HttpError(401, "bad_signature", "missing, stale or invalid request signature");
}
