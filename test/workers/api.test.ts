import { SELF } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sha256Hex, signRequest } from "../../common/signing.js";
import { createUser, edge, errorCode, randomId, signedFetch } from "./helpers.js";

async function json<T = Record<string, unknown>>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

async function heartbeat(originId: string, extra: Record<string, unknown> = {}) {
  return signedFetch("POST", "/api/internal/origins/heartbeat", {
    originId,
    baseUrl: `http://${originId}.origin.test:8080`,
    rtmpUrl: `rtmp://${originId}.origin.test:1935/live`,
    capacity: 10,
    activeStreams: 0,
    ...extra,
  });
}

function createStream(apiKey: string | null, body?: string, headers: Record<string, string> = {}) {
  return edge("/api/streams", {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      ...(apiKey === null ? {} : { Authorization: `Bearer ${apiKey}` }),
      ...headers,
    },
    body: body ?? "{}",
  });
}

/** No origin counts as live: every heartbeat is made old. */
async function expireAllOrigins() {
  await env.DB.prepare("UPDATE origins SET last_heartbeat_at = 0").run();
}

describe("POST /api/streams", () => {
  it("401 without or with an unknown key, 403 for a non-broadcaster", async () => {
    const missing = await createStream(null);
    expect(missing.status).toBe(401);
    expect(await errorCode(missing)).toBe("unauthorized");

    const unknown = await createStream(`ak_${randomId(40)}`);
    expect(unknown.status).toBe(401);
    expect(await errorCode(unknown)).toBe("unauthorized");

    const viewer = await createUser("viewer");
    const forbidden = await createStream(viewer.apiKey);
    expect(forbidden.status).toBe(403);
    expect(await errorCode(forbidden)).toBe("forbidden");
  });

  it("400 for malformed JSON or a body that fails the schema, 413 above 16 KiB", async () => {
    const { apiKey } = await createUser("broadcaster");
    const cases: [string, string][] = [
      ["{not json", "invalid_json"],
      ["[1,2]", "invalid_body"],
      [JSON.stringify({ title: "x".repeat(201) }), "invalid_body"],
      [JSON.stringify({ tags: Array(11).fill("a") }), "invalid_body"],
      [JSON.stringify({ tags: ["x".repeat(33)] }), "invalid_body"],
      [JSON.stringify({ tags: "soccer" }), "invalid_body"],
      [JSON.stringify({ title: 5 }), "invalid_body"],
      [JSON.stringify({ unexpected: true }), "invalid_body"],
    ];
    for (const [body, code] of cases) {
      const res = await createStream(apiKey, body);
      expect(res.status, body).toBe(400);
      expect(await errorCode(res), body).toBe(code);
    }
    const big = await createStream(apiKey, JSON.stringify({ title: "x".repeat(17 * 1024) }));
    expect(big.status).toBe(413);
    expect(await errorCode(big)).toBe("payload_too_large");

    // streamed without Content-Length: counted while read
    const chunk = new TextEncoder().encode(" ".repeat(4096));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 5) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const streamed = await edge("/api/streams", {
      method: "POST",
      headers: { Authorization: `Bearer ${apiKey}`, "Content-Type": "application/json" },
      body: stream,
    });
    expect(streamed.status).toBe(413);
  });

  it("503 no_available_server without a live origin, then 201 on the least-loaded one", async () => {
    const { apiKey } = await createUser("broadcaster");
    await expireAllOrigins();
    const none = await createStream(apiKey);
    expect(none.status).toBe(503);
    expect(await errorCode(none)).toBe("no_available_server");

    const busy = `busy-${randomId(6)}`;
    const idle = `idle-${randomId(6)}`;
    const vip = `vip-${randomId(6)}`;
    const full = `full-${randomId(6)}`;
    expect((await heartbeat(busy, { capacity: 10, activeStreams: 5 })).status).toBe(200);
    expect((await heartbeat(idle, { capacity: 100, activeStreams: 10 })).status).toBe(200);
    expect((await heartbeat(vip, { capacity: 100, activeStreams: 0, pool: "vip" })).status).toBe(200);
    expect((await heartbeat(full, { capacity: 2, activeStreams: 2 })).status).toBe(200);

    // the event must exist (404 otherwise)
    await env.DB.prepare(
      `INSERT OR IGNORE INTO events (id, provider, sport, status, start_time, home_name, away_name, data, updated_at)
       VALUES ('evt-42', 'test', 'soccer', 'scheduled', 0, 'Home', 'Away', '{}', 0)`,
    ).run();
    const res = await createStream(apiKey, JSON.stringify({ title: "Derby <3 live", tags: ["soccer", "derby"], eventId: "evt-42" }));
    expect(res.status).toBe(201);
    const body = await json<{ streamId: string; streamKey: string; ingestUrl: string; playbackUrl: string; watchUrl: string }>(res);
    expect(body.streamId).toMatch(/^[a-z0-9]{16}$/);
    expect(body.streamKey).toMatch(/^sk_[A-Za-z0-9]{40}$/);
    expect(body.ingestUrl).toBe(`rtmp://${idle}.origin.test:1935/live/${body.streamKey}`);
    expect(body.playbackUrl).toBe(`http://edge.test/live/${body.streamId}/master.m3u8`);
    expect(body.watchUrl).toBe(`http://edge.test/watch/${body.streamId}`);

    // only the hash of the key is stored; the chosen origin got a reservation
    const row = await env.DB.prepare("SELECT key_hash, origin_id, status, tags, event_id FROM streams WHERE id = ?1")
      .bind(body.streamId)
      .first<{ key_hash: string; origin_id: string; status: string; tags: string; event_id: string }>();
    expect(row).toEqual({
      key_hash: await sha256Hex(body.streamKey),
      origin_id: idle,
      status: "created",
      tags: '["soccer","derby"]',
      event_id: "evt-42",
    });
    const origin = await env.DB.prepare("SELECT active_streams FROM origins WHERE id = ?1").bind(idle).first<{ active_streams: number }>();
    expect(origin?.active_streams).toBe(11);

    const read = await edge(`/api/streams/${body.streamId}`);
    expect(read.status).toBe(200);
    expect(await json(read)).toMatchObject({
      streamId: body.streamId,
      status: "created",
      title: "Derby <3 live",
      tags: ["soccer", "derby"],
      startedAt: null,
      endedAt: null,
      playbackUrl: body.playbackUrl,
    });
  });

  it("an empty body is an empty stream description", async () => {
    const { apiKey } = await createUser("broadcaster");
    await heartbeat(`o-${randomId(6)}`, { capacity: 1000 });
    const res = await edge("/api/streams", { method: "POST", headers: { Authorization: `Bearer ${apiKey}` } });
    expect(res.status).toBe(201);
  });
});

