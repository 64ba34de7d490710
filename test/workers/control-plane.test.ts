/** Control plane (issue #4): origin pool + selection, watchdog, /play, lifecycle, stats, follows, admin, replay. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { signRequest } from "../../common/signing.js";
import { createUser, edge, errorCode, randomId, signedFetch, sleep } from "./helpers.js";
import { anonToken, mintToken, openSocket, until, type TestSocket } from "./socket-helpers.js";

type Json = Record<string, any>;
const json = async (res: Response) => (await res.json()) as Json;

async function heartbeat(originId: string, extra: Record<string, unknown> = {}) {
  const res = await signedFetch("POST", "/api/internal/origins/heartbeat", {
    originId,
    baseUrl: `http://${originId}.origin.test:8080`,
    rtmpUrl: `rtmp://${originId}.origin.test:1935/live`,
    capacity: 1000,
    activeStreams: 0,
    egressBps: 1000,
    cpu: 0.1,
    ...extra,
  });
  expect(res.status).toBe(200);
}

/** Takes every origin out of the pool so a test controls which ones count. */
async function isolatePool() {
  await env.DB.prepare("UPDATE origins SET removed_at = 1").run();
}

function bearer(key: string | null, extra: Record<string, string> = {}): Record<string, string> {
  return { "Content-Type": "application/json", ...(key === null ? {} : { Authorization: `Bearer ${key}` }), ...extra };
}

async function createStream(apiKey: string, body: Record<string, unknown> = {}) {
  return edge("/api/streams", { method: "POST", headers: bearer(apiKey), body: JSON.stringify(body) });
}

async function newStream(apiKey?: string) {
  const owner = apiKey === undefined ? await createUser("broadcaster") : { id: "", apiKey };
  const res = await createStream(owner.apiKey, { title: "ctl" });
  expect(res.status).toBe(201);
  const body = await json(res);
  return { ...body, owner } as { streamId: string; streamKey: string; originId: string; owner: { id: string; apiKey: string } } & Json;
}

/** What the origin does when a broadcaster publishes and media starts to flow: publish, then report "live". */
async function publish(originId: string, streamKey: string) {
  const res = await signedFetch("POST", "/api/internal/publish", { originId, streamKey });
  if (res.status !== 200) return res;
  const { streamId } = (await res.clone().json()) as { streamId: string };
  const live = await signedFetch("POST", `/api/internal/streams/${streamId}/status`, { originId, status: "live" });
  if (live.status !== 200) throw new Error(`status live: ${live.status}`);
  return res;
}

async function status(streamId: string, originId: string, s: "live" | "reconnecting" | "ended") {
  return signedFetch("POST", `/api/internal/streams/${streamId}/status`, { originId, status: s });
}

async function watchdog(body: Record<string, unknown>) {
  const res = await signedFetch("POST", "/api/internal/cron/watchdog", body);
  expect(res.status).toBe(200);
  return json(res);
}

const systemEvent = (event: string) => (f: { type: string; event?: unknown }) => f.type === "system" && f.event === event;

