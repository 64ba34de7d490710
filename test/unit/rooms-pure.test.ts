import { describe, expect, it } from "vitest";
import { PollTally, validatePoll } from "../../workers/rooms/poll.js";
import {
  checkChatText,
  decodeEnvelope,
  exceedsUtf8Bytes,
  MAX_FRAME_BYTES,
  parseClientFrame,
  STREAM_CLIENT_TYPES,
  StreamClientFrameSchema,
} from "../../workers/rooms/protocol.js";
import { FloodGuard, Throttle, TokenBucket } from "../../workers/rooms/rate-limit.js";
import { TelemetryAggregator } from "../../workers/rooms/telemetry.js";
import { clientCountry, clientIp, deviceType } from "../../workers/lib/client-info.js";

describe("token bucket (chat 5/s, burst 10)", () => {
  it("allows the burst, then refills at the rate", () => {
    const bucket = new TokenBucket(5, 10, 0);
    const first = Array.from({ length: 12 }, () => bucket.take(0));
    expect(first.filter(Boolean)).toHaveLength(10);
    expect(bucket.take(100)).toBe(false); // 0.5 token
    expect(bucket.take(200)).toBe(true); // 1 token after 200 ms
    expect(bucket.take(200)).toBe(false);
    // never more than the burst, however long the pause
    expect(bucket.available(60_000)).toBe(10);
  });

  it("sustains exactly the rate over time", () => {
    const bucket = new TokenBucket(5, 10, 0);
    let accepted = 0;
    for (let t = 0; t <= 10_000; t += 10) if (bucket.take(t)) accepted++;
    // burst + 5/s × 10 s
    expect(accepted).toBeGreaterThanOrEqual(59);
    expect(accepted).toBeLessThanOrEqual(61);
  });
});

describe("flood guard (> 50 frames in 1 s)", () => {
  it("50 frames in a second are fine, the 51st is a flood", () => {
    const guard = new FloodGuard(50, 1_000);
    for (let i = 0; i < 50; i++) expect(guard.hit(i * 10)).toBe(false);
    expect(guard.hit(600)).toBe(true);
  });

  it("a steady 40/s never floods", () => {
    const guard = new FloodGuard(50, 1_000);
    for (let i = 0; i < 400; i++) expect(guard.hit(i * 25)).toBe(false);
  });

  it("the window slides", () => {
    const guard = new FloodGuard(50, 1_000);
    for (let i = 0; i < 50; i++) guard.hit(0);
    expect(guard.hit(1_000)).toBe(false); // the 50 at t=0 are exactly 1 s old
  });
});

describe("throttle (≤ 4/s)", () => {
  it("fires at once, then defers to the end of the window, one pending at a time", () => {
    const t = new Throttle(250);
    expect(t.request(0)).toEqual({ now: true });
    expect(t.request(10)).toEqual({ now: false, at: 250, alreadyPending: false });
    expect(t.request(20)).toEqual({ now: false, at: 250, alreadyPending: true });
    t.fired(250);
    expect(t.request(300)).toEqual({ now: false, at: 500, alreadyPending: false });
    t.cancel();
    expect(t.request(600)).toEqual({ now: true });
  });

  it("never more than one firing per interval", () => {
    const t = new Throttle(250);
    const firings: number[] = [];
    let pendingAt: number | null = null;
    for (let now = 0; now < 2_000; now += 7) {
      if (pendingAt !== null && now >= pendingAt) {
        t.fired(now);
        firings.push(now);
        pendingAt = null;
      }
      const d = t.request(now);
      if (d.now) firings.push(now);
      else pendingAt = d.at;
    }
    for (let i = 1; i < firings.length; i++) expect(firings[i]! - firings[i - 1]!).toBeGreaterThanOrEqual(250);
    expect(firings.length).toBeLessThanOrEqual(9);
  });
});

