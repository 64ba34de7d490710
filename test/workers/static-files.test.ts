/**
 * The Worker serves ./public itself (workers/static-files.ts): content type,
 * ETag and revalidation, HEAD, refusal of other methods, and the routes that
 * share a prefix with a file (/watch/<id>, /replay/<id>) still reach the pages.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { errorCode, randomId } from "./helpers.js";

const get = (path: string, init?: RequestInit) => SELF.fetch(`http://edge.test${path}`, init);

describe("static files of ./public", () => {
  it("serves the built bundles and the pages' CSS with a content type and a strong ETag", async () => {
    const js = await get("/player/watch.js");
    expect(js.status).toBe(200);
    expect(js.headers.get("Content-Type")).toBe("text/javascript; charset=utf-8");
    expect(js.headers.get("ETag")).toMatch(/^"[\w-]{22}"$/);
    expect(js.headers.get("Cache-Control")).toBe("public, max-age=0, must-revalidate");
    expect(js.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect((await js.text()).length).toBeGreaterThan(10_000);

    const hls = await get("/vendor/hls.min.js");
    expect(hls.status).toBe(200);
    expect(await hls.text()).toContain("Hls");

    const css = await get("/watch/watch.css");
    expect(css.headers.get("Content-Type")).toBe("text/css; charset=utf-8");
    expect((await css.text()).length).toBeGreaterThan(0);
  });

  it("answers 304 to a matching If-None-Match, 200 to another, and HEAD without a body", async () => {
    const first = await get("/replay/replay.js");
    const etag = first.headers.get("ETag")!;
    await first.arrayBuffer();
    const again = await get("/replay/replay.js", { headers: { "If-None-Match": `"other", W/${etag}` } });
    expect(again.status).toBe(304);
    expect(again.headers.get("ETag")).toBe(etag);
    expect(await again.text()).toBe("");
    const changed = await get("/replay/replay.js", { headers: { "If-None-Match": '"other"' } });
    expect(changed.status).toBe(200);
    await changed.arrayBuffer();
    const head = await get("/replay/replay.js", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("Content-Type")).toBe("text/javascript; charset=utf-8");
    expect(await head.text()).toBe("");
  });

  it("refuses other methods with a JSON error and leaves every other path to the routes", async () => {
    const post = await get("/player/watch.js", { method: "POST", body: "x" });
    expect(post.status).toBe(405);
    expect(post.headers.get("Allow")).toBe("GET, HEAD");
    expect(await errorCode(post)).toBe("method_not_allowed");

    const missing = await get("/player/nope.js");
    expect(missing.status).toBe(404);
    expect(await errorCode(missing)).toBe("not_found");

    // same prefix as a file, but a page route: an unknown stream's page, not a file
    const page = await get(`/watch/${randomId()}`);
    expect(page.status).toBe(404);
    const replay = await get(`/replay/${randomId()}`);
    expect(replay.status).toBe(404);
    expect(replay.headers.get("Content-Type")).not.toContain("javascript");
  });
});