describe("origin pool and broadcaster selection", () => {
  it("least loaded under ideal; VIP pool with fallback; above ideal → alert; all full → 503", async () => {
    const admin = await createUser("admin");
    const broadcaster = await createUser("broadcaster");
    const vip = await createUser("vip");
    await isolatePool();
    const a = `a-${randomId(6)}`;
    const b = `b-${randomId(6)}`;
    const v = `v-${randomId(6)}`;
    await heartbeat(a, { capacity: 10, activeStreams: 8 }); // above ideal (60%)
    await heartbeat(b, { capacity: 10, activeStreams: 5 }); // 6/10 still ideal
    await heartbeat(v, { capacity: 10, activeStreams: 0, pool: "vip" });

    const first = await json(await createStream(broadcaster.apiKey));
    expect(first.originId).toBe(b);
    expect(first.ingestUrl).toBe(`rtmp://${b}.origin.test:1935/live/${first.streamKey}`);
    expect(first.sockets.stream).toBe(`ws://edge.test/ws/streams/${first.streamId}`);
    const vipStream = await json(await createStream(vip.apiKey));
    expect(vipStream.originId).toBe(v);

    // b reserved a slot (6/10 = ideal reached): now every standard origin is above ideal
    const alertsBefore = (await json(await edge("/api/admin/alerts", { headers: bearer(admin.apiKey) }))).alerts.length;
    const second = await json(await createStream(broadcaster.apiKey));
    expect(second.originId).toBe(b); // 6/10 < 8/10: least loaded under max
    const alerts = (await json(await edge("/api/admin/alerts", { headers: bearer(admin.apiKey) }))).alerts;
    expect(alerts.length).toBe(alertsBefore + 1);
    expect(alerts[0]).toMatchObject({ kind: "pool_above_ideal", data: { pool: "standard", originId: b } });

    // VIP pool full → VIP falls back to standard
    await heartbeat(v, { capacity: 10, activeStreams: 10, pool: "vip" });
    expect((await json(await createStream(vip.apiKey))).originId).toBe(b);

    // everything at maximum → 503
    await heartbeat(a, { capacity: 10, activeStreams: 10 });
    await heartbeat(b, { capacity: 10, activeStreams: 10 });
    const full = await createStream(broadcaster.apiKey);
    expect(full.status).toBe(503);
    expect(await errorCode(full)).toBe("no_available_server");
    expect((await json(await edge("/api/admin/alerts", { headers: bearer(admin.apiKey) }))).alerts[0].kind).toBe("pool_full");

    // heartbeat stores the load
    const row = await env.DB.prepare("SELECT egress_bps, cpu, removed_at FROM origins WHERE id = ?1").bind(a).first();
    expect(row).toEqual({ egress_bps: 1000, cpu: 0.1, removed_at: null });
  });

  it("watchdog: an origin silent for 3 heartbeat intervals leaves the pool, a heartbeat brings it back", async () => {
    const broadcaster = await createUser("broadcaster");
    await isolatePool();
    const o = `wd-${randomId(6)}`;
    await heartbeat(o);
    const now = Date.now();
    expect((await watchdog({ now: now + 10_000, streamIds: [] })).originsRemoved).not.toContain(o);
    const report = await watchdog({ now: now + 15_500, streamIds: [] });
    expect(report.originsRemoved).toContain(o);
    const refused = await createStream(broadcaster.apiKey);
    expect(refused.status).toBe(503);
    await heartbeat(o);
    expect((await json(await createStream(broadcaster.apiKey))).originId).toBe(o);
  });
});

