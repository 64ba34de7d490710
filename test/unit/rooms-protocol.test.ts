/** Socket frame decoding and validation (workers/rooms/protocol.ts). */
import { describe, expect, it } from "vitest";
import {
  checkChatText,
  decodeEnvelope,
  exceedsUtf8Bytes,
  MAX_FRAME_BYTES,
  parseClientFrame,
  STREAM_CLIENT_TYPES,
  StreamClientFrameSchema,
} from "../../workers/rooms/protocol.js";

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
