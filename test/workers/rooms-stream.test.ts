import { abortAllDurableObjects } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { edge, randomId, sleep } from "./helpers.js";
import {
  anonToken,
  createStreamRow,
  isLogFrame,
  mintToken,
  openSocket,
  signedPost,
  until,
  type Frame,
  type TestSocket,
} from "./socket-helpers.js";

const open: TestSocket[] = [];
async function join(streamId: string, options: Parameters<typeof openSocket>[1] = {}) {
  const socket = await openSocket(`/ws/streams/${streamId}`, options);
  open.push(socket);
  await socket.next((f) => f.type === "hello");
  return socket;
}
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

const chats = (s: TestSocket) => s.frames.filter((f) => f.type === "chat");
const errors = (s: TestSocket, code?: string) => s.frames.filter((f) => f.type === "error" && (code === undefined || f.code === code));

/**
 * Sends chats one after the other (each after the previous one's ack). In
 * the Workers test pool a burst of frames from one in-isolate socket can
 * reach the room out of order (a property of the pool's socket pair, not of
 * the room: the end-to-end tests show real clients' bursts in order), so
 * per-sender order is asserted on acknowledged sends here.
 */
async function chatInOrder(socket: TestSocket, texts: string[]) {
  for (const [i, text] of texts.entries()) {
    const ref = `c${i}_${randomId(6)}`;
    socket.send({ type: "chat", text, ref });
    const answer = await socket.next((f) => f.ref === ref);
    if (answer.type !== "ack") throw new Error(`chat refused: ${JSON.stringify(answer)}`);
  }
}

function expectContiguous(frames: Frame[]) {
  const seqs = frames.map((f) => f.seq);
  for (let i = 1; i < seqs.length; i++) expect(seqs[i], `seq after ${seqs[i - 1]}`).toBe(seqs[i - 1]! + 1);
}