describe("watchdog: streams", () => {
  it("ends never-started streams after 10 minutes and inactive live ones after 30 s", async () => {
    const o = `ws-${randomId(6)}`;
    await heartbeat(o);
    const created = await newStream();
    const live = await newStream();
    expect((await publish(live.originId, live.streamKey)).status).toBe(200);
    const socket = await openSocket(`/ws/streams/${live.streamId}`);
    const now = Date.now();
    const ids = [created.streamId, live.streamId];

    expect((await watchdog({ now: now + 20_000, streamIds: ids, origins: false })).streamsEnded).toEqual([]);
    const later = await watchdog({ now: now + 31_000, streamIds: ids, origins: false });
    expect(later.streamsEnded).toEqual([{ streamId: live.streamId, reason: "watchdog_inactive" }]);
    await socket.next(systemEvent("stream_ended"), 3000, "stream_ended");
    const ended = await json(await edge(`/api/streams/${live.streamId}`));
    expect(ended).toMatchObject({ status: "ended", endReason: "watchdog_inactive" });

    expect((await watchdog({ now: now + 9 * 60_000, streamIds: ids, origins: false })).streamsEnded).toEqual([]);
    const tenMinutes = await watchdog({ now: now + 10 * 60_000 + 1_000, streamIds: ids, origins: false });
    expect(tenMinutes.streamsEnded).toEqual([{ streamId: created.streamId, reason: "watchdog_never_started" }]);
    expect((await json(await edge(`/api/streams/${created.streamId}`))).status).toBe("ended");
    socket.close();
  });

  it("a live stream is judged by its own media progress, not by its origin's heartbeat", async () => {
    const o = `wk-${randomId(6)}`;
    await heartbeat(o);
    const s = await newStream();
    expect((await publish(s.originId, s.streamKey)).status).toBe(200);
    const liveAt = Date.now();
    await sleep(40);
    const mediaAt = Date.now();
    // the origin's heartbeat reports a new segment: that is activity
    await heartbeat(s.originId, { streams: [{ streamId: s.streamId, state: "live", lastMediaAt: mediaAt, publisherKeyHash: null }] });
    expect((await watchdog({ now: liveAt + 30_010, streamIds: [s.streamId], origins: false })).streamsEnded).toEqual([]);
    // heartbeats go on, the media does not (a frozen transcoder): ended all the same
    await heartbeat(s.originId, { streams: [{ streamId: s.streamId, state: "live", lastMediaAt: mediaAt, publisherKeyHash: null }] });
    const r = await watchdog({ now: mediaAt + 30_500, streamIds: [s.streamId], origins: false });
    expect(r.streamsEnded).toEqual([{ streamId: s.streamId, reason: "watchdog_inactive" }]);
  });

  it("a reconnecting stream is not kept alive by heartbeats", async () => {
    const o = `wr-${randomId(6)}`;
    await heartbeat(o);
    const s = await newStream();
    expect((await publish(s.originId, s.streamKey)).status).toBe(200);
    expect((await status(s.streamId, s.originId, "reconnecting")).status).toBe(200);
    await heartbeat(s.originId);
    const r = await watchdog({ now: Date.now() + 30_500, streamIds: [s.streamId], origins: false });
    expect(r.streamsEnded).toEqual([{ streamId: s.streamId, reason: "watchdog_inactive" }]);
  });

  it("the heartbeat's answer: end what the control plane ended, drop a publisher whose key was rotated", async () => {
    const o = `ho-${randomId(6)}`;
    await heartbeat(o);
    const [a, b] = [await newStream(), await newStream()];
    for (const s of [a, b]) expect((await publish(s.originId, s.streamKey)).status).toBe(200);
    const keyHash = async (key: string) => {
      const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key));
      return [...new Uint8Array(digest)].map((x) => x.toString(16).padStart(2, "0")).join("");
    };
    const report = async (s: { streamId: string; streamKey: string }) => ({
      streamId: s.streamId,
      state: "live",
      lastMediaAt: Date.now(),
      publisherKeyHash: await keyHash(s.streamKey),
    });
    // each stream's own origin reports it (selection may have put them on different test origins)
    const ask = async (s: typeof a, extra: unknown[] = []) =>
      (await json(
        await signedFetch("POST", "/api/internal/origins/heartbeat", {
          originId: s.originId,
          baseUrl: `http://${s.originId}.origin.test:8080`,
          rtmpUrl: `rtmp://${s.originId}.origin.test:1935/live`,
          capacity: 1000,
          activeStreams: 1,
          streams: [await report(s), ...extra],
        }),
      )) as unknown as { end: Array<{ streamId: string; reason: string }>; dropPublisher: string[] };
    const first = await ask(a, [{ streamId: randomId(16), state: "starting", lastMediaAt: 0, publisherKeyHash: null }]);
    expect(first.dropPublisher).toEqual([]);
    expect(first.end.map((e) => e.reason)).toEqual(["unknown_stream"]);
    expect(await ask(b)).toEqual({ ok: true, end: [], dropPublisher: [] });

    const admin = await createUser("admin");
    const ended = await edge(`/api/admin/streams/${a.streamId}/end`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin.apiKey}` },
    });
    expect(ended.status).toBe(200);
    const rotated = await edge(`/api/streams/${b.streamId}/key/rotate`, {
      method: "POST",
      headers: { authorization: `Bearer ${b.owner.apiKey}` },
    });
    expect(rotated.status).toBe(200);
    expect((await ask(a)).end).toEqual([{ streamId: a.streamId, reason: "admin" }]);
    // b's publisher still uses the old key
    expect((await ask(b)).dropPublisher).toEqual([b.streamId]);
  });

  it("a start that failed before any media is ended with its reason (no live zombie)", async () => {
    const o = `sf-${randomId(6)}`;
    await heartbeat(o);
    const s = await newStream();
    const authorized = await signedFetch("POST", "/api/internal/publish", { originId: s.originId, streamKey: s.streamKey });
    expect(authorized.status).toBe(200);
    const listed = (await json(await edge("/api/streams"))) as unknown as { streams: Array<{ streamId: string }> };
    expect(listed.streams.map((x) => x.streamId)).not.toContain(s.streamId);
    const failed = await signedFetch("POST", `/api/internal/streams/${s.streamId}/status`, {
      originId: s.originId,
      status: "ended",
      reason: "start_failed",
    });
    expect(failed.status).toBe(200);
    const info = (await json(await edge(`/api/streams/${s.streamId}`))) as unknown as {
      status: string;
      endReason: string;
      startedAt: number | null;
    };
    expect(info).toMatchObject({ status: "ended", endReason: "start_failed", startedAt: null });
  });

  it("401 unsigned, 400 bad body", async () => {
    const unsigned = await edge("/api/internal/cron/watchdog", { method: "POST", body: "{}" });
    expect(unsigned.status).toBe(401);
    const bad = await signedFetch("POST", "/api/internal/cron/watchdog", { now: "soon" });
    expect(bad.status).toBe(400);
    const extra = await signedFetch("POST", "/api/internal/cron/watchdog", { streamIds: ["NOT VALID"] });
    expect(extra.status).toBe(400);
  });
});

describe("viewer source selection: GET /api/streams/:id/play", () => {
  it("direct below T1, edge from T1, back to direct only below T2; VIP/media always direct", async () => {
    const o = `pl-${randomId(6)}`;
    await heartbeat(o);
    const s = await newStream();
    expect((await publish(s.originId, s.streamKey)).status).toBe(200);
    const originUrl = `http://${s.originId}.origin.test:8080/hls/${s.streamId}/master.m3u8`;
    const edgeUrl = `http://edge.test/live/${s.streamId}/master.m3u8`;
    const play = async (token?: string) =>
      json(await edge(`/api/streams/${s.streamId}/play`, { headers: token ? { Authorization: `Bearer ${token}` } : {} }));

    expect(await play()).toMatchObject({
      source: "origin",
      url: originUrl,
      viewerCount: 0,
      sockets: { stream: `ws://edge.test/ws/streams/${s.streamId}` },
    });
    const sockets: TestSocket[] = [];
    for (let i = 0; i < 10; i++) sockets.push(await openSocket(`/ws/streams/${s.streamId}`));
    expect(await play(await anonToken())).toMatchObject({ source: "edge", url: edgeUrl, viewerCount: 10, mode: "edge" });
    const mode = await env.DB.prepare("SELECT playback_mode FROM streams WHERE id = ?1").bind(s.streamId).first("playback_mode");
    expect(mode).toBe("edge");
    const vip = await createUser("vip");
    expect(await play(vip.apiKey)).toMatchObject({ source: "origin", url: originUrl, reason: "priority_role" });
    expect(await play(await mintToken(`media-${randomId(6)}`, "media"))).toMatchObject({ source: "origin" });

    // 10 → 5 viewers: still on the edge (hysteresis, T2 = 5)
    for (let i = 0; i < 5; i++) sockets.pop()!.close();
    const five = await until(
      async () => {
        const p = await play();
        return p.viewerCount === 5 ? p : undefined;
      },
      5000,
      "5 viewers",
    );
    expect(five).toMatchObject({ source: "edge", reason: "hysteresis_edge" });
    sockets.pop()!.close();
    const four = await until(
      async () => {
        const p = await play();
        return p.viewerCount === 4 ? p : undefined;
      },
      5000,
      "4 viewers",
    );
    expect(four).toMatchObject({ source: "origin", url: originUrl, mode: "origin" });
    for (const socket of sockets) socket.close();
  });

  it("400 bad id, 404 unknown, 401 bad token, 409 ended", async () => {
    expect((await edge("/api/streams/NOPE!/play")).status).toBe(400);
    expect((await edge(`/api/streams/${randomId()}/play`)).status).toBe(404);
    const s = await newStream();
    const badToken = await edge(`/api/streams/${s.streamId}/play`, { headers: { Authorization: "Bearer a.b.c" } });
    expect(badToken.status).toBe(401);
    const badKey = await edge(`/api/streams/${s.streamId}/play`, { headers: { Authorization: "Bearer ak_nope" } });
    expect(badKey.status).toBe(401);
    expect((await status(s.streamId, s.originId, "ended")).status).toBe(200);
    const ended = await edge(`/api/streams/${s.streamId}/play`);
    expect(ended.status).toBe(409);
  });
});

