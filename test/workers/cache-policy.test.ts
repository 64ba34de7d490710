import { describe, expect, it } from "vitest";
import {
  mediaPlaylistMaxAge,
  parseTargetDuration,
  playlistPosition,
  policyForError,
  policyForOk,
  satisfiesBlockingRequest,
  staleIfErrorApplies,
} from "../../workers/mother/cache-policy.js";
import type { HlsObjectType } from "../../common/hls-paths.js";
import { formatHlsQuery, parseHlsQuery } from "../../common/hls-query.js";
import { isNewerOrSame, parsePartTarget, planBlocking } from "../../workers/mother/blocking-plan.js";
import { isEdgeCacheable } from "../../workers/tiers/freshness.js";

const playlist = (td: number, extra = "") =>
  [
    "#EXTM3U",
    `#EXT-X-TARGETDURATION:${td}`,
    "#EXT-X-MEDIA-SEQUENCE:10",
    "#EXTINF:2.0,",
    "e1-10.m4s",
    "#EXTINF:2.0,",
    "e1-11.m4s",
    extra,
  ].join("\n");

const llPlaylist = [
  "#EXTM3U",
  "#EXT-X-TARGETDURATION:2",
  "#EXT-X-PART-INF:PART-TARGET=0.5",
  "#EXT-X-MEDIA-SEQUENCE:10",
  '#EXT-X-PART:DURATION=0.5,URI="e1-p40.m4s"',
  '#EXT-X-PART:DURATION=0.5,URI="e1-p41.m4s"',
  "#EXTINF:2.0,",
  "e1-10.m4s",
  '#EXT-X-PART:DURATION=0.5,URI="e1-p42.m4s"',
  '#EXT-X-PART:DURATION=0.5,URI="e1-p43.m4s"',
  '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="e1-p44.m4s"',
].join("\n");

describe("cache policy (pure)", () => {
  it("master playlist: long, life of the stream", () => {
    expect(policyForOk("master", {})).toEqual({ cacheControl: "public, max-age=86400", freshMs: 86_400_000 });
  });

  it("media playlist: max(1, floor(targetDuration/2)), default target 2", () => {
    expect(policyForOk("media", {}, playlist(2)).cacheControl).toBe("public, max-age=1");
    expect(policyForOk("media", {}, playlist(6)).cacheControl).toBe("public, max-age=3");
    expect(policyForOk("media", {}, playlist(1)).cacheControl).toBe("public, max-age=1");
    expect(policyForOk("media", {}, "#EXTM3U\n").cacheControl).toBe("public, max-age=1");
    expect(policyForOk("media", {}, playlist(6)).freshMs).toBe(3000);
    expect(mediaPlaylistMaxAge(null)).toBe(1);
    expect(mediaPlaylistMaxAge(10)).toBe(5);
    expect(mediaPlaylistMaxAge(0.5)).toBe(1);
  });

  it("LL-HLS media playlist (parts): max-age=1 downstream, one part target in the mother", () => {
    expect(policyForOk("media", {}, llPlaylist).freshMs).toBe(500);
    expect(policyForOk("media", {}, llPlaylist.replace("TARGETDURATION:2", "TARGETDURATION:6")).cacheControl).toBe("public, max-age=1");
  });

  it("blocking request answered: long; not yet answered: short", () => {
    expect(policyForOk("media", { msn: 11 }, playlist(2)).cacheControl).toBe("public, max-age=86400");
    expect(policyForOk("media", { msn: 10, part: 3 }, playlist(2)).cacheControl).toBe("public, max-age=86400");
    expect(policyForOk("media", { msn: 12 }, playlist(2)).cacheControl).toBe("public, max-age=1");
    expect(policyForOk("media", { msn: 11, part: 1 }, llPlaylist).cacheControl).toBe("public, max-age=86400");
    expect(policyForOk("media", { msn: 11, part: 2 }, llPlaylist).cacheControl).toBe("public, max-age=1");
    expect(policyForOk("media", { msn: 11 }, llPlaylist).cacheControl).toBe("public, max-age=1");
  });

  it("init, segment, part: immutable for a year", () => {
    for (const type of ["init", "segment", "part"] as const) {
      expect(policyForOk(type, {})).toEqual({
        cacheControl: "public, max-age=31536000, immutable",
        freshMs: 31_536_000_000,
      });
    }
  });

  it("errors: no-store; 404 negative-cached 1 s inside the mother", () => {
    expect(policyForError(404)).toEqual({ cacheControl: "no-store", freshMs: 1000 });
    expect(policyForError(403)).toEqual({ cacheControl: "no-store", freshMs: 0 });
    expect(policyForError(502)).toEqual({ cacheControl: "no-store", freshMs: 0 });
  });

  it("stale-if-error only for plain media playlist requests", () => {
    expect(staleIfErrorApplies("media", {})).toBe(true);
    expect(staleIfErrorApplies("media", { msn: 3 })).toBe(false);
    expect(staleIfErrorApplies("master", {})).toBe(false);
    expect(staleIfErrorApplies("segment", {})).toBe(false);
  });

  it("parses target duration and the live edge", () => {
    expect(parseTargetDuration(playlist(4))).toBe(4);
    expect(parseTargetDuration("#EXTM3U")).toBeNull();
    expect(playlistPosition(playlist(2))).toEqual({ lastMsn: 11, pendingParts: 0 });
    expect(playlistPosition(llPlaylist)).toEqual({ lastMsn: 10, pendingParts: 2 });
    expect(playlistPosition("#EXTM3U\n#EXT-X-TARGETDURATION:2\n")).toEqual({ lastMsn: -1, pendingParts: 0 });
    expect(satisfiesBlockingRequest(playlist(2), {})).toBe(false);
  });

  it("edge cacheability of a Cache-Control", () => {
    expect(isEdgeCacheable("public, max-age=1")).toBe(true);
    expect(isEdgeCacheable("public, max-age=31536000, immutable")).toBe(true);
    expect(isEdgeCacheable("no-store")).toBe(false);
    expect(isEdgeCacheable("no-cache")).toBe(false);
    expect(isEdgeCacheable("private, max-age=60")).toBe(false);
    expect(isEdgeCacheable("public, max-age=0")).toBe(false);
    expect(isEdgeCacheable(null)).toBe(false);
  });
});