describe("poll tally", () => {
  const spec = { id: "p1", question: "Who?", choices: ["A", "B", "C"], openedAt: 0, openedBy: "u" };

  it("one vote per voter; totals; closed polls take no votes", () => {
    const poll = new PollTally(spec);
    expect(poll.vote("u1", 0)).toBe("ok");
    expect(poll.vote("u1", 1)).toBe("duplicate");
    expect(poll.vote("u2", 3)).toBe("bad_choice");
    expect(poll.vote("u2", -1)).toBe("bad_choice");
    expect(poll.vote("u2", 1.5)).toBe("bad_choice");
    expect(poll.vote("u2", 2)).toBe("ok");
    expect(poll.totals()).toEqual([1, 0, 1]);
    expect(poll.total).toBe(2);
    poll.close(10);
    expect(poll.vote("u3", 0)).toBe("closed");
    expect(poll.view()).toMatchObject({ pollId: "p1", totals: [1, 0, 1], total: 2, open: false });
  });

  it("rebuilt from persisted votes (first vote of a voter wins)", () => {
    const poll = new PollTally(spec, [
      ["a", 0],
      ["b", 1],
      ["a", 2],
      ["c", 1],
    ]);
    expect(poll.totals()).toEqual([1, 2, 0]);
    expect(poll.vote("b", 0)).toBe("duplicate");
  });

  it("many voters in any order give exact totals", () => {
    const poll = new PollTally(spec);
    const votes = Array.from({ length: 3_000 }, (_, i) => [`v${i % 1_000}`, i % 3] as const);
    for (const [voter, choice] of votes) poll.vote(voter, choice);
    expect(poll.total).toBe(1_000);
    expect(poll.totals().reduce((a, b) => a + b, 0)).toBe(1_000);
  });

  it("validation: 2..6 distinct non-empty choices, bounded lengths", () => {
    expect(validatePoll("Q", ["a", "b"])).toEqual({ ok: true, question: "Q", choices: ["a", "b"] });
    expect(validatePoll(" Q ", [" a ", "b"])).toMatchObject({ ok: true, question: "Q", choices: ["a", "b"] });
    expect(validatePoll("Q", ["a"]).ok).toBe(false);
    expect(validatePoll("Q", ["1", "2", "3", "4", "5", "6", "7"]).ok).toBe(false);
    expect(validatePoll("Q", ["a", "A"]).ok).toBe(false);
    expect(validatePoll("Q", ["a", ""]).ok).toBe(false);
    expect(validatePoll("", ["a", "b"]).ok).toBe(false);
    expect(validatePoll("Q".repeat(201), ["a", "b"]).ok).toBe(false);
    expect(validatePoll("Q", ["a".repeat(81), "b"]).ok).toBe(false);
    // text for people: no control characters (ANSI), bidi overrides or HTML markup; NFC
    expect(validatePoll("\u001b[31mWho wins?", ["a", "b"])).toEqual({ ok: false, message: "question contains control characters (ANSI escapes, line breaks, tabs ...)" });
    expect(validatePoll("Who\nwins?", ["a", "b"]).ok).toBe(false);
    expect(validatePoll("Q", ["<img src=x onerror=alert(1)>", "b"]).ok).toBe(false);
    expect(validatePoll("Q", ["\u202Eb", "a"]).ok).toBe(false);
    expect(validatePoll("Reds <3 or Blues?", ["Cafe\u0301", "b"])).toEqual({ ok: true, question: "Reds <3 or Blues?", choices: ["Café", "b"] });
    expect(validatePoll("Q", "a,b").ok).toBe(false);
  });
});