describe("GET /api/streams/:id", () => {
  it("400 for a malformed id, 404 for an unknown one", async () => {
    const bad = await edge("/api/streams/NOT_AN_ID");
    expect(bad.status).toBe(400);
    expect(await errorCode(bad)).toBe("bad_stream_id");
    const unknown = await edge(`/api/streams/${randomId()}`);
    expect(unknown.status).toBe(404);
    expect(await errorCode(unknown)).toBe("unknown_stream");
  });
});

describe("origin → Worker (HMAC-signed)", () => {
  async function newStream() {
    const originId = `o-${randomId(8)}`;
    await heartbeat(originId, { capacity: 1000 });
    const { apiKey } = await createUser("broadcaster");
    const created = await json<{ streamId: string; streamKey: string }>(await createStream(apiKey));
    return { originId, ...created };
  }

  it("401 bad_signature for missing, wrong, stale or tampered signatures", async () => {
    const body = JSON.stringify({ originId: "o1", streamKey: "sk_x" });
    const unsigned = await edge("/api/internal/publish", { method: "POST", body });
    expect(unsigned.status).toBe(401);
    expect(await errorCode(unsigned)).toBe("bad_signature");

    const wrongSecret = await signedFetch("POST", "/api/internal/publish", body, { secret: "not-the-secret" });
    expect(wrongSecret.status).toBe(401);

    const stale = await signedFetch("POST", "/api/internal/publish", body, { now: Date.now() - 5 * 60_000 });
    expect(stale.status).toBe(401);

    const headers = await signRequest(env.ORIGIN_SHARED_SECRET, "POST", "/api/internal/publish", body);
    const tampered = await edge("/api/internal/publish", {
      method: "POST",
      headers,
      body: body.replace("sk_x", "sk_y"),
    });
    expect(tampered.status).toBe(401);

    // signed for another route
    const otherRoute = await signRequest(env.ORIGIN_SHARED_SECRET, "POST", "/api/internal/origins/heartbeat", body);
    const replayed = await edge("/api/internal/publish", { method: "POST", headers: otherRoute, body });
    expect(replayed.status).toBe(401);

    const stats = await edge(`/api/internal/mother/${randomId()}/stats`);
    expect(stats.status).toBe(401);
  });

  it("publish: 404 unknown key, 200 (not live before media flows), live on the origin's report (first startedAt kept), 409 once ended", async () => {
    const { originId, streamId, streamKey } = await newStream();

    const unknown = await signedFetch("POST", "/api/internal/publish", { originId, streamKey: `sk_${randomId(40)}` });
    expect(unknown.status).toBe(404);
    expect(await errorCode(unknown)).toBe("unknown_stream_key");

    const invalid = await signedFetch("POST", "/api/internal/publish", { originId, streamKey: "../etc" });
    expect(invalid.status).toBe(400);

    const ok = await signedFetch("POST", "/api/internal/publish", { originId, streamKey });
    expect(ok.status).toBe(200);
    expect(await json(ok)).toEqual({ streamId });
    // authorized, not live: no media yet (a publish whose transcoder fails must not leave a "live" zombie)
    expect((await json<{ status: string }>(await edge(`/api/streams/${streamId}`))).status).toBe("created");
    const flowing = await signedFetch("POST", `/api/internal/streams/${streamId}/status`, { originId, status: "live" });
    expect(flowing.status).toBe(200);
    const live = await json<{ status: string; startedAt: number }>(await edge(`/api/streams/${streamId}`));
    expect(live.status).toBe("live");
    expect(live.startedAt).toBeGreaterThan(0);

    const reconnecting = await signedFetch("POST", `/api/internal/streams/${streamId}/status`, { originId, status: "reconnecting" });
    expect(reconnecting.status).toBe(200);
    expect((await json<{ status: string }>(await edge(`/api/streams/${streamId}`))).status).toBe("reconnecting");

    const again = await signedFetch("POST", "/api/internal/publish", { originId, streamKey });
    expect(again.status).toBe(200);
    expect((await json<{ status: string }>(await edge(`/api/streams/${streamId}`))).status).toBe("reconnecting");
    await signedFetch("POST", `/api/internal/streams/${streamId}/status`, { originId, status: "live" });
    const relive = await json<{ status: string; startedAt: number }>(await edge(`/api/streams/${streamId}`));
    expect(relive.status).toBe("live");
    expect(relive.startedAt).toBe(live.startedAt);

    const ended = await signedFetch("POST", `/api/internal/streams/${streamId}/status`, { originId, status: "ended" });
    expect(ended.status).toBe(200);
    const after = await json<{ status: string; endedAt: number }>(await edge(`/api/streams/${streamId}`));
    expect(after.status).toBe("ended");
    expect(after.endedAt).toBeGreaterThanOrEqual(relive.startedAt);

    const late = await signedFetch("POST", "/api/internal/publish", { originId, streamKey });
    expect(late.status).toBe(409);
    expect(await errorCode(late)).toBe("stream_ended");
  });

  it("status: 404 unknown stream, 400 bad body, 409 from another origin", async () => {
    const { originId, streamId, streamKey } = await newStream();
    const unknown = await signedFetch("POST", `/api/internal/streams/${randomId()}/status`, { originId, status: "live" });
    expect(unknown.status).toBe(404);
    expect(await errorCode(unknown)).toBe("unknown_stream");

    const bad = await signedFetch("POST", `/api/internal/streams/${streamId}/status`, { originId, status: "paused" });
    expect(bad.status).toBe(400);
    expect(await errorCode(bad)).toBe("invalid_body");

    await signedFetch("POST", "/api/internal/publish", { originId, streamKey });
    const other = await signedFetch("POST", `/api/internal/streams/${streamId}/status`, { originId: "someone-else", status: "ended" });
    expect(other.status).toBe(409);
    expect(await errorCode(other)).toBe("origin_mismatch");
  });

  it("heartbeat upserts the origin row", async () => {
    const originId = `hb-${randomId(6)}`;
    expect(await json(await heartbeat(originId, { capacity: 4, activeStreams: 1 }))).toEqual({ ok: true, end: [], dropPublisher: [] });
    const first = await env.DB.prepare("SELECT * FROM origins WHERE id = ?1").bind(originId).first<Record<string, unknown>>();
    expect(first).toMatchObject({ capacity: 4, active_streams: 1, pool: "standard" });

    await heartbeat(originId, { capacity: 8, activeStreams: 3, pool: "vip", baseUrl: "http://moved.test:8080/" });
    const second = await env.DB.prepare("SELECT * FROM origins WHERE id = ?1").bind(originId).first<Record<string, unknown>>();
    expect(second).toMatchObject({ capacity: 8, active_streams: 3, pool: "vip", base_url: "http://moved.test:8080" });
    expect(second!.last_heartbeat_at as number).toBeGreaterThanOrEqual(first!.last_heartbeat_at as number);

    const invalid = await heartbeat(originId, { capacity: -1 });
    expect(invalid.status).toBe(400);
    expect(await errorCode(invalid)).toBe("invalid_body");
    const notJson = await signedFetch("POST", "/api/internal/origins/heartbeat", "{nope");
    expect(notJson.status).toBe(400);
    expect(await errorCode(notJson)).toBe("invalid_json");
  });

  it("dev broadcasters: create, or return the user of a known key", async () => {
    const created = await signedFetch("POST", "/api/internal/dev/broadcasters", { name: "Dev" });
    expect(created.status).toBe(201);
    const { userId, apiKey } = await json<{ userId: string; apiKey: string }>(created);
    expect(apiKey).toMatch(/^ak_[A-Za-z0-9]{40}$/);

    const fixed = `ak_dev_${randomId(20)}`;
    const a = await json<{ userId: string }>(await signedFetch("POST", "/api/internal/dev/broadcasters", { name: "Seed", apiKey: fixed }));
    const b = await signedFetch("POST", "/api/internal/dev/broadcasters", { name: "Seed", apiKey: fixed });
    expect(b.status).toBe(200);
    expect(await json(b)).toEqual({ userId: a.userId, apiKey: fixed });
    expect(a.userId).not.toBe(userId);

    await heartbeat(`o-${randomId(6)}`, { capacity: 1000 });
    expect((await createStream(fixed)).status).toBe(201);
  });

  it("mother stats over a signed route", async () => {
    const { streamId } = await newStream();
    const res = await signedFetch("GET", `/api/internal/mother/${streamId}/stats`);
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ requests: 0, originFetches: { master: 0, media: 0, init: 0, segment: 0, part: 0 } });
  });
});