describe("StreamRoom: chat", () => {
  it("every socket gets every chat in the same order; seq is monotonic; frames are { type, seq, ts, ... }", async () => {
    const { streamId } = await createStreamRow();
    const a = await join(streamId);
    const b = await join(streamId);
    await chatInOrder(
      a,
      Array.from({ length: 8 }, (_, i) => `message ${i} <b>not html</b>`),
    );
    await a.waitCount((f) => f.type === "chat", 8);
    await b.waitCount((f) => f.type === "chat", 8);
    expect(chats(a).map((f) => f.text)).toEqual(Array.from({ length: 8 }, (_, i) => `message ${i} <b>not html</b>`));
    expect(chats(b)).toEqual(chats(a));
    for (const frame of chats(a)) {
      expect(typeof frame.seq).toBe("number");
      expect(typeof frame.ts).toBe("number");
      expect(frame).toHaveProperty("offsetMs");
      expect((frame.from as { role: string }).role).toBe("anonymous");
    }
    expectContiguous(chats(a));
    // log frames a sees after joining are contiguous (member_added of b, then chats)
    const log = a.frames.filter(isLogFrame);
    expectContiguous(log);
  });

  it("concurrent senders: every socket sees the same frames in the same order", async () => {
    const { streamId } = await createStreamRow();
    const sockets = await Promise.all(Array.from({ length: 5 }, () => join(streamId)));
    await sleep(50);
    sockets.forEach((s, i) => {
      for (let k = 0; k < 6; k++) s.send({ type: "chat", text: `s${i}-${k}` });
    });
    const views = await Promise.all(sockets.map((s) => s.waitCount((f) => f.type === "chat", 30)));
    const reference = views[0]!.map((f) => `${f.seq}:${f.text}`);
    for (const view of views) expect(view.map((f) => `${f.seq}:${f.text}`)).toEqual(reference);
    expectContiguous(views[0]!);
  });

  it("reconnect with since: replay then live, no gap, no duplicate", async () => {
    const { streamId } = await createStreamRow();
    const writer = await join(streamId);
    const token = await anonToken();
    const reader = await join(streamId, { token });
    writer.send({ type: "chat", text: "before" });
    await reader.next((f) => f.type === "chat" && f.text === "before");
    const lastSeen = Math.max(...reader.frames.filter(isLogFrame).map((f) => f.seq));
    reader.close();
    await sleep(50);
    await chatInOrder(
      writer,
      Array.from({ length: 5 }, (_, i) => `missed ${i}`),
    );

    const back = await openSocket(`/ws/streams/${streamId}`, { token, since: lastSeen });
    open.push(back);
    const hello = await back.next((f) => f.type === "hello");
    expect(hello.replayed).toBeGreaterThanOrEqual(5);
    writer.send({ type: "chat", text: "live after" });
    await back.next((f) => f.type === "chat" && f.text === "live after");
    const log = back.frames.filter(isLogFrame);
    expect(log[0]!.seq).toBe(lastSeen + 1);
    expectContiguous(log);
    expect(new Set(log.map((f) => f.seq)).size).toBe(log.length);
    expect(log.filter((f) => f.type === "chat").map((f) => f.text)).toEqual([
      "missed 0",
      "missed 1",
      "missed 2",
      "missed 3",
      "missed 4",
      "live after",
    ]);
    // the replayed frames come before hello; hello carries the seq replay ended at
    const helloIndex = back.frames.indexOf(hello);
    expect(back.frames.slice(0, helloIndex).every(isLogFrame)).toBe(true);
    expect(hello.seq).toBe(back.frames[helloIndex - 1]!.seq);
  });

  it("a Durable Object restart loses nothing persisted; seq continues", async () => {
    const { streamId } = await createStreamRow();
    const a = await join(streamId);
    await chatInOrder(a, ["kept 0", "kept 1", "kept 2"]);
    const sent = await a.waitCount((f) => f.type === "chat", 3);
    const lastBefore = sent[2]!.seq;

    await abortAllDurableObjects();
    await until(() => (a.isClosed() ? true : undefined), 5_000, "the old socket to drop");

    const b = await join(streamId, { since: 0 });
    const replayed = b.frames.filter(isLogFrame);
    expect(replayed.map((f) => f.seq)).toEqual(Array.from({ length: replayed.length }, (_, i) => i + 1));
    expect(replayed.filter((f) => f.type === "chat").map((f) => f.text)).toEqual(["kept 0", "kept 1", "kept 2"]);
    b.send({ type: "chat", text: "after restart" });
    const after = await b.next((f) => f.type === "chat" && f.text === "after restart");
    expect(after.seq).toBeGreaterThan(lastBefore);
    expectContiguous(b.frames.filter(isLogFrame));
  });

  it("rate limit: 5/s with a burst of 10, then rate_limited errors", async () => {
    const { streamId } = await createStreamRow();
    const a = await join(streamId);
    for (let i = 0; i < 15; i++) a.send({ type: "chat", text: `burst ${i}`, ref: `r${i}` });
    await a.waitCount((f) => (f.type === "ack" || f.type === "error") && typeof f.ref === "string", 15);
    const acks = a.frames.filter((f) => f.type === "ack");
    const limited = errors(a, "rate_limited");
    expect(acks.length).toBeGreaterThanOrEqual(10);
    expect(acks.length).toBeLessThanOrEqual(11);
    expect(limited.length).toBe(15 - acks.length);
    expect(limited[0]!.ref).toBeDefined();
    // the bucket refills
    await sleep(450);
    a.send({ type: "chat", text: "later" });
    await a.next((f) => f.type === "chat" && f.text === "later");
  });

  it("oversize, non-JSON, unknown types and bad shapes get error frames; the room keeps working", async () => {
    const { streamId } = await createStreamRow();
    const a = await join(streamId);
    const b = await join(streamId);
    a.sendRaw(JSON.stringify({ type: "chat", text: "x".repeat(5000) }));
    await a.next((f) => f.type === "error" && f.code === "too_large");
    a.sendRaw("{not json");
    await a.next((f) => f.type === "error" && f.code === "bad_json");
    a.sendRaw(new TextEncoder().encode("binary").buffer as ArrayBuffer);
    await a.next((f) => f.type === "error" && f.code === "bad_frame");
    a.send({ type: "dance" });
    await a.next((f) => f.type === "error" && f.code === "unknown_type");
    a.send({ type: "chat", text: 42, ref: "shape1" });
    const shape = await a.next((f) => f.type === "error" && f.ref === "shape1");
    expect(shape.code).toBe("bad_frame");
    a.send({ type: "chat", text: "y".repeat(501), ref: "long" });
    expect((await a.next((f) => f.type === "error" && f.ref === "long")).code).toBe("bad_frame");
    a.send({ type: "chat", text: "   ", ref: "empty" });
    expect((await a.next((f) => f.type === "error" && f.ref === "empty")).code).toBe("bad_frame");
    a.send({ type: "chat", text: "bad \u0007 bell", ref: "ctl" });
    expect((await a.next((f) => f.type === "error" && f.ref === "ctl")).code).toBe("bad_frame");
    a.send([1, 2, 3]);
    await a.waitCount((f) => f.type === "error" && f.code === "bad_frame", 5);
    // 500 characters (code points, emoji included) is fine
    const max = "é".repeat(250) + "🙂".repeat(250);
    a.send({ type: "chat", text: max });
    expect((await b.next((f) => f.type === "chat")).text).toBe(max);
    expect(a.isClosed()).toBe(false);
    // error frames carry the room's latest seq and a ts
    const error = errors(a)[0]!;
    expect(typeof error.seq).toBe("number");
    expect(typeof error.ts).toBe("number");
  });

  it("ping is answered pong without a frame of the room", async () => {
    const { streamId } = await createStreamRow();
    const a = await join(streamId);
    a.sendRaw("ping");
    await a.next((f) => f.type === "pong");
  });

  it("a flood (> 50 frames in 1 s) closes the socket with 1008", async () => {
    const { streamId } = await createStreamRow();
    const a = await join(streamId);
    const b = await join(streamId);
    for (let i = 0; i < 60; i++) a.send({ type: "like" });
    expect(await a.closed).toMatchObject({ code: 1008 });
    // the room is fine
    b.send({ type: "chat", text: "still here" });
    await b.next((f) => f.type === "chat" && f.text === "still here");
  });
});

