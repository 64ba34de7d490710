/**
 * Stream fan-out shards (workers/rooms/fanout/stream-shard.ts): with
 * STREAM_SHARD_SOCKETS > 0 the Worker spreads a stream's sockets over
 * shards; the StreamRoom stays the one place that decides (seq, log, chat
 * limits, mutes, roles) and every socket on every shard sees the same log.
 * Also: a studio group action without a group is a direct frame, not history.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { ShardDelivery, ShardReport } from "../../workers/rooms/fanout/shard-protocol.js";
import type { StreamRoom } from "../../workers/rooms/stream-room.js";
import { streamRoom, streamShard } from "../../workers/stubs.js";
import { BASE, edge, randomId, sleep } from "./helpers.js";
import {
  anonToken,
  createStreamRow,
  isLogFrame,
  mintToken,
  envWith,
  openOnShard,
  openThroughWorker,
  signedPost,
  until,
  type Frame,
  type TestSocket,
} from "./socket-helpers.js";

const open: TestSocket[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

interface JoinOptions {
  capacity?: number;
  token?: string;
  since?: number;
  headers?: Record<string, string>;
  cf?: Record<string, unknown>;
}

/** A socket through the Worker's upgrade route (token, placement on a shard), after its hello. */
async function join(streamId: string, { capacity = 2, token, since, headers = {}, cf }: JoinOptions = {}): Promise<TestSocket> {
  const params = new URLSearchParams({ token: token ?? (await anonToken()) });
  if (since !== undefined) params.set("since", String(since));
  const request = new Request(`${BASE}/ws/streams/${streamId}?${params}`, {
    headers: { Upgrade: "websocket", ...headers },
    ...(cf ? { cf } : {}),
  } as RequestInit);
  const socket = await openThroughWorker(request, envWith({ STREAM_SHARD_SOCKETS: String(capacity) }), "hello");
  open.push(socket);
  return socket;
}

/** A socket straight on shard `index` (what the Worker hands over, without placement). */
async function joinShard(streamId: string, index: number, since: number | null = null): Promise<TestSocket> {
  const socket = await openOnShard(streamShard(env, streamId, index), "hello", since);
  open.push(socket);
  return socket;
}

const helloOf = (s: TestSocket) => s.frames.find((f) => f.type === "hello")!;
const shardOf = (s: TestSocket) => helloOf(s).shard as number;
const chats = (s: TestSocket) => s.frames.filter((f) => f.type === "chat");
const logAfterHello = (s: TestSocket) => s.frames.slice(s.frames.indexOf(helloOf(s)) + 1).filter(isLogFrame);
const presence = (f: Frame) => f.type === "system" && (f.event === "member_added" || f.event === "member_removed");

/** Sends one chat and waits for its answer: "ack" or the error code. */
async function chat(socket: TestSocket, text: string): Promise<string> {
  const ref = `c_${randomId(8)}`;
  socket.send({ type: "chat", text, ref });
  const answer = await socket.next((f) => f.ref === ref, 5_000, `the answer to '${text}'`);
  return answer.type === "ack" ? "ack" : (answer.code as string);
}

/** Sends `count` chats at once; resolves to how many were acknowledged. */
async function burst(socket: TestSocket, count: number, tag: string): Promise<number> {
  for (let i = 0; i < count; i++) socket.send({ type: "chat", text: `${tag} ${i}`, ref: `${tag}_${i}` });
  const answers = await socket.waitCount((f) => typeof f.ref === "string" && f.ref.startsWith(`${tag}_`), count);
  return answers.filter((f) => f.type === "ack").length;
}

/** Waits until every socket has a chat with `text`; returns the first socket's. */
async function everyoneGets(sockets: TestSocket[], text: string): Promise<Frame> {
  const frames = await Promise.all(sockets.map((s) => s.next((f) => f.type === "chat" && f.text === text, 5_000, `chat '${text}'`)));
  return frames[0]!;
}

function expectContiguous(frames: Frame[]) {
  frames.forEach((f, i) => expect(f.seq, `frame ${i}`).toBe(frames[0]!.seq + i));
}