describe("misc routes", () => {
  it("the Worker entry answers through the runtime (SELF)", async () => {
    const health = await SELF.fetch("http://edge.test/healthz");
    expect(await json(health)).toEqual({ ok: true });
    const live = await SELF.fetch(`http://edge.test/live/${randomId()}/master.m3u8`);
    expect(live.status).toBe(404);
    expect(live.headers.get("Access-Control-Allow-Origin")).toBe("*");
    expect(await errorCode(live)).toBe("unknown_stream");
  });

  it("healthz, JSON 404", async () => {
    const health = await edge("/healthz");
    expect(await json(health)).toEqual({ ok: true });
    const missing = await edge("/nope");
    expect(missing.status).toBe(404);
    expect(await errorCode(missing)).toBe("not_found");
  });

  it("watch page: escaped, CSP, hls.js from static assets", async () => {
    await heartbeat(`o-${randomId(6)}`, { capacity: 1000 });
    const { apiKey } = await createUser("broadcaster");
    const { streamId } = await json<{ streamId: string }>(await createStream(apiKey));
    const page = await edge(`/watch/${streamId}`);
    expect(page.status).toBe(200);
    expect(page.headers.get("Content-Type")).toContain("text/html");
    expect(page.headers.get("Content-Security-Policy")).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain(`data-stream-id="${streamId}"`);
    expect(html).toContain('src="/vendor/hls.min.js"');
    expect(html).toContain('<video id="video" muted autoplay playsinline');
    // no inline script: every <script> has a src
    expect(html.match(/<script(?![^>]*\bsrc=)/g)).toBeNull();

    expect((await edge("/watch/%3Cscript%3E")).status).toBe(400);
    expect((await edge(`/watch/${randomId()}`)).status).toBe(404);
  });
});
