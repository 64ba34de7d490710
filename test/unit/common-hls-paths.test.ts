/** HLS object paths shared by origin and Worker (common/hls-paths.ts). */
import { describe, expect, it } from "vitest";
import { classifyObjectPath, initName, isValidStreamId, partName, segmentName } from "../../common/hls-paths.js";

describe("HLS object paths", () => {
  it("classifies every object the packager names", () => {
    expect(classifyObjectPath("master.m3u8")).toBe("master");
    expect(classifyObjectPath("720p/index.m3u8")).toBe("media");
    expect(classifyObjectPath(`720p/${initName("lq3k", 0)}`)).toBe("init");
    expect(classifyObjectPath(`720p/${segmentName("lq3k", 12)}`)).toBe("segment");
    expect(classifyObjectPath(`720p/${partName("lq3k", 123)}`)).toBe("part");
  });

  it("rejects traversal, odd characters and overlong paths", () => {
    for (const bad of [
      "../master.m3u8",
      "720p/../master.m3u8",
      "720p//index.m3u8",
      "720P/index.m3u8",
      "720p/index.m3u8?x",
      "720p%2Findex.m3u8",
      "a/b/index.m3u8",
      "",
      `${"a".repeat(200)}.m3u8`,
      "720p/evil.mp4",
    ]) {
      expect(classifyObjectPath(bad), bad).toBeNull();
    }
    expect(isValidStreamId("abcd1234efgh")).toBe(true);
    expect(isValidStreamId("ABC")).toBe(false);
    expect(isValidStreamId("abcd1234/../x")).toBe(false);
  });
});