describe("stream fan-out shards", () => {
  it("sockets spread over shards (at most STREAM_SHARD_SOCKETS each); chat from every shard reaches every socket in one order, one seq", async () => {
    const { streamId } = await createStreamRow();
    const sockets: TestSocket[] = [];
    for (let i = 0; i < 5; i++) sockets.push(await join(streamId));
    const perShard = new Map<number, number>();
    for (const s of sockets) perShard.set(shardOf(s), (perShard.get(shardOf(s)) ?? 0) + 1);
    expect(
      [...perShard.values()].every((n) => n <= 2),
      JSON.stringify([...perShard]),
    ).toBe(true);
    expect(perShard.size).toBe(3);
    for (const s of sockets) expect(helloOf(s)).toMatchObject({ room: { kind: "stream", id: streamId }, streamId, you: { owner: false } });

    // every socket sends, concurrently, each its chats one after the other
    await Promise.all(
      sockets.map(async (s, i) => {
        for (let k = 0; k < 4; k++) expect(await chat(s, `s${i}-${k}`)).toBe("ack");
      }),
    );
    const views = await Promise.all(sockets.map((s) => s.waitCount((f) => f.type === "chat", 20)));
    const reference = views[0]!.map((f) => `${f.seq}:${f.text}`);
    for (const view of views) expect(view.map((f) => `${f.seq}:${f.text}`)).toEqual(reference);
    expectContiguous(views[0]!);
    // the same bytes everywhere: same ts, same offsetMs, same sender
    for (const s of sockets) expect(chats(s)).toEqual(chats(sockets[0]!));
    // each sender's chats in its order
    for (let i = 0; i < sockets.length; i++) {
      expect(reference.filter((r) => r.includes(`:s${i}-`)).map((r) => r.split(":")[1])).toEqual([0, 1, 2, 3].map((k) => `s${i}-${k}`));
    }
    // and the acks carry the seq of their chat, which the sender had already received
    const last = await chat(sockets[4]!, "last");
    expect(last).toBe("ack");
    const ack = [...sockets[4]!.frames].reverse().find((f) => f.type === "ack")!;
    const own = sockets[4]!.frames.find((f) => f.type === "chat" && f.text === "last")!;
    expect(ack.seq).toBe(own.seq);
    expect(sockets[4]!.frames.indexOf(own)).toBeLessThan(sockets[4]!.frames.indexOf(ack));
  });

  it("chat limits are per stream: one user on sockets of several shards shares one bucket; a mute holds on every shard", async () => {
    const { streamId, ownerToken } = await createStreamRow();
    const user = `anon_${randomId(10)}`;
    const token = await mintToken(user);
    const ip = `198.51.100.${1 + Math.floor(Math.random() * 250)}`;
    const mine: TestSocket[] = [];
    for (let i = 0; i < 4; i++) mine.push(await join(streamId, { token, headers: { "CF-Connecting-IP": ip } }));
    expect(new Set(mine.map(shardOf)).size).toBe(2);
    const accepted = (await Promise.all(mine.map((s, i) => burst(s, 6, `b${i}`)))).reduce((a, b) => a + b, 0);
    // burst 10 for the user, a token or two of refill while the 24 arrive
    expect(accepted).toBeGreaterThanOrEqual(10);
    expect(accepted).toBeLessThanOrEqual(12);

    const owner = await join(streamId, { token: ownerToken });
    expect(helloOf(owner)).toMatchObject({ you: { owner: true } });
    owner.send({ type: "mute", userId: user, ref: "mute" });
    expect((await owner.next((f) => f.ref === "mute")).type).toBe("ack");
    for (const s of mine) await s.next((f) => f.type === "system" && f.event === "muted" && f.userId === user);
    for (const s of mine) expect(await chat(s, "still here?")).toBe("muted");
    // the mute took the address from the user's socket on a shard: a new anonymous identity from it is muted too
    const fresh = await join(streamId, { headers: { "CF-Connecting-IP": ip } });
    expect(await chat(fresh, "new identity")).toBe("muted");
    const other = await join(streamId, { headers: { "CF-Connecting-IP": "192.0.2.99" } });
    expect(await chat(other, "someone else")).toBe("ack");
    // a viewer on a shard may not run owner-only frames
    other.send({ type: "mute", userId: "anon_x", ref: "nope" });
    expect((await other.next((f) => f.ref === "nope")).code).toBe("forbidden");
  });

  it("reconnect with since on another shard replays exactly the missed frames, then live", async () => {
    const { streamId } = await createStreamRow();
    const writer = await join(streamId);
    const reader = await join(streamId);
    const third = await join(streamId); // shard 1
    expect(shardOf(writer)).toBe(0);
    expect(shardOf(third)).toBe(1);
    await chat(writer, "before");
    await everyoneGets([reader, third], "before");
    const lastSeen = Math.max(...reader.frames.filter(isLogFrame).map((f) => f.seq));
    reader.close();
    for (let i = 0; i < 5; i++) expect(await chat(writer, `missed ${i}`)).toBe("ack");
    await everyoneGets([writer, third], "missed 4");

    // on shard 1 (its own copy), and on shard 5, which never held a socket (the room's log)
    for (const index of [1, 5]) {
      const back = await joinShard(streamId, index, lastSeen);
      const hello = helloOf(back);
      const replayed = back.frames.slice(0, back.frames.indexOf(hello));
      // exactly what the writer (on shard 0) received after lastSeen, byte for byte
      await writer.next((f) => isLogFrame(f) && f.seq === hello.seq);
      const missed = writer.frames.filter((f) => isLogFrame(f) && f.seq > lastSeen && f.seq <= hello.seq);
      expect(replayed, `shard ${index}`).toEqual(missed);
      expect(replayed.filter((f) => f.type === "chat").map((f) => f.text)).toEqual([
        ...[0, 1, 2, 3, 4].map((i) => `missed ${i}`),
        ...(index === 5 ? ["live 1"] : []),
      ]);
      expect(hello).toMatchObject({ replayed: replayed.length, shard: index, seq: replayed.at(-1)!.seq });
      await chat(writer, `live ${index}`);
      const live = await back.next((f) => f.type === "chat" && f.text === `live ${index}`);
      const log = back.frames.filter(isLogFrame);
      expectContiguous(log);
      expect(log.at(-1)).toEqual(live);
    }
  });

  it("owner-only and group frames reach only their sockets, on whichever shard holds them", async () => {
    const { streamId, owner, ownerToken } = await createStreamRow();
    const fr = await join(streamId, { cf: { country: "FR" }, headers: { "User-Agent": "Mozilla/5.0 (Linux; Android 14) Mobile" } });
    const us = await join(streamId, { cf: { country: "US" } });
    const fr2 = await join(streamId, { cf: { country: "FR" } });
    const studio = await join(streamId, { token: ownerToken });
    expect(shardOf(studio)).toBe(1);
    expect(shardOf(fr)).toBe(0);
    const viewers = [fr, us, fr2];

    // telemetry from a viewer on shard 0: the aggregate in the room, the summary to the owner on shard 1 only
    fr.send({ type: "telemetry", bitrateKbps: 900, latencyMs: 1_500, ref: "t1" });
    expect((await fr.next((f) => f.ref === "t1")).type).toBe("ack");
    const summary = await studio.next((f) => f.type === "telemetry_summary");
    expect((summary.groups as Record<string, { connections: number }>)["country:FR"]).toMatchObject({ connections: 1 });
    const res = await edge(`/api/studio/streams/${streamId}/telemetry`, { headers: { Authorization: `Bearer ${owner.apiKey}` } });
    expect(((await res.json()) as { groups: Record<string, unknown> }).groups["device:mobile"]).toMatchObject({ avgBitrateKbps: 900 });

    // a group post: only France, on both shards
    const post = await signedPost(`/api/internal/streams/${streamId}/system`, {
      event: "gift",
      data: { note: "FR only" },
      group: { country: "FR" },
    });
    expect(await post.json()).toMatchObject({ ok: true, recipients: 2 });
    for (const s of [fr, fr2]) await s.next((f) => (f.data as { note?: string } | undefined)?.note === "FR only");
    // a studio action to every viewer (no group): a direct frame to all four sockets
    const action = await edge(`/api/studio/streams/${streamId}/actions`, {
      method: "POST",
      headers: { Authorization: `Bearer ${owner.apiKey}`, "Content-Type": "application/json" },
      body: JSON.stringify({ action: "notice", text: "hello everyone" }),
    });
    expect(await action.json()).toMatchObject({ ok: true, recipients: 4 });
    for (const s of [...viewers, studio])
      await s.next((f) => f.event === "group_action" && (f.data as { text?: string }).text === "hello everyone");

    await sleep(100);
    for (const s of viewers) expect(s.frames.some((f) => f.type === "telemetry_summary")).toBe(false);
    for (const s of [us, studio]) expect(s.frames.some((f) => (f.data as { note?: string } | undefined)?.note === "FR only")).toBe(false);
  });

  it("presence and viewer counts cover every shard", async () => {
    const { streamId } = await createStreamRow();
    const first = await join(streamId);
    const others = [];
    for (let i = 0; i < 4; i++) others.push(await join(streamId));
    expect(new Set([first, ...others].map(shardOf)).size).toBe(3);
    await until(() => (first.frames.filter(presence).at(-1)?.viewerCount === 5 ? true : undefined), 5_000, "a presence frame with 5");
    const info = async () =>
      ((await (await edge(`/api/streams/${streamId}`)).json()) as { viewerCount: number; peakViewers: number }).viewerCount;
    expect(await info()).toBe(5);
    expect(await streamRoom(env, streamId).viewerCount()).toBe(5);
    const late = await join(streamId);
    expect(helloOf(late).viewerCount).toBeGreaterThanOrEqual(5);
    others[0]!.close();
    others[3]!.close();
    await until(() => (first.frames.filter(presence).at(-1)?.viewerCount === 4 ? true : undefined), 5_000, "a presence frame with 4");
    expect(await info()).toBe(4);
    // every socket saw the same presence frames (they are log frames)
    const reference = late.frames.filter(presence);
    expect(first.frames.filter(presence).filter((f) => f.seq >= reference[0]!.seq)).toEqual(reference);
  });

  it("a push a shard never got: the next one shows the hole, the shard fills it in order", async () => {
    const { streamId } = await createStreamRow();
    const sockets = [];
    for (let i = 0; i < 4; i++) sockets.push(await join(streamId));
    await chat(sockets[0]!, "warm up");
    await everyoneGets(sockets, "warm up");
    let lost = 0;
    await runInDurableObject(streamRoom(env, streamId), (instance: StreamRoom) => {
      const entry = (instance as unknown as { shards: { fanout: { shards: Map<number, { target: unknown }> } } }).shards.fanout.shards.get(
        1,
      )!;
      entry.target = {
        async deliver(delivery: ShardDelivery): Promise<ShardReport> {
          lost++;
          entry.target = null; // lost once; the next push takes a new stub
          return { index: 1, lastSeq: delivery.first - 1, sockets: 2, report: 0 };
        },
      };
    });
    const onOne = sockets.filter((s) => shardOf(s) === 1);
    const onZero = sockets.filter((s) => shardOf(s) === 0);
    expect(onOne.length).toBe(2);
    expect(await chat(onZero[0]!, "lost on the way to shard 1")).toBe("ack");
    // a sender on shard 1: its ack waits until its shard has the frames before it
    expect(await chat(onOne[0]!, "after the hole")).toBe("ack");
    await everyoneGets(sockets, "after the hole");
    expect(lost).toBe(1);
    for (const s of onOne) expect(chats(s)).toEqual(chats(onZero[0]!));
    for (const s of sockets) expectContiguous(logAfterHello(s));
  });

  it("a shard restarted: its sockets reconnect with since and miss nothing, without duplicates", async () => {
    const { streamId } = await createStreamRow();
    const sockets = [];
    for (let i = 0; i < 3; i++) sockets.push(await join(streamId));
    await chat(sockets[2]!, "before the restart");
    await everyoneGets(sockets, "before the restart");
    const lost = sockets.filter((s) => shardOf(s) === 0);
    const kept = sockets.find((s) => shardOf(s) === 1)!;
    await runInDurableObject(streamShard(env, streamId, 0), (_instance, state) => {
      setTimeout(() => {
        try {
          state.abort("test: shard restart");
        } catch {
          // abort throws by design
        }
      }, 5);
    });
    await Promise.all(lost.map((s) => s.closed));
    for (let i = 0; i < 3; i++) expect(await chat(kept, `while away ${i}`)).toBe("ack");
    const lastSeen = Math.max(...lost[0]!.frames.filter(isLogFrame).map((f) => f.seq));
    const back = await Promise.all(lost.map(() => join(streamId, { since: lastSeen })));
    await chat(kept, "after");
    await everyoneGets([...back, kept], "after");
    const reference = kept.frames.filter((f) => isLogFrame(f) && f.seq > lastSeen);
    for (const s of back) {
      const log = s.frames.filter(isLogFrame);
      expect(log[0]!.seq).toBe(lastSeen + 1);
      expectContiguous(log);
      expect(log.filter((f) => f.type === "chat")).toEqual(reference.filter((f) => f.type === "chat"));
    }
  });
});

