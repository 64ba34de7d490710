/**
 * What the API accepts. Titles and tags are text for
 * people: no control characters (ANSI escapes start with ESC), no bidi
 * overrides, no HTML markup. JSON routes take JSON only (415 otherwise). A
 * body over the limit is answered 413 after the rest of it has been read and
 * dropped, so the client gets to read the answer instead of a reset.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { signRequest } from "../../common/signing.js";
import { createUser, edge, errorCode, randomId } from "./helpers.js";

async function heartbeat(originId: string) {
  const path = "/api/internal/origins/heartbeat";
  const body = JSON.stringify({
    originId,
    baseUrl: `http://${originId}.origin.test:8080`,
    rtmpUrl: `rtmp://${originId}.origin.test:1935/live`,
    capacity: 1000,
    activeStreams: 0,
  });
  const headers = await signRequest(env.ORIGIN_SHARED_SECRET, "POST", path, body);
  const res = await edge(path, { method: "POST", headers: { ...headers, "Content-Type": "application/json" }, body });
  if (res.status !== 200) throw new Error(`heartbeat: ${res.status}`);
}

async function broadcaster() {
  await heartbeat(`o-${randomId(6)}`);
  return (await createUser("broadcaster")).apiKey;
}

function create(apiKey: string, body: string | ReadableStream<Uint8Array>, contentType: string | null = "application/json") {
  return edge("/api/streams", {
    method: "POST",
    headers: { Authorization: `Bearer ${apiKey}`, ...(contentType === null ? {} : { "Content-Type": contentType }) },
    body,
  });
}

const HOSTILE_TITLES = [
  "\u001b[31mRED\u001b[0m alert", // ANSI colour
  "\u001b]8;;http://evil.test\u0007click\u001b]8;;\u0007", // terminal hyperlink
  "line\nbreak",
  "tab\there",
  "bell\u0007",
  "C1 \u009b31m",
  "\u202Egnp.exe", // right-to-left override
  "<script>alert(1)</script>",
  "<img src=x onerror=alert(1)>",
  "Final </title><script>x()</script>",
  "<!-- hidden -->",
];

describe("titles and tags are plain text", () => {
  it("control, ANSI, bidi-override characters and HTML markup are refused (400 invalid_body)", async () => {
    const apiKey = await broadcaster();
    let stored = 0;
    for (const title of HOSTILE_TITLES) {
      const res = await create(apiKey, JSON.stringify({ title }));
      if (res.status === 201) stored++;
      else {
        expect(res.status, title).toBe(400);
        expect(await errorCode(res), title).toBe("invalid_body");
      }
    }
    console.log(`${HOSTILE_TITLES.length} hostile titles: ${stored} stored`);
    expect(stored).toBe(0);
    for (const tags of [["\u001b[1mbold"], ["<b>x</b>"], ["new\nline"]]) {
      const res = await create(apiKey, JSON.stringify({ title: "ok", tags }));
      expect(res.status, JSON.stringify(tags)).toBe(400);
    }
  });

  it("ordinary titles with <, & and any script are kept, trimmed and NFC-normalized", async () => {
    const apiKey = await broadcaster();
    for (const [title, expected] of [
      ["Lakers <3 Celtics", "Lakers <3 Celtics"],
      ["Q&A: AT&T 3 > 2", "Q&A: AT&T 3 > 2"],
      ["  Cafe\u0301 Ünïcode 東京 🏀  ", "Café Ünïcode 東京 🏀"],
    ]) {
      const res = await create(apiKey, JSON.stringify({ title, tags: ["ok tag"] }));
      expect(res.status, title).toBe(201);
      const { streamId } = (await res.json()) as { streamId: string };
      const info = (await (await edge(`/api/streams/${streamId}`)).json()) as { title: string };
      expect(info.title).toBe(expected);
    }
  });
});

describe("JSON routes take JSON", () => {
  it("415 unsupported_media_type for a body that is not declared JSON", async () => {
    const apiKey = await broadcaster();
    const body = JSON.stringify({ title: "typed" });
    const statuses: Record<string, number> = {};
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", null]) {
      const res = await create(apiKey, body, type);
      statuses[String(type)] = res.status;
    }
    console.log(`JSON body with other Content-Types: ${JSON.stringify(statuses)}`);
    for (const [type, status] of Object.entries(statuses)) expect(status, type).toBe(415);
    const refused = await create(apiKey, body, "text/plain");
    expect(await errorCode(refused)).toBe("unsupported_media_type");
    for (const type of ["application/json", "application/json; charset=utf-8", "Application/JSON", "application/vnd.api+json"]) {
      expect((await create(apiKey, body, type)).status, type).toBe(201);
    }
  });

  it("signed JSON calls too; a bodiless POST needs no Content-Type", async () => {
    const path = "/api/internal/cron/watchdog";
    const body = JSON.stringify({ streamIds: [], origins: false });
    const headers = await signRequest(env.ORIGIN_SHARED_SECRET, "POST", path, body);
    const res = await edge(path, { method: "POST", headers: { ...headers, "Content-Type": "text/plain" }, body });
    expect(res.status).toBe(415);
    const empty = await signRequest(env.ORIGIN_SHARED_SECRET, "POST", path, "");
    expect((await edge(path, { method: "POST", headers: empty })).status).toBe(200);
  });
});

describe("bodies over the limit", () => {
  it("a 50 MB chunked body is read to its end and answered 413 (a client still sending is not reset)", async () => {
    const apiKey = await broadcaster();
    const chunk = new Uint8Array(64 * 1024).fill(0x20);
    const total = 50 * 1024 * 1024;
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled >= total) return controller.close();
        pulled += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const res = await create(apiKey, body);
    console.log(`50 MB chunked body: ${res.status}, ${Math.round(pulled / 1024)} KiB of it read before the answer`);
    expect(res.status).toBe(413);
    expect(await errorCode(res)).toBe("payload_too_large");
    expect(pulled).toBe(total);
  });
});
