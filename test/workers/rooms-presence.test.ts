/**
 * Presence churn. Sockets joining and leaving must not
 * write one replay-log frame each (and send it to everyone): presence is
 * coalesced into at most a few frames a second carrying the current count.
 */
import { afterEach, describe, expect, it } from "vitest";
import { sleep } from "./helpers.js";
import { createStreamRow, isLogFrame, openSocket, until, type Frame, type TestSocket } from "./socket-helpers.js";

const open: TestSocket[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

const presence = (f: Frame) => f.type === "system" && (f.event === "member_added" || f.event === "member_removed");

describe("presence churn", () => {
  it("60 sockets joining and leaving: a few coalesced presence frames, not one log frame per join and leave", async () => {
    const { streamId } = await createStreamRow();
    const observer = await openSocket(`/ws/streams/${streamId}`);
    open.push(observer);
    const hello = await observer.next((f) => f.type === "hello");
    await observer.next(presence);
    const startedAt = Date.now();
    const churn = await Promise.all(Array.from({ length: 60 }, () => openSocket(`/ws/streams/${streamId}`)));
    // the count reaches everyone with the 60 in, then settles back to the observer alone
    await until(() => (observer.frames.filter(presence).at(-1)?.viewerCount === 61 ? true : undefined), 5_000, "the count to reach 61");
    for (const s of churn) s.close();
    await until(() => (observer.frames.filter(presence).at(-1)?.viewerCount === 1 ? true : undefined), 5_000, "the count to settle at 1");
    const churnMs = Date.now() - startedAt;
    await sleep(300);
    const seen = observer.frames.filter(presence);

    const later = await openSocket(`/ws/streams/${streamId}`, { since: hello.seq });
    open.push(later);
    const replay = await later.next((f) => f.type === "hello");
    const logged = later.frames.filter((f) => isLogFrame(f) && f.seq <= replay.seq && presence(f));
    console.log(
      `60 sockets joining and leaving (${churnMs} ms): ${logged.length} presence log frames, ${seen.length} presence frames to a healthy client`,
    );
    // at most 4 a second over the churn, plus the one that carries the settled count
    const allowed = Math.ceil((Date.now() - startedAt) / 250) + 2;
    expect(logged.length).toBeLessThanOrEqual(Math.min(allowed, 20));
    expect(seen.length).toBeLessThanOrEqual(Math.min(allowed, 20));
    // at most one presence frame per 250 ms
    const times = seen.map((f) => f.ts);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(240);
    expect(seen.at(-1)!.viewerCount).toBe(1);
  });

  it("a quiet room still announces a single join at once, with who joined", async () => {
    const { streamId } = await createStreamRow();
    const a = await openSocket(`/ws/streams/${streamId}`);
    open.push(a);
    await a.next((f) => f.type === "hello");
    await sleep(300);
    const b = await openSocket(`/ws/streams/${streamId}`);
    open.push(b);
    const joinedAt = Date.now();
    const added = await a.next((f) => presence(f) && f.viewerCount === 2);
    expect(Date.now() - joinedAt).toBeLessThan(200);
    expect(added).toMatchObject({ event: "member_added", user: { role: "anonymous" } });
  });
});