describe("group actions are direct frames, not history", () => {
  for (const capacity of [0, 2]) {
    it(`a studio action without a group goes to every socket connected now and is never replayed (STREAM_SHARD_SOCKETS=${capacity})`, async () => {
      const { streamId, owner } = await createStreamRow({ status: "live", startedAt: Date.now() });
      const a = await join(streamId, { capacity });
      const b = await join(streamId, { capacity });
      const c = await join(streamId, { capacity });
      const since = Math.max(...c.frames.filter(isLogFrame).map((f) => f.seq), helloOf(c).seq);
      const res = await edge(`/api/studio/streams/${streamId}/actions`, {
        method: "POST",
        headers: { Authorization: `Bearer ${owner.apiKey}`, "Content-Type": "application/json" },
        body: JSON.stringify({ action: "cap_rendition", maxHeight: 360 }),
      });
      expect(await res.json()).toMatchObject({ ok: true, recipients: 3 });
      const frames = await Promise.all([a, b, c].map((s) => s.next((f) => f.type === "system" && f.event === "group_action")));
      for (const f of frames) expect(f).toMatchObject({ data: { action: "cap_rendition", maxHeight: 360 }, group: {} });
      expect(new Set(frames.map((f) => JSON.stringify(f))).size).toBe(1);
      expect(await chat(a, "after the action")).toBe("ack");
      await everyoneGets([a, b, c], "after the action");

      // not in the log: a socket reconnecting with since, and the replay page's window, never see it
      const again = await join(streamId, { capacity, since });
      const replayed = again.frames.slice(0, again.frames.indexOf(helloOf(again)));
      expect(replayed.map((f) => f.text)).toContain("after the action");
      expect(replayed.some((f) => f.event === "group_action")).toBe(false);
      const log = (await (await edge(`/api/streams/${streamId}/log?from=-60000&to=540000`)).json()) as { frames: Frame[] };
      expect(log.frames.some((f) => f.type === "chat")).toBe(true);
      expect(log.frames.some((f) => f.event === "group_action")).toBe(false);
      // with a group, as before: only that group
      const grouped = await edge(`/api/studio/streams/${streamId}/actions`, {
        method: "POST",
        headers: { Authorization: `Bearer ${owner.apiKey}`, "Content-Type": "application/json" },
        body: JSON.stringify({ action: "uncap_rendition", group: { device: "mobile" } }),
      });
      expect(await grouped.json()).toMatchObject({ ok: true, recipients: 0 });
    });
  }
});
