/**
 * Chat limits belong to the user (and, for anonymous
 * sessions, to the address), not to the socket; mutes of an anonymous user
 * reach the next anonymous identity from the same address; limits survive a
 * reconnect.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createUser, edge, randomId, sleep } from "./helpers.js";
import { anonToken, createStreamRow, mintToken, openSocket, type TestSocket } from "./socket-helpers.js";

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

/** A documentation address (RFC 5737) of its own per test. */
const address = () => `198.51.100.${1 + Math.floor(Math.random() * 250)}`;
const from = (ip: string) => ({ headers: { "CF-Connecting-IP": ip } });

/** Sends `count` chats at once; resolves to how many were acknowledged. */
async function burst(socket: TestSocket, count: number, tag = randomId(6)): Promise<number> {
  for (let i = 0; i < count; i++) socket.send({ type: "chat", text: `${tag} ${i}`, ref: `${tag}_${i}` });
  const answers = await socket.waitCount(
    (f) => typeof f.ref === "string" && f.ref.startsWith(`${tag}_`) && (f.type === "ack" || f.type === "error"),
    count,
  );
  return answers.filter((f) => f.type === "ack").length;
}

async function chatAnswer(socket: TestSocket, text: string) {
  const ref = `q_${randomId(8)}`;
  socket.send({ type: "chat", text, ref });
  const answer = await socket.next((f) => f.ref === ref);
  return answer.type === "ack" ? "ack" : (answer.code as string);
}

describe("chat limits per user and address", () => {
  it("one token on 10 sockets shares one bucket (burst 10), not ten", async () => {
    const { streamId } = await createStreamRow();
    const token = await mintToken(`anon_${randomId(10)}`);
    const sockets = [];
    for (let i = 0; i < 10; i++) sockets.push(await join(streamId, { token }));
    const accepted = (await Promise.all(sockets.map((s, i) => burst(s, 10, `s${i}`)))).reduce((a, b) => a + b, 0);
    console.log(`one token on 10 sockets, 100 chats at once: ${accepted} accepted`);
    expect(accepted).toBeGreaterThanOrEqual(10);
    expect(accepted).toBeLessThanOrEqual(14);
  });

  it("a reconnect does not refill the bucket", async () => {
    const { streamId } = await createStreamRow();
    const token = await mintToken(`anon_${randomId(10)}`);
    const first = await join(streamId, { token });
    const before = await burst(first, 12, "first");
    const emptiedAt = Date.now();
    first.close();
    const again = await join(streamId, { token });
    const after = await burst(again, 10, "again");
    // what the bucket may have refilled meanwhile (5/s), not a new burst of 10
    const refill = Math.floor(((Date.now() - emptiedAt) / 1000) * 5) + 1;
    console.log(`burst, reconnect, burst: ${before} + ${after} accepted (refill allowance ${refill})`);
    expect(before).toBeGreaterThanOrEqual(10);
    expect(after).toBeLessThanOrEqual(Math.min(refill, 9));
  });

  it("anonymous identities from one address share an address bucket (burst 20); another address does not", async () => {
    const { streamId } = await createStreamRow();
    const ip = address();
    const sockets = [];
    for (let i = 0; i < 3; i++) sockets.push(await join(streamId, { token: await anonToken(), ...from(ip) }));
    const accepted = (await Promise.all(sockets.map((s, i) => burst(s, 10, `a${i}`)))).reduce((a, b) => a + b, 0);
    console.log(`3 anonymous tokens from one address, 30 chats at once: ${accepted} accepted`);
    expect(accepted).toBeGreaterThanOrEqual(20);
    expect(accepted).toBeLessThanOrEqual(25);
    const elsewhere = await join(streamId, { token: await anonToken(), ...from("192.0.2.77") });
    expect(await chatAnswer(elsewhere, "from elsewhere")).toBe("ack");
    // registered users are limited per user only
    const viewer = await createUser("viewer");
    const registered = await join(streamId, { token: await mintToken(viewer.id, "viewer"), ...from(ip) });
    expect(await chatAnswer(registered, "registered from the same address")).toBe("ack");
  });
});

describe("mutes reach a new anonymous identity from the same address", () => {
  it("the broadcaster mutes an anonymous viewer; a fresh anonymous token from that address is muted too", async () => {
    const { streamId, ownerToken } = await createStreamRow();
    const ip = address();
    const owner = await join(streamId, { token: ownerToken });
    const troll = `anon_${randomId(10)}`;
    const first = await join(streamId, { token: await mintToken(troll), ...from(ip) });
    expect(await chatAnswer(first, "hello")).toBe("ack");
    owner.send({ type: "mute", userId: troll, ref: "mute1" });
    expect((await owner.next((f) => f.ref === "mute1")).type).toBe("ack");
    expect(await chatAnswer(first, "still here?")).toBe("muted");
    first.close();

    const fresh = await join(streamId, { token: await anonToken(), ...from(ip) });
    const answer = await chatAnswer(fresh, "new identity, same address");
    console.log(`muted anonymous user back with a new anonymous token from the same address: ${answer}`);
    expect(answer).toBe("muted");
    // other addresses and registered users are not affected
    const other = await join(streamId, { token: await anonToken(), ...from("192.0.2.78") });
    expect(await chatAnswer(other, "other address")).toBe("ack");
    const viewer = await createUser("viewer");
    const registered = await join(streamId, { token: await mintToken(viewer.id, "viewer"), ...from(ip) });
    expect(await chatAnswer(registered, "registered, same address")).toBe("ack");

    owner.send({ type: "unmute", userId: troll, ref: "unmute1" });
    await owner.next((f) => f.ref === "unmute1");
    expect(await chatAnswer(fresh, "after the unmute")).toBe("ack");
  });

  it("an IPv6 client is known by its /64: a new address in the same network is still muted", async () => {
    const { streamId, ownerToken } = await createStreamRow();
    const net = `2001:db8:${randomId(4).replace(/[^0-9a-f]/g, "a")}:1`;
    const owner = await join(streamId, { token: ownerToken });
    const troll = `anon_${randomId(10)}`;
    await join(streamId, { token: await mintToken(troll), ...from(`${net}::10`) });
    owner.send({ type: "mute", userId: troll, ref: "m6" });
    await owner.next((f) => f.ref === "m6");
    const rotated = await join(streamId, { token: await anonToken(), ...from(`${net}:a:b:c:d`) });
    expect(await chatAnswer(rotated, "new address, same /64")).toBe("muted");
  });

  it("muting an anonymous user who is not connected uses the address their session was minted from", async () => {
    const { streamId, ownerToken } = await createStreamRow();
    const ip = address();
    const minted = await edge("/api/session/anonymous", { method: "POST", headers: { "CF-Connecting-IP": ip } });
    expect(minted.status).toBe(201);
    const { userId } = (await minted.json()) as { userId: string };
    const owner = await join(streamId, { token: ownerToken });
    owner.send({ type: "mute", userId, ref: "m" });
    await owner.next((f) => f.ref === "m");
    await sleep(20);
    const fresh = await join(streamId, { token: await anonToken(), ...from(ip) });
    expect(await chatAnswer(fresh, "evading")).toBe("muted");
  });
});
