/** Request signing between origin and Worker (common/signing.ts). */
import { describe, expect, it } from "vitest";
import { signRequest, verifyRequest } from "../../common/signing.js";

describe("request signing", () => {
  const secret = "s".repeat(32);
  it("verifies what it signed and nothing else", async () => {
    const now = 1_700_000_000_000;
    const headers = await signRequest(secret, "POST", "/api/internal/publish", '{"a":1}', now);
    const signed = {
      timestamp: headers["x-signature-timestamp"],
      nonce: headers["x-signature-nonce"],
      signature: headers["x-signature"],
    };
    expect(await verifyRequest(secret, "POST", "/api/internal/publish", '{"a":1}', signed, now + 1000)).toEqual({
      nonce: signed.nonce,
      timestamp: now,
      expiresAt: now + 60_000,
    });
    expect(await verifyRequest(secret, "POST", "/api/internal/publish", '{"a":2}', signed, now)).toBeNull();
    expect(await verifyRequest(secret, "POST", "/api/internal/other", '{"a":1}', signed, now)).toBeNull();
    expect(await verifyRequest("t".repeat(32), "POST", "/api/internal/publish", '{"a":1}', signed, now)).toBeNull();
    expect(await verifyRequest(secret, "POST", "/api/internal/publish", '{"a":1}', signed, now + 120_000)).toBeNull();
    expect(await verifyRequest(secret, "POST", "/api/internal/publish", '{"a":1}', { ...signed, timestamp: undefined }, now)).toBeNull();
    // the nonce is signed: another nonce (or none) does not verify
    expect(await verifyRequest(secret, "POST", "/api/internal/publish", '{"a":1}', { ...signed, nonce: "a".repeat(36) }, now)).toBeNull();
    expect(await verifyRequest(secret, "POST", "/api/internal/publish", '{"a":1}', { ...signed, nonce: null }, now)).toBeNull();
  });

  it("accepts a timestamp up to 60 s old but only 5 s ahead; every request gets a new nonce", async () => {
    const now = 1_700_000_000_000;
    const at = async (signedAt: number) => {
      const h = await signRequest(secret, "GET", "/x", "", signedAt);
      const signed = { timestamp: h["x-signature-timestamp"], nonce: h["x-signature-nonce"], signature: h["x-signature"] };
      return (await verifyRequest(secret, "GET", "/x", "", signed, now)) !== null;
    };
    expect(await at(now - 59_000)).toBe(true);
    expect(await at(now - 61_000)).toBe(false);
    expect(await at(now + 4_000)).toBe(true);
    expect(await at(now + 6_000)).toBe(false);
    const a = await signRequest(secret, "GET", "/x", "", now);
    const b = await signRequest(secret, "GET", "/x", "", now);
    expect(a["x-signature-nonce"]).not.toBe(b["x-signature-nonce"]);
  });
});