describe("lifecycle, final stats, follows, thumbnails, replay", () => {
  it("start → notifications + stream_started; audience → stats; thumbnail pointer + event; end → stream_ended; replay", async () => {
    await heartbeat(`lc-${randomId(6)}`);
    const broadcaster = await createUser("broadcaster");
    const follower = await createUser("viewer");
    const anonFollower = await anonToken();
    expect((await edge(`/api/broadcasters/${broadcaster.id}/follow`, { method: "POST", headers: bearer(follower.apiKey) })).status).toBe(
      201,
    );
    expect((await edge(`/api/broadcasters/${broadcaster.id}/follow`, { method: "POST", headers: bearer(follower.apiKey) })).status).toBe(
      200,
    );
    expect((await edge(`/api/broadcasters/${broadcaster.id}/follow`, { method: "POST", headers: bearer(anonFollower) })).status).toBe(201);
    const s = await newStream(broadcaster.apiKey);

    const a = await openSocket(`/ws/streams/${s.streamId}`);
    const b = await openSocket(`/ws/streams/${s.streamId}`);
    expect((await publish(s.originId, s.streamKey)).status).toBe(200);
    await a.next(systemEvent("stream_started"), 3000, "stream_started");
    const notes = await json(await edge("/api/me/notifications", { headers: bearer(follower.apiKey) }));
    expect(notes.notifications).toEqual([
      expect.objectContaining({ kind: "broadcaster_live", streamId: s.streamId, broadcasterId: broadcaster.id }),
    ]);
    expect((await json(await edge("/api/me/notifications", { headers: bearer(anonFollower) }))).notifications).toHaveLength(1);
    // a second publish (reconnect) does not notify again
    expect((await publish(s.originId, s.streamKey)).status).toBe(200);
    expect((await json(await edge("/api/me/notifications", { headers: bearer(follower.apiKey) }))).notifications).toHaveLength(1);

    // a new follower while live → new_follower in the room
    const late = await createUser("vip");
    expect((await edge(`/api/broadcasters/${broadcaster.id}/follow`, { method: "POST", headers: bearer(late.apiKey) })).status).toBe(201);
    const nf = await a.next(systemEvent("new_follower"), 3000, "new_follower");
    expect(nf).toMatchObject({ data: { followerId: late.id } });

    await sleep(300);
    const c = await openSocket(`/ws/streams/${s.streamId}`);
    a.send({ type: "chat", text: "first!" });
    await b.next((f) => f.type === "chat" && f.text === "first!", 3000, "chat");
    await sleep(300);
    a.close();
    await b.next((f) => f.type === "system" && f.event === "member_removed", 3000, "member_removed");

    // thumbnail: pointer on the row, event in the room
    const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4]);
    const path = `/api/internal/streams/${s.streamId}/thumbnails/3`;
    const headers = await signRequest(env.ORIGIN_SHARED_SECRET, "PUT", path, jpeg);
    expect((await edge(path, { method: "PUT", headers: { ...headers, "Content-Type": "image/jpeg" }, body: jpeg })).status).toBe(201);
    const thumb = await b.next(systemEvent("thumbnail"), 3000, "thumbnail event");
    expect(thumb).toMatchObject({ data: { url: `http://edge.test/thumbnails/${s.streamId}/3.jpg`, index: 3 } });
    const info = await json(await edge(`/api/streams/${s.streamId}`));
    expect(info).toMatchObject({ status: "live", thumbnailUrl: `http://edge.test/thumbnails/${s.streamId}/3.jpg`, viewerCount: 2 });

    // replay: 404 while live
    expect((await edge(`/api/streams/${s.streamId}/replay`)).status).toBe(404);

    await sleep(300);
    expect((await status(s.streamId, s.originId, "ended")).status).toBe(200);
    await c.next(systemEvent("stream_ended"), 3000, "stream_ended");
    const stats = await env.DB.prepare("SELECT * FROM stream_stats WHERE stream_id = ?1").bind(s.streamId).first<Json>();
    expect(stats).toMatchObject({ peak_viewers: 3, joins: 3, leaves: 1 });
    expect(stats!.duration_ms).toBeGreaterThan(800);
    expect(stats!.avg_viewers).toBeGreaterThan(2);
    expect(stats!.avg_viewers).toBeLessThan(3);

    // replay: 404 until the VOD playlist exists, then the descriptor
    const missing = await edge(`/api/streams/${s.streamId}/replay`);
    expect(missing.status).toBe(404);
    expect(await errorCode(missing)).toBe("replay_not_ready");
    await env.MEDIA.put(`vod/${s.streamId}/index.m3u8`, "#EXTM3U\n#EXT-X-ENDLIST\n");
    const replay = await json(await edge(`/api/streams/${s.streamId}/replay`));
    const row = await env.DB.prepare("SELECT started_at FROM streams WHERE id = ?1").bind(s.streamId).first<number>("started_at");
    expect(replay).toMatchObject({
      vodUrl: `http://edge.test/vod/${s.streamId}/index.m3u8`,
      startedAt: row,
      logUrl: `http://edge.test/api/streams/${s.streamId}/log?from={from}&to={to}`,
    });
    const log = await json(await edge(replay.logUrl.replace("http://edge.test", "").replace("{from}", "0").replace("{to}", "30000")));
    const types = (log.frames as Json[]).map((f) => (f.type === "system" ? f.event : f.type));
    expect(types.indexOf("stream_started")).toBeLessThan(types.indexOf("chat"));
    expect(types.indexOf("chat")).toBeLessThan(types.indexOf("thumbnail"));
    expect(types[types.length - 1]).toBe("stream_ended");
    const offsets = (log.frames as Json[]).map((f) => f.offsetMs as number);
    expect([...offsets].sort((x, y) => x - y)).toEqual(offsets);

    b.close();
    c.close();
    // unfollow
    expect(
      await json(await edge(`/api/broadcasters/${broadcaster.id}/follow`, { method: "DELETE", headers: bearer(follower.apiKey) })),
    ).toMatchObject({ following: false });
  });

  it("follows: 401 without credentials, 404 unknown broadcaster, 400 self / malformed", async () => {
    const viewer = await createUser("viewer");
    const broadcaster = await createUser("broadcaster");
    expect((await edge(`/api/broadcasters/${broadcaster.id}/follow`, { method: "POST" })).status).toBe(401);
    expect((await edge(`/api/broadcasters/${viewer.id}/follow`, { method: "POST", headers: bearer(broadcaster.apiKey) })).status).toBe(404);
    expect((await edge(`/api/broadcasters/nobody/follow`, { method: "POST", headers: bearer(viewer.apiKey) })).status).toBe(404);
    expect((await edge(`/api/broadcasters/bad%20id!/follow`, { method: "POST", headers: bearer(viewer.apiKey) })).status).toBe(400);
    expect((await edge(`/api/broadcasters/${broadcaster.id}/follow`, { method: "POST", headers: bearer(broadcaster.apiKey) })).status).toBe(
      400,
    );
    expect((await edge("/api/me/notifications")).status).toBe(401);
    expect((await edge("/api/me/notifications?limit=0", { headers: bearer(viewer.apiKey) })).status).toBe(400);
  });
});