describe("LL-HLS query canonicalization", () => {
  const canonical = (search: string, type: HlsObjectType = "media") => {
    const parsed = parseHlsQuery(search, type);
    return parsed.ok ? formatHlsQuery(parsed.query) : null;
  };

  it("keeps only _HLS_msn / _HLS_part, in a fixed order, on media playlists", () => {
    expect(canonical("?b=1&_HLS_part=2&a=0&_HLS_msn=7")).toBe("?_HLS_msn=7&_HLS_part=2");
    expect(canonical("?utm=x")).toBe("");
    expect(canonical("")).toBe("");
    // delta updates are not advertised (no CAN-SKIP-UNTIL), so _HLS_skip is dropped, not a cache key
    expect(canonical("?_HLS_msn=7&_HLS_skip=YES")).toBe("?_HLS_msn=7");
  });

  it("drops every query parameter on objects other than media playlists (no cache busting)", () => {
    for (const type of ["master", "init", "segment", "part"] as const) {
      expect(canonical("?_HLS_msn=7&_HLS_part=1", type)).toBe("");
      expect(canonical("?_HLS_msn=abc&x=1", type)).toBe("");
    }
  });

  it("rejects malformed or out-of-range directives (one value, one cache key)", () => {
    expect(canonical("?_HLS_msn=abc")).toBeNull();
    expect(canonical("?_HLS_msn=-1")).toBeNull();
    expect(canonical("?_HLS_msn=007")).toBeNull();
    expect(canonical("?_HLS_part=1")).toBeNull();
    expect(canonical("?_HLS_msn=1234567890123")).toBeNull();
    expect(canonical("?_HLS_msn=5&_HLS_part=100")).toBeNull();
    expect(canonical("?_HLS_msn=5&_HLS_part=99")).toBe("?_HLS_msn=5&_HLS_part=99");
  });
});

describe("the mother's blocking plan (pure)", () => {
  const known = { text: llPlaylist, fetchedAt: 1_000_000 };

  it("answers from the newest playlist when it already satisfies the request", () => {
    expect(planBlocking(known, { msn: 10 }, 1_000_000)).toEqual({ kind: "answer-known" });
    expect(planBlocking(known, { msn: 3 }, 1_000_000)).toEqual({ kind: "answer-known" });
    expect(planBlocking(known, { msn: 11, part: 1 }, 1_000_000)).toEqual({ kind: "answer-known" });
  });

  it("forwards what is next (held once at the origin), and anything when it knows nothing", () => {
    expect(planBlocking(known, { msn: 11, part: 2 }, 1_000_000)).toEqual({ kind: "forward" });
    expect(planBlocking(known, { msn: 12 }, 1_000_000)).toEqual({ kind: "forward" });
    expect(planBlocking(undefined, { msn: 500 }, 1_000_000)).toEqual({ kind: "forward" });
    expect(planBlocking(known, {}, 1_000_000)).toEqual({ kind: "forward" });
  });

  it("refuses msn more than 2 past the live edge, allowing one more per target duration since it looked", () => {
    expect(planBlocking(known, { msn: 13 }, 1_000_000)).toMatchObject({ kind: "reject", code: "msn_too_far" });
    expect(planBlocking(known, { msn: 13 }, 1_001_500)).toEqual({ kind: "forward" });
    expect(planBlocking(known, { msn: 300 }, 1_001_500)).toMatchObject({ kind: "reject" });
  });

  it("reads PART-TARGET and orders playlists by live edge", () => {
    expect(parsePartTarget(llPlaylist)).toBe(0.5);
    expect(parsePartTarget(playlist(2))).toBeNull();
    // playlist(2) has segment 11 complete; llPlaylist only parts of 11
    expect(isNewerOrSame(playlist(2), llPlaylist)).toBe(true);
    expect(isNewerOrSame(llPlaylist, playlist(2))).toBe(false);
    expect(isNewerOrSame(llPlaylist, llPlaylist)).toBe(true);
  });
});