describe("StreamRoom: presence and system events", () => {
  it("member_added / member_removed carry the viewer count; GET /api/streams/:id has viewerCount", async () => {
    const { streamId } = await createStreamRow();
    const a = await join(streamId);
    const added = await a.next((f) => f.type === "system" && f.event === "member_added");
    expect(added.viewerCount).toBe(1);
    const b = await join(streamId);
    expect((await a.next((f) => f.type === "system" && f.event === "member_added" && f.viewerCount === 2)).user).toMatchObject({
      role: "anonymous",
    });
    const info = (await (await edge(`/api/streams/${streamId}`)).json()) as { viewerCount: number };
    expect(info.viewerCount).toBe(2);
    b.close();
    const removed = await a.next((f) => f.type === "system" && f.event === "member_removed");
    expect(removed.viewerCount).toBe(1);
    expect(((await (await edge(`/api/streams/${streamId}`)).json()) as { viewerCount: number }).viewerCount).toBe(1);
  });

  it("signed system route: events into the log; groups get direct frames; 401 unsigned, 400 invalid", async () => {
    const { streamId } = await createStreamRow();
    const fr = await join(streamId, {
      cf: { country: "FR" },
      headers: { "User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile" },
    });
    const us = await join(streamId, { cf: { country: "US" }, headers: { "User-Agent": "Mozilla/5.0 (X11; Linux x86_64)" } });

    const gift = await signedPost(`/api/internal/streams/${streamId}/system`, { event: "gift", data: { from: "fan", kind: "trophy" } });
    expect(gift.status).toBe(200);
    const { seq } = (await gift.json()) as { seq: number };
    for (const s of [fr, us]) {
      const frame = await s.next((f) => f.type === "system" && f.event === "gift");
      expect(frame).toMatchObject({ seq, data: { from: "fan", kind: "trophy" } });
    }
    await signedPost(`/api/internal/streams/${streamId}/system`, { event: "new_follower", data: { userId: "u1" } });
    await us.next((f) => f.type === "system" && f.event === "new_follower");

    const group = await signedPost(`/api/internal/streams/${streamId}/system`, {
      event: "thumbnail",
      data: { note: "only France" },
      group: { country: "FR" },
    });
    expect(await group.json()).toMatchObject({ ok: true, recipients: 1 });
    await fr.next((f) => f.type === "system" && (f.data as { note?: string })?.note === "only France");
    const byDevice = await signedPost(`/api/internal/streams/${streamId}/system`, {
      event: "gift",
      data: { note: "desktops" },
      group: { device: "desktop" },
    });
    expect(await byDevice.json()).toMatchObject({ recipients: 1 });
    await us.next((f) => (f.data as { note?: string })?.note === "desktops");
    await sleep(100);
    expect(us.frames.some((f) => (f.data as { note?: string })?.note === "only France")).toBe(false);
    expect(fr.frames.some((f) => (f.data as { note?: string })?.note === "desktops")).toBe(false);

    const unsigned = await edge(`/api/internal/streams/${streamId}/system`, { method: "POST", body: JSON.stringify({ event: "gift" }) });
    expect(unsigned.status).toBe(401);
    const invalid = await signedPost(`/api/internal/streams/${streamId}/system`, { event: "member_added" });
    expect(invalid.status).toBe(400);
    const unknown = await signedPost(`/api/internal/streams/${randomId()}/system`, { event: "gift" });
    expect(unknown.status).toBe(404);
  });

  it("muted users are refused; likes are aggregated", async () => {
    const { streamId } = await createStreamRow();
    const user = `anon_${randomId(10)}`;
    const a = await join(streamId, { token: await mintToken(user) });
    const res = await signedPost(`/api/internal/streams/${streamId}/system`, { event: "muted", data: { userId: user } });
    expect(res.status).toBe(200);
    await a.next((f) => f.type === "system" && f.event === "muted" && f.userId === user);
    a.send({ type: "chat", text: "hello?", ref: "m1" });
    expect((await a.next((f) => f.ref === "m1")).code).toBe("muted");

    for (let i = 0; i < 6; i++) a.send({ type: "like" });
    const likes = await until(() => {
      const frames = a.frames.filter((f) => f.type === "system" && f.event === "like");
      const total = frames.reduce((n, f) => n + (f.count as number), 0);
      return total === 6 ? frames : undefined;
    });
    expect(likes.length).toBeLessThan(6);
    expect(likes.at(-1)!.total).toBe(6);
  });

  it("origin status: live → stream_started, ended → stream_ended; chat refused after the end", async () => {
    const originId = `o-${randomId(6)}`;
    await env.DB.prepare(
      "INSERT INTO origins (id, base_url, rtmp_url, capacity, active_streams, pool, last_heartbeat_at) VALUES (?1, 'http://x.test', 'rtmp://x.test/live', 10, 0, 'standard', ?2)",
    )
      .bind(originId, Date.now())
      .run();
    const { streamId } = await createStreamRow();
    await env.DB.prepare("UPDATE streams SET origin_id = ?1 WHERE id = ?2").bind(originId, streamId).run();
    const a = await join(streamId);
    a.send({ type: "chat", text: "pre-show" });
    const pre = await a.next((f) => f.type === "chat");
    expect(pre.offsetMs).toBeNull();

    expect((await signedPost(`/api/internal/streams/${streamId}/status`, { originId, status: "live" })).status).toBe(200);
    const started = await a.next((f) => f.type === "system" && f.event === "stream_started");
    expect(started.startedAt).toBeGreaterThan(0);
    expect(started.offsetMs).toBeGreaterThanOrEqual(0);
    // a second "live" does not announce again
    await signedPost(`/api/internal/streams/${streamId}/status`, { originId, status: "reconnecting" });
    await signedPost(`/api/internal/streams/${streamId}/status`, { originId, status: "live" });
    a.send({ type: "chat", text: "on air" });
    const onAir = await a.next((f) => f.type === "chat" && f.text === "on air");
    expect(onAir.offsetMs).toBeGreaterThanOrEqual(0);

    expect((await signedPost(`/api/internal/streams/${streamId}/status`, { originId, status: "ended" })).status).toBe(200);
    const ended = await a.next((f) => f.type === "system" && f.event === "stream_ended");
    expect(ended).toMatchObject({ peakViewers: 1 });
    expect(a.frames.filter((f) => f.type === "system" && f.event === "stream_started")).toHaveLength(1);
    a.send({ type: "chat", text: "too late", ref: "late" });
    expect((await a.next((f) => f.ref === "late")).code).toBe("stream_ended");

    // the pre-start chat got a (negative) offset once the start was known
    const log = (await (await edge(`/api/streams/${streamId}/log?from=-60000&to=60000`)).json()) as { frames: Frame[] };
    const preInLog = log.frames.find((f) => f.type === "chat" && f.text === "pre-show")!;
    expect(preInLog.offsetMs as number).toBeLessThanOrEqual(0);
  });
});