describe("streams: create, directory, keys, admin", () => {
  it("create: event must exist (404) and not be final (409); location validated; event archived", async () => {
    await heartbeat(`cr-${randomId(6)}`);
    const { apiKey } = await createUser("broadcaster");
    const live = `ev-${randomId(6)}`;
    const over = `ev-${randomId(6)}`;
    await env.DB.prepare(
      `INSERT INTO events (id, provider, sport, status, start_time, home_name, home_score, away_name, away_score, data, updated_at)
       VALUES (?1, 'test', 'basketball', 'in_progress', 0, 'Home', 10, 'Away', 8, '{"clock":"10:00"}', 0),
              (?2, 'test', 'basketball', 'final', 0, 'H', 1, 'A', 2, '{}', 0)`,
    )
      .bind(live, over)
      .run();
    expect((await createStream(apiKey, { eventId: "missing-event" })).status).toBe(404);
    const final = await createStream(apiKey, { eventId: over });
    expect(final.status).toBe(409);
    expect((await createStream(apiKey, { location: { lat: 100, lon: 0 } })).status).toBe(400);
    expect((await createStream(apiKey, { location: { lat: 10 } })).status).toBe(400);
    expect((await createStream(apiKey, { country: "usa" })).status).toBe(400);
    const ok = await createStream(apiKey, { eventId: live, location: { lat: 40.7, lon: -74 }, country: "US" });
    expect(ok.status).toBe(201);
    const body = await json(ok);
    expect(body.sockets).toEqual({ stream: `ws://edge.test/ws/streams/${body.streamId}`, event: `ws://edge.test/ws/events/${live}` });
    const row = await env.DB.prepare("SELECT location, event_snapshot FROM streams WHERE id = ?1").bind(body.streamId).first<Json>();
    expect(JSON.parse(row!.location)).toEqual({ lat: 40.7, lon: -74, country: "US" });
    expect(JSON.parse(row!.event_snapshot)).toMatchObject({ id: live, homeScore: 10, awayScore: 8, data: { clock: "10:00" } });
  });

  it("directory: live by default, filters, cursor pagination, 400 on bad query", async () => {
    await heartbeat(`dr-${randomId(6)}`);
    const owner = await createUser("broadcaster");
    const s1 = await newStream(owner.apiKey);
    const s2 = await newStream(owner.apiKey);
    const s3 = await newStream(owner.apiKey);
    for (const s of [s1, s2]) expect((await publish(s.originId, s.streamKey)).status).toBe(200);
    const liveList = await json(await edge(`/api/streams?broadcaster=${owner.id}`));
    expect(liveList.streams.map((s: Json) => s.streamId).sort()).toEqual([s1.streamId, s2.streamId].sort());
    const created = await json(await edge(`/api/streams?broadcaster=${owner.id}&status=created`));
    expect(created.streams.map((s: Json) => s.streamId)).toEqual([s3.streamId]);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Json = await json(
        await edge(`/api/streams?broadcaster=${owner.id}&status=all&limit=1${cursor ? `&cursor=${cursor}` : ""}`),
      );
      expect(page.streams.length).toBeLessThanOrEqual(1);
      seen.push(...page.streams.map((s: Json) => s.streamId));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen.sort()).toEqual([s1.streamId, s2.streamId, s3.streamId].sort());
    for (const q of ["limit=0", "limit=101", "status=bogus", "cursor=xyz", "unknown=1"]) {
      expect((await edge(`/api/streams?${q}`)).status, q).toBe(400);
    }
  });

  it("key rotation: API key (old one stops working) and stream key (owner only)", async () => {
    await heartbeat(`kr-${randomId(6)}`);
    const user = await createUser("broadcaster");
    const rotated = await edge("/api/me/api-key/rotate", { method: "POST", headers: bearer(user.apiKey) });
    expect(rotated.status).toBe(200);
    const { apiKey } = await json(rotated);
    expect(apiKey).toMatch(/^ak_[A-Za-z0-9]{40}$/);
    expect((await edge("/api/session", { method: "POST", headers: bearer(user.apiKey) })).status).toBe(401);
    expect((await edge("/api/session", { method: "POST", headers: bearer(apiKey) })).status).toBe(200);
    expect((await edge("/api/me/api-key/rotate", { method: "POST" })).status).toBe(401);

    const s = await newStream(apiKey);
    const other = await createUser("broadcaster");
    expect((await edge(`/api/streams/${s.streamId}/key/rotate`, { method: "POST", headers: bearer(other.apiKey) })).status).toBe(403);
    expect(
      (await edge(`/api/streams/${s.streamId}/key/rotate`, { method: "POST", headers: bearer((await createUser("viewer")).apiKey) }))
        .status,
    ).toBe(403);
    expect((await edge(`/api/streams/${randomId()}/key/rotate`, { method: "POST", headers: bearer(apiKey) })).status).toBe(404);
    expect((await edge(`/api/streams/${s.streamId}/key/rotate`, { method: "POST" })).status).toBe(401);
    const newKey = await json(await edge(`/api/streams/${s.streamId}/key/rotate`, { method: "POST", headers: bearer(apiKey) }));
    expect(newKey.streamKey).toMatch(/^sk_/);
    expect(newKey.ingestUrl).toContain(newKey.streamKey);
    expect((await publish(s.originId, s.streamKey)).status).toBe(404);
    expect((await publish(s.originId, newKey.streamKey)).status).toBe(200);
  });

  it("admin: 401/403 for others; create users; end streams (stats stored); alerts", async () => {
    await heartbeat(`ad-${randomId(6)}`);
    const admin = await createUser("admin");
    const broadcaster = await createUser("broadcaster");
    expect((await edge("/api/admin/alerts")).status).toBe(401);
    expect((await edge("/api/admin/alerts", { headers: bearer(broadcaster.apiKey) })).status).toBe(403);
    expect((await edge("/api/admin/alerts?limit=500", { headers: bearer(admin.apiKey) })).status).toBe(400);
    const bad = await edge("/api/admin/users", {
      method: "POST",
      headers: bearer(admin.apiKey),
      body: JSON.stringify({ name: "x", role: "king" }),
    });
    expect(bad.status).toBe(400);
    const made = await edge("/api/admin/users", {
      method: "POST",
      headers: bearer(admin.apiKey),
      body: JSON.stringify({ name: "Media", role: "media" }),
    });
    expect(made.status).toBe(201);
    const media = await json(made);
    expect(await json(await edge("/api/session", { method: "POST", headers: bearer(media.apiKey) }))).toMatchObject({ role: "media" });

    const s = await newStream(broadcaster.apiKey);
    expect((await publish(s.originId, s.streamKey)).status).toBe(200);
    expect((await edge(`/api/admin/streams/${s.streamId}/end`, { method: "POST", headers: bearer(broadcaster.apiKey) })).status).toBe(403);
    expect((await edge(`/api/admin/streams/${randomId()}/end`, { method: "POST", headers: bearer(admin.apiKey) })).status).toBe(404);
    const end = await edge(`/api/admin/streams/${s.streamId}/end`, { method: "POST", headers: bearer(admin.apiKey) });
    expect(end.status).toBe(200);
    expect(await json(await edge(`/api/streams/${s.streamId}`))).toMatchObject({ status: "ended", endReason: "admin" });
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM stream_stats WHERE stream_id = ?1").bind(s.streamId).first("n")).toBe(1);
    expect((await edge(`/api/admin/streams/${s.streamId}/end`, { method: "POST", headers: bearer(admin.apiKey) })).status).toBe(409);
  });

  it("dev seed mints any role", async () => {
    const res = await signedFetch("POST", "/api/internal/dev/broadcasters", { name: "adm", role: "admin" });
    expect(res.status).toBe(201);
    const { apiKey } = await json(res);
    expect((await edge("/api/admin/alerts", { headers: bearer(apiKey) })).status).toBe(200);
    expect((await signedFetch("POST", "/api/internal/dev/broadcasters", { name: "x", role: "root" })).status).toBe(400);
  });

  it("replay page: CSP, no inline script, 404 unknown", async () => {
    const s = await newStream();
    const page = await edge(`/replay/${s.streamId}`);
    expect(page.status).toBe(200);
    expect(page.headers.get("Content-Security-Policy")).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('src="/replay/replay.js"');
    expect(html).not.toMatch(/<script>(?!<)/);
    expect((await edge(`/replay/${randomId()}`)).status).toBe(404);
    expect((await edge(`/replay/BAD!`)).status).toBe(400);
  });
});