describe("frame validation", () => {
  it("envelope: size, JSON, object with a type", () => {
    expect(decodeEnvelope(JSON.stringify({ type: "chat", text: "hi" }))).toMatchObject({ ok: true, frame: { type: "chat" } });
    expect(decodeEnvelope("x".repeat(MAX_FRAME_BYTES + 1))).toMatchObject({ ok: false, code: "too_large" });
    // 4 KiB counted in UTF-8 bytes, not characters
    expect(decodeEnvelope(JSON.stringify({ type: "chat", text: "é".repeat(2100) }))).toMatchObject({ ok: false, code: "too_large" });
    expect(decodeEnvelope("{nope")).toMatchObject({ ok: false, code: "bad_json" });
    expect(decodeEnvelope("[1]")).toMatchObject({ ok: false, code: "bad_frame" });
    expect(decodeEnvelope("null")).toMatchObject({ ok: false, code: "bad_frame" });
    expect(decodeEnvelope('"chat"')).toMatchObject({ ok: false, code: "bad_frame" });
    expect(decodeEnvelope(JSON.stringify({ text: "no type" }))).toMatchObject({ ok: false, code: "bad_frame" });
    expect(decodeEnvelope(JSON.stringify({ type: 5 }))).toMatchObject({ ok: false, code: "bad_frame" });
    expect(decodeEnvelope(JSON.stringify({ type: "chat", ref: "bad ref!" }))).toMatchObject({ ok: false, code: "bad_frame" });
    expect(decodeEnvelope(new ArrayBuffer(10))).toMatchObject({ ok: false, code: "bad_frame" });
    expect(decodeEnvelope(new ArrayBuffer(5000))).toMatchObject({ ok: false, code: "too_large" });
    expect(exceedsUtf8Bytes("a".repeat(4096))).toBe(false);
    expect(exceedsUtf8Bytes("€".repeat(1366))).toBe(true);
  });

  it("room frames: unknown types and bad shapes", () => {
    const parse = (frame: Record<string, unknown>) =>
      parseClientFrame({ type: "x", ...frame } as never, STREAM_CLIENT_TYPES, StreamClientFrameSchema);
    expect(parse({ type: "chat", text: "hi" })).toMatchObject({ ok: true });
    expect(parse({ type: "dance" })).toMatchObject({ ok: false, code: "unknown_type" });
    expect(parse({ type: "chat" })).toMatchObject({ ok: false, code: "bad_frame" });
    expect(parse({ type: "vote", pollId: "p", choice: "1" })).toMatchObject({ ok: false, code: "bad_frame" });
    expect(parse({ type: "vote", pollId: "p", choice: 2 })).toMatchObject({ ok: true });
    expect(parse({ type: "telemetry", bitrateKbps: -1 })).toMatchObject({ ok: false, code: "bad_frame" });
    expect(parse({ type: "telemetry", bitrateKbps: 900, stallMs: 20 })).toMatchObject({ ok: true });
    expect(parse({ type: "poll_open", question: "Q", choices: ["a"] })).toMatchObject({ ok: false, code: "bad_frame" });
  });

  it("chat text: ≤ 500 characters of well-formed text, never HTML-processed", () => {
    expect(checkChatText("<script>alert(1)</script>")).toEqual({ ok: true, text: "<script>alert(1)</script>" });
    expect(checkChatText("  padded  ")).toEqual({ ok: true, text: "padded" });
    expect(checkChatText("line\nbreak\ttab")).toMatchObject({ ok: true });
    expect(checkChatText("🙂".repeat(500))).toMatchObject({ ok: true });
    expect(checkChatText("🙂".repeat(501)).ok).toBe(false);
    expect(checkChatText("x".repeat(501)).ok).toBe(false);
    expect(checkChatText("").ok).toBe(false);
    expect(checkChatText(" \n ").ok).toBe(false);
    expect(checkChatText("bell\u0007").ok).toBe(false);
    expect(checkChatText("nul\u0000").ok).toBe(false);
    expect(checkChatText("lone \ud800 surrogate").ok).toBe(false);
    expect(checkChatText(42).ok).toBe(false);
    // NFC: "e" + combining acute becomes "é"
    expect(checkChatText("e\u0301")).toEqual({ ok: true, text: "é" });
  });
});