describe("StreamRoom: polls", () => {
  it("the owner opens a poll; one vote per viewer; totals right under concurrent votes; close freezes", async () => {
    const { streamId, ownerToken } = await createStreamRow();
    const owner = await join(streamId, { token: ownerToken });
    const outsider = await join(streamId, { token: await mintToken(`b_${randomId(6)}`, "broadcaster") });
    outsider.send({ type: "poll_open", question: "Who wins?", choices: ["A", "B"], ref: "p0" });
    expect((await outsider.next((f) => f.ref === "p0")).code).toBe("forbidden");
    owner.send({ type: "poll_open", question: "Who wins?", choices: ["A"], ref: "p1" });
    expect((await owner.next((f) => f.ref === "p1")).code).toBe("bad_frame");
    owner.send({ type: "poll_open", question: "Who wins?", choices: ["Herons", "Peaks", "Draw"], ref: "p2" });
    const opened = await owner.next((f) => f.type === "poll_open");
    const pollId = opened.pollId as string;

    const voters = await Promise.all(Array.from({ length: 24 }, () => join(streamId)));
    // late joiners learn about the open poll in hello
    expect((voters[0]!.frames.find((f) => f.type === "hello")!.poll as { pollId: string }).pollId).toBe(pollId);
    const start = Date.now();
    // every viewer votes at once; then each votes again once its first vote is acknowledged (the
    // pool's in-process sockets may reorder one socket's burst, so the second waits for the first)
    voters.forEach((v, i) => v.send({ type: "vote", pollId, choice: i % 3, ref: "first" }));
    for (const v of voters) expect((await v.next((f) => f.ref === "first")).type).toBe("ack");
    voters.forEach((v, i) => v.send({ type: "vote", pollId, choice: (i + 1) % 3, ref: "again" }));
    for (const v of voters) expect((await v.next((f) => f.ref === "again")).code).toBe("already_voted");
    const final = await owner.next((f) => f.type === "poll_results" && f.total === 24, 5_000, "results with 24 votes");
    expect(final.totals).toEqual([8, 8, 8]);
    const results = owner.frames.filter((f) => f.type === "poll_results");
    // throttled: at most 4 per second (+1 for the window edge)
    expect(results.length).toBeLessThanOrEqual(Math.ceil((Date.now() - start) / 250) + 1);

    voters[0]!.send({ type: "vote", pollId, choice: 7, ref: "bad" });
    expect((await voters[0]!.next((f) => f.ref === "bad")).code).toBe("bad_frame");
    voters[0]!.send({ type: "vote", pollId: "nope", choice: 0, ref: "unknown" });
    expect((await voters[0]!.next((f) => f.ref === "unknown")).code).toBe("unknown_poll");

    owner.send({ type: "poll_close", pollId });
    const closed = await voters[5]!.next((f) => f.type === "poll_closed");
    expect(closed).toMatchObject({ pollId, totals: [8, 8, 8], total: 24, choices: ["Herons", "Peaks", "Draw"] });
    const late = await join(streamId);
    late.send({ type: "vote", pollId, choice: 0, ref: "closed" });
    expect((await late.next((f) => f.ref === "closed")).code).toBe("poll_closed");
    expect(late.frames.find((f) => f.type === "hello")!.poll).toBeNull();
  });

  it("votes survive a restart of the room", async () => {
    const { streamId, ownerToken } = await createStreamRow();
    const owner = await join(streamId, { token: ownerToken });
    owner.send({ type: "poll_open", question: "Q?", choices: ["yes", "no"] });
    const pollId = (await owner.next((f) => f.type === "poll_open")).pollId as string;
    const token = await anonToken();
    const voter = await join(streamId, { token });
    voter.send({ type: "vote", pollId, choice: 1, ref: "v" });
    await voter.next((f) => f.type === "ack" && f.ref === "v");
    await abortAllDurableObjects();
    const again = await join(streamId, { token });
    expect(again.frames.find((f) => f.type === "hello")!.poll).toMatchObject({ pollId, totals: [0, 1], total: 1 });
    again.send({ type: "vote", pollId, choice: 0, ref: "v2" });
    expect((await again.next((f) => f.ref === "v2")).code).toBe("already_voted");
  });

  it("polls through the API: owner only", async () => {
    const { streamId, owner } = await createStreamRow();
    const viewer = await join(streamId);
    const res = await edge(`/api/streams/${streamId}/polls`, {
      method: "POST",
      headers: { Authorization: `Bearer ${owner.apiKey}`, "Content-Type": "application/json" },
      body: JSON.stringify({ question: "Next goal?", choices: ["Home", "Away"] }),
    });
    expect(res.status).toBe(201);
    const poll = (await res.json()) as { pollId: string; totals: number[] };
    expect(poll.totals).toEqual([0, 0]);
    await viewer.next((f) => f.type === "poll_open" && f.pollId === poll.pollId);
    const again = await edge(`/api/streams/${streamId}/polls`, {
      method: "POST",
      headers: { Authorization: `Bearer ${owner.apiKey}`, "Content-Type": "application/json" },
      body: JSON.stringify({ question: "Another?", choices: ["x", "y"] }),
    });
    expect(again.status).toBe(409);
    const other = await createStreamRow();
    const forbidden = await edge(`/api/streams/${streamId}/polls/${poll.pollId}/close`, {
      method: "POST",
      headers: { Authorization: `Bearer ${other.owner.apiKey}` },
    });
    expect(forbidden.status).toBe(403);
    const bad = await edge(`/api/streams/${streamId}/polls`, {
      method: "POST",
      headers: { Authorization: `Bearer ${owner.apiKey}`, "Content-Type": "application/json" },
      body: JSON.stringify({ question: "Q", choices: ["1", "2", "3", "4", "5", "6", "7"] }),
    });
    expect(bad.status).toBe(400);
    const close = await edge(`/api/streams/${streamId}/polls/${poll.pollId}/close`, {
      method: "POST",
      headers: { Authorization: `Bearer ${owner.apiKey}` },
    });
    expect(close.status).toBe(200);
    await viewer.next((f) => f.type === "poll_closed");
  });
});

