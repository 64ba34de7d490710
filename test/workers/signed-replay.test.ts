/**
 * Origin → Worker calls are HMAC-signed; a captured
 * request must not be accepted again. Each signed request carries a nonce
 * (its request id) that the Worker remembers for the acceptance window, the
 * timestamp may lie only a few seconds in the future, and the state changes
 * a replay would repeat are keyed by the request id.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { signRequest } from "../../common/signing.js";
import { edge, errorCode, randomId } from "./helpers.js";
import { createStreamRow, openSocket, type TestSocket } from "./socket-helpers.js";

const open: TestSocket[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

/** One signed request, captured: the same method, path, headers and body every time it is sent. */
async function capture(method: string, path: string, payload: unknown, now?: number) {
  const body = JSON.stringify(payload);
  const headers = { ...(await signRequest(env.ORIGIN_SHARED_SECRET, method, path, body, now)), "Content-Type": "application/json" };
  return () => edge(path, { method, headers, body });
}

describe("signed calls cannot be replayed", () => {
  it("a captured system post delivers its gift once: the replays are refused (409 replayed_request)", async () => {
    const { streamId } = await createStreamRow();
    const viewer = await openSocket(`/ws/streams/${streamId}`);
    open.push(viewer);
    await viewer.next((f) => f.type === "hello");
    const send = capture("POST", `/api/internal/streams/${streamId}/system`, { event: "gift", data: { from: "fan", kind: "trophy" } });
    const post = await send;
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await post()).status);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const gifts = viewer.frames.filter((f) => f.type === "system" && f.event === "gift");
    console.log(`replaying a signed system post 3 times: ${gifts.length} gift(s) delivered, statuses ${statuses.join(",")}`);
    expect(statuses).toEqual([200, 409, 409]);
    expect(gifts).toHaveLength(1);
    const again = await post();
    expect(await errorCode(again)).toBe("replayed_request");
  });

  it("concurrent replays of one request: exactly one is accepted", async () => {
    const { streamId } = await createStreamRow();
    const post = await capture("POST", `/api/internal/streams/${streamId}/system`, { event: "gift", data: { n: 1 } });
    const statuses = (await Promise.all(Array.from({ length: 6 }, () => post()))).map((r) => r.status).sort();
    expect(statuses).toEqual([200, 409, 409, 409, 409, 409]);
  });

  it("a captured dev-broadcaster call mints one API key, not one per replay", async () => {
    const name = `seed-${randomId(8)}`;
    const post = await capture("POST", "/api/internal/dev/broadcasters", { name });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await post()).status);
    const { n } = (await env.DB.prepare("SELECT COUNT(*) AS n FROM users WHERE name = ?1").bind(name).first<{ n: number }>())!;
    console.log(`replaying a signed dev-broadcaster call 3 times: ${n} API key(s) minted, statuses ${statuses.join(",")}`);
    expect(n).toBe(1);
    expect(statuses[0]).toBe(201);
  });

  it("timestamps more than a few seconds in the future are refused; a few seconds of skew are fine", async () => {
    const { streamId } = await createStreamRow();
    const path = `/api/internal/streams/${streamId}/system`;
    const future = await capture("POST", path, { event: "gift" }, Date.now() + 30_000);
    const res = await future();
    expect(res.status).toBe(401);
    expect(await errorCode(res)).toBe("bad_signature");
    const slightlyAhead = await capture("POST", path, { event: "gift" }, Date.now() + 2_000);
    expect((await slightlyAhead()).status).toBe(200);
    const slightlyBehind = await capture("POST", path, { event: "gift" }, Date.now() - 20_000);
    expect((await slightlyBehind()).status).toBe(200);
  });

  it("a signed upload cannot be replayed either", async () => {
    const { streamId } = await createStreamRow();
    const path = `/api/internal/streams/${streamId}/vod/index.m3u8`;
    const playlist = "#EXTM3U\n#EXT-X-ENDLIST\n";
    const headers = await signRequest(env.ORIGIN_SHARED_SECRET, "PUT", path, playlist);
    const put = () =>
      edge(path, { method: "PUT", headers: { ...headers, "Content-Type": "application/vnd.apple.mpegurl" }, body: playlist });
    expect((await put()).status).toBe(201);
    const replay = await put();
    expect(replay.status).toBe(409);
    expect(await errorCode(replay)).toBe("replayed_request");
  });

  it("a replay that slips past the nonce store still changes nothing: system posts and dev seeds are keyed by the request id", async () => {
    const { streamId } = await createStreamRow();
    const viewer = await openSocket(`/ws/streams/${streamId}`);
    open.push(viewer);
    await viewer.next((f) => f.type === "hello");
    const post = await capture("POST", `/api/internal/streams/${streamId}/system`, { event: "gift", data: { kind: "once" } });
    const name = `seed-${randomId(8)}`;
    const seed = await capture("POST", "/api/internal/dev/broadcasters", { name });
    const first = await post();
    const seeded = (await (await seed()).json()) as { userId: string; apiKey: string };
    // the nonce store forgets (as if its rows were lost): the Worker lets the replays through
    await env.DB.prepare("DELETE FROM signed_request_nonces").run();
    const again = await post();
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(await first.json());
    const reseeded = await seed();
    expect(reseeded.status).toBe(200);
    expect(await reseeded.json()).toEqual(seeded);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(viewer.frames.filter((f) => f.type === "system" && f.event === "gift")).toHaveLength(1);
    const { n } = (await env.DB.prepare("SELECT COUNT(*) AS n FROM users WHERE name = ?1").bind(name).first<{ n: number }>())!;
    expect(n).toBe(1);
  });

  it("spent nonces are dropped once their signature could no longer be accepted", async () => {
    await env.DB.prepare("INSERT INTO signed_request_nonces (nonce, expires_at) VALUES ('old-nonce-0000000000', ?1)")
      .bind(Date.now() - 10 * 60_000)
      .run();
    const { streamId } = await createStreamRow();
    const post = await capture("POST", `/api/internal/streams/${streamId}/system`, { event: "gift" });
    expect((await post()).status).toBe(200);
    const old = await env.DB.prepare("SELECT nonce FROM signed_request_nonces WHERE nonce = 'old-nonce-0000000000'").first();
    expect(old).toBeNull();
  });

  it("a request without a nonce is refused", async () => {
    const { streamId } = await createStreamRow();
    const path = `/api/internal/streams/${streamId}/system`;
    const body = JSON.stringify({ event: "gift" });
    const headers: Record<string, string> = await signRequest(env.ORIGIN_SHARED_SECRET, "POST", path, body);
    delete headers["x-signature-nonce"];
    const res = await edge(path, { method: "POST", headers: { ...headers, "Content-Type": "application/json" }, body });
    expect(res.status).toBe(401);
  });
});