describe("telemetry aggregation", () => {
  it("restoring each connection's latest state (as kept in socket attachments) gives the same summary", () => {
    const live = new TelemetryAggregator();
    live.report("c1", ["country:FR"], { bitrateKbps: 800, stallMs: 1000 });
    live.report("c1", ["country:FR"], { bitrateKbps: 1000 });
    live.report("c2", ["device:desktop"], { bitrateKbps: 2400, latencyMs: 900 });
    const woken = new TelemetryAggregator();
    for (const [id, groups] of [["c1", ["country:FR"]], ["c2", ["device:desktop"]]] as const) {
      const kept = live.latest(id)!;
      woken.restore(id, [...groups], kept.sample, kept.reports);
    }
    expect(woken.summary()).toEqual(live.summary());
    expect(woken.reports).toBe(3);
    expect(live.latest("c1")).toEqual({ sample: { bitrateKbps: 1000, stallMs: 1000 }, reports: 2 });
    expect(live.latest("nope")).toBeUndefined();
  });

  it("latest report per connection, averaged per group", () => {
    const agg = new TelemetryAggregator();
    agg.report("c1", ["country:FR", "device:mobile"], { bitrateKbps: 800, stallMs: 1000 });
    agg.report("c2", ["country:FR", "device:desktop"], { bitrateKbps: 2400, stallMs: 0 });
    agg.report("c3", ["country:US", "device:desktop"], { bitrateKbps: 3000 });
    agg.report("c1", ["country:FR", "device:mobile"], { bitrateKbps: 1000 }); // replaces c1's bitrate
    const s = agg.summary();
    expect(s.all).toMatchObject({ connections: 3, reports: 4, avgBitrateKbps: 2133.3, avgStallMs: 500 });
    expect(s["country:FR"]).toMatchObject({ connections: 2, avgBitrateKbps: 1700, avgStallMs: 500 });
    expect(s["device:desktop"]).toMatchObject({ connections: 2, avgBitrateKbps: 2700, avgStallMs: 0 });
    expect(s["country:US"]).toMatchObject({ avgStallMs: null });
    agg.remove("c3");
    expect(agg.summary()["country:US"]).toBeUndefined();
    expect(agg.reports).toBe(4);
  });
});

describe("client info (groups)", () => {
  it("device type from User-Agent", () => {
    expect(deviceType("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148")).toBe("mobile");
    expect(deviceType("Mozilla/5.0 (Linux; Android 14; Pixel 8) Mobile Safari/537.36")).toBe("mobile");
    expect(deviceType("Mozilla/5.0 (Linux; Android 13; SM-X700) Safari/537.36")).toBe("tablet");
    expect(deviceType("Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X)")).toBe("tablet");
    expect(deviceType("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120")).toBe("desktop");
    expect(deviceType("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0)")).toBe("desktop");
    expect(deviceType("Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0)")).toBe("tv");
    expect(deviceType("curl/8.5.0")).toBe("bot");
    expect(deviceType("")).toBe("other");
    expect(deviceType(undefined)).toBe("other");
  });

  it("country from cf, else the CF-IPCountry header; IP from CF-Connecting-IP", () => {
    const withCf = new Request("http://x/");
    Object.defineProperty(withCf, "cf", { value: { country: "fr" } });
    expect(clientCountry(withCf)).toBe("FR");
    expect(clientCountry(new Request("http://x/", { headers: { "CF-IPCountry": "de" } }))).toBe("DE");
    expect(clientCountry(new Request("http://x/", { headers: { "CF-IPCountry": "XX" } }))).toBeNull();
    expect(clientCountry(new Request("http://x/", { headers: { "CF-IPCountry": "Narnia" } }))).toBeNull();
    expect(clientCountry(new Request("http://x/"))).toBeNull();
    expect(clientIp(new Request("http://x/", { headers: { "CF-Connecting-IP": "203.0.113.9" } }))).toBe("203.0.113.9");
    expect(clientIp(new Request("http://x/", { headers: { "X-Forwarded-For": "198.51.100.2, 10.0.0.1" } }))).toBe("198.51.100.2");
    expect(clientIp(new Request("http://x/"))).toBe("unknown");
  });
});
