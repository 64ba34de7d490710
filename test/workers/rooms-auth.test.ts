import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { signSessionToken, verifySessionToken } from "../../workers/lib/session-token.js";
import { createUser, edge, errorCode, randomId } from "./helpers.js";
import { createStreamRow, mintToken, openSocket, upgradeRequest } from "./socket-helpers.js";

describe("sessions", () => {
  it("anonymous: a signed, expiring token; only a keyed IP fingerprint is stored", async () => {
    const res = await edge("/api/session/anonymous", { method: "POST", headers: { "CF-Connecting-IP": "203.0.113.7" } });
    expect(res.status).toBe(201);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    const body = (await res.json()) as { token: string; userId: string; role: string; expiresAt: number };
    expect(body.role).toBe("anonymous");
    expect(body.userId).toMatch(/^anon_[a-z0-9]{20}$/);
    expect(body.expiresAt - Date.now()).toBeGreaterThan(3500_000);
    expect(body.expiresAt - Date.now()).toBeLessThanOrEqual(3600_000);
    const verified = await verifySessionToken(env.TOKEN_SECRET, body.token);
    expect(verified).toMatchObject({ ok: true, claims: { sub: body.userId, role: "anonymous", anon: true } });

    const row = await env.DB.prepare("SELECT * FROM anonymous_viewers WHERE id = ?1").bind(body.userId).first<Record<string, string>>();
    expect(row!.ip_fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(row)).not.toContain("203.0.113.7");
    // same IP, same fingerprint; another IP, another one
    const again = (await (
      await edge("/api/session/anonymous", { method: "POST", headers: { "CF-Connecting-IP": "203.0.113.7" } })
    ).json()) as { userId: string };
    const other = (await (
      await edge("/api/session/anonymous", { method: "POST", headers: { "CF-Connecting-IP": "198.51.100.1" } })
    ).json()) as { userId: string };
    const fp = async (id: string) =>
      (await env.DB.prepare("SELECT ip_fingerprint AS f FROM anonymous_viewers WHERE id = ?1").bind(id).first<{ f: string }>())!.f;
    expect(await fp(again.userId)).toBe(row!.ip_fingerprint);
    expect(await fp(other.userId)).not.toBe(row!.ip_fingerprint);
  });

  it("anonymous: a flood from one address is refused with 429 and mints nothing; other addresses are unaffected", async () => {
    // ANON_SESSIONS_PER_MINUTE is 5 in the test pool (vitest.workers.config.ts)
    const ip = "192.0.2.99";
    const mint = (from: string) => edge("/api/session/anonymous", { method: "POST", headers: { "CF-Connecting-IP": from } });
    for (let i = 0; i < 5; i++) expect((await mint(ip)).status).toBe(201);
    const refused = await mint(ip);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("Retry-After")).toBe("60");
    expect(await errorCode(refused)).toBe("rate_limited");
    const { n } = (await env.DB.prepare("SELECT count(*) AS n FROM anonymous_viewers WHERE created_at > ?1")
      .bind(Date.now() - 60_000)
      .first<{ n: number }>())!;
    expect((await mint(ip)).status).toBe(429);
    const { n: after } = (await env.DB.prepare("SELECT count(*) AS n FROM anonymous_viewers WHERE created_at > ?1")
      .bind(Date.now() - 60_000)
      .first<{ n: number }>())!;
    expect(after).toBe(n);
    expect((await mint("192.0.2.100")).status).toBe(201);
  });

  it("registered users exchange their API key for a token with their role", async () => {
    const { id, apiKey } = await createUser("broadcaster");
    const res = await edge("/api/session", { method: "POST", headers: { Authorization: `Bearer ${apiKey}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token: string; userId: string; role: string };
    expect(body).toMatchObject({ userId: id, role: "broadcaster" });
    expect(await verifySessionToken(env.TOKEN_SECRET, body.token)).toMatchObject({
      ok: true,
      claims: { sub: id, role: "broadcaster", anon: false },
    });

    const none = await edge("/api/session", { method: "POST" });
    expect(none.status).toBe(401);
    const bad = await edge("/api/session", { method: "POST", headers: { Authorization: `Bearer ak_${randomId(40)}` } });
    expect(bad.status).toBe(401);
  });
});

describe("socket upgrade: auth and validation", () => {
  it("401 without a token, with a forged or tampered one, token_expired when expired", async () => {
    const { streamId } = await createStreamRow();
    const path = `/ws/streams/${streamId}`;

    const none = await upgradeRequest(path, { token: null });
    expect(none.status).toBe(401);
    expect(none.headers.get("Content-Type")).toContain("application/json");
    expect(await errorCode(none)).toBe("unauthorized");

    const forged = (await signSessionToken("another-secret-0123456789", { sub: "mallory", role: "admin", anon: false })).token;
    const forgedRes = await upgradeRequest(path, { token: forged });
    expect(forgedRes.status).toBe(401);
    expect(await errorCode(forgedRes)).toBe("unauthorized");

    const good = await mintToken("alice");
    const [h, p, s] = good.split(".");
    const payload = JSON.parse(atob(p!.replace(/-/g, "+").replace(/_/g, "/")));
    const tamperedPayload = btoa(JSON.stringify({ ...payload, role: "admin" }))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "");
    const tampered = await upgradeRequest(path, { token: `${h}.${tamperedPayload}.${s}` });
    expect(tampered.status).toBe(401);
    expect((await upgradeRequest(path, { token: "not-a-token" })).status).toBe(401);

    const expired = await mintToken("bob", "anonymous", { now: Date.now() - 2 * 3600_000 });
    const expiredRes = await upgradeRequest(path, { token: expired });
    expect(expiredRes.status).toBe(401);
    expect(await errorCode(expiredRes)).toBe("token_expired");
  });

  it("426 without an upgrade, 400 for bad ids or since, 404 for unknown rooms", async () => {
    const { streamId } = await createStreamRow();
    const token = await mintToken("carol");
    const plain = await edge(`/ws/streams/${streamId}?token=${token}`);
    expect(plain.status).toBe(426);
    expect(await errorCode(plain)).toBe("upgrade_required");

    const badSince = await edge(`/ws/streams/${streamId}?token=${token}&since=-1`, { headers: { Upgrade: "websocket" } });
    expect(badSince.status).toBe(400);
    expect(await errorCode(badSince)).toBe("bad_since");
    expect((await upgradeRequest("/ws/streams/NOT_VALID", { token })).status).toBe(400);
    expect((await upgradeRequest("/ws/events/bad%20id", { token })).status).toBe(400);

    const unknownStream = await upgradeRequest(`/ws/streams/${randomId()}`, { token });
    expect(unknownStream.status).toBe(404);
    expect(await errorCode(unknownStream)).toBe("unknown_stream");
    const unknownEvent = await upgradeRequest(`/ws/events/nope-${randomId(6)}`, { token });
    expect(unknownEvent.status).toBe(404);
    expect(await errorCode(unknownEvent)).toBe("unknown_event");
  });

  it("a socket whose token expires is closed with 4001", async () => {
    const { streamId } = await createStreamRow();
    const token = await mintToken(`short_${randomId(6)}`, "anonymous", { ttlSeconds: 2 });
    const socket = await openSocket(`/ws/streams/${streamId}`, { token });
    await socket.next((f) => f.type === "hello");
    const closed = await Promise.race([socket.closed, new Promise<null>((r) => setTimeout(() => r(null), 6_000))]);
    expect(closed).toEqual({ code: 4001, reason: "token expired" });
  });
});