describe("StreamRoom: telemetry", () => {
  it("aggregated per group, pushed to the broadcaster, never broadcast per report", async () => {
    const { streamId, ownerToken } = await createStreamRow();
    const owner = await join(streamId, { token: ownerToken });
    const mobile = await join(streamId, { cf: { country: "DE" }, headers: { "User-Agent": "Mozilla/5.0 (Linux; Android 14) Mobile" } });
    const desktop = await join(streamId, { cf: { country: "DE" }, headers: { "User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64)" } });
    mobile.send({ type: "telemetry", bitrateKbps: 800, stallMs: 1200 });
    desktop.send({ type: "telemetry", bitrateKbps: 2400, stallMs: 0, ref: "t" });
    await desktop.next((f) => f.ref === "t");
    const summary = await owner.next((f) => f.type === "telemetry_summary");
    expect(summary).toBeDefined();
    const res = await (await import("./socket-helpers.js")).signedGet(`/api/internal/streams/${streamId}/telemetry`);
    const body = (await res.json()) as { groups: Record<string, { connections: number; avgBitrateKbps: number; avgStallMs: number }> };
    expect(body.groups["country:DE"]).toMatchObject({ connections: 2, avgBitrateKbps: 1600, avgStallMs: 600 });
    expect(body.groups["device:mobile"]).toMatchObject({ connections: 1, avgBitrateKbps: 800 });
    expect(body.groups["device:desktop"]).toMatchObject({ connections: 1, avgBitrateKbps: 2400 });
    expect(mobile.frames.some((f) => f.type === "telemetry_summary")).toBe(false);
    // a burst faster than 1/s is refused (how much of it depends on timing on a loaded machine)
    for (let i = 2; i <= 7; i++) desktop.send({ type: "telemetry", bitrateKbps: 1, ref: `t${i}` });
    await desktop.next((f) => f.ref === "t7");
    const refused = desktop.frames.filter((f) => typeof f.ref === "string" && /^t[2-7]$/.test(f.ref) && f.code === "rate_limited");
    expect(refused.length).toBeGreaterThanOrEqual(1);
  });
});
