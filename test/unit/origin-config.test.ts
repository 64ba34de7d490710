import { describe, expect, it } from "vitest";
import { loadOriginConfig, parseLadder } from "../../origin/config.js";
import { buildLadderArgs, FIRST_OUTPUT_FD, ladderOutputs, nominalPartDuration } from "../../origin/transcode/ladder-args.js";

describe("ladder", () => {
  it("parses the default ladder of the issue: 720p/360p/240p", () => {
    const ladder = parseLadder("default", 30);
    expect(ladder.map((r) => [r.name, r.width, r.height, r.videoBitrate])).toEqual([
      ["720p", 1280, 720, 2_500_000],
      ["360p", 640, 360, 1_000_000],
      ["240p", 426, 240, 400_000],
    ]);
    expect(ladder.every((r) => r.frameRate === 30 && r.audioBitrate > 0)).toBe(true);
  });

  it("rejects malformed or duplicate rungs", () => {
    expect(() => parseLadder("720p:1280x720", 30)).toThrow(/bad ladder rung/);
    expect(() => parseLadder("../x:1280x720:1m", 30)).toThrow(/bad ladder rung/);
    expect(() => parseLadder("a:10x10:1k,a:20x20:2k", 30)).toThrow(/unique/);
    expect(() => parseLadder("a:100x100:lots", 30)).toThrow(/bitrate/);
  });

  it("builds one single-track fMP4 output per rendition plus one for the audio, 1 s keyframes, no scene-cut keyframes", () => {
    const ladder = parseLadder("tiny", 30);
    const args = buildLadderArgs({ ladder, frameRate: 30, preset: "ultrafast", partDuration: 0.5 });
    const joined = args.join(" ");
    expect(ladderOutputs(ladder)).toEqual(["180p", "90p", "audio"]);
    // the top rendition's video and the audio leave one encode through a tee of two one-track muxers
    expect(args.filter((a) => a.startsWith("pipe:"))).toEqual(["pipe:0", `pipe:${FIRST_OUTPUT_FD + 1}`]);
    const tee = args[args.indexOf("tee") + 1]!;
    expect(tee).toBe(
      `[f=mp4:select=v:movflags=+frag_keyframe+empty_moov+default_base_moof:frag_duration=500000]pipe:${FIRST_OUTPUT_FD}` +
        `|[f=mp4:select=a:movflags=+frag_keyframe+empty_moov+default_base_moof:frag_duration=1]pipe:${FIRST_OUTPUT_FD + 2}`,
    );
    expect(joined).toContain("-flags +global_header -f tee");
    // the other renditions carry no audio; the audio is encoded once
    expect(joined.match(/-c:a aac/g)).toHaveLength(1);
    expect(joined).toContain(`-an -c:v libx264`);
    expect(joined).toContain("-force_key_frames expr:gte(t,n_forced*1)");
    expect(joined).toContain("-sc_threshold 0");
    expect(joined).toContain("-g 30 -keyint_min 30");
    expect(joined).toContain("+frag_keyframe+empty_moov+default_base_moof");
    expect(joined).toContain("-frag_duration 500000");
    expect(joined).toContain("split=2");
    expect(joined).toContain("scale=-2:180");
    expect(joined).toContain("scale=-2:90");
  });
});

describe("origin config", () => {
  it("uses the public contract's ports and refuses to run without a shared secret", () => {
    expect(() => loadOriginConfig({})).toThrow(/ORIGIN_SHARED_SECRET/);
    const config = loadOriginConfig({ ORIGIN_SHARED_SECRET: "x".repeat(32) });
    expect(config.httpPort).toBe(8080);
    expect(config.rtmpPort).toBe(1935);
    expect(config.workerUrl).toBe("http://127.0.0.1:8787");
    expect(config.publicRtmpUrl).toBe("rtmp://127.0.0.1:1935/live");
    expect(config.targetDuration).toBe(2);
  });

  it("honours RTMP_PORT, ORIGIN_HTTP_PORT and EDGE_PORT", () => {
    const config = loadOriginConfig({
      ORIGIN_SHARED_SECRET: "x".repeat(32),
      RTMP_PORT: "2935",
      ORIGIN_HTTP_PORT: "9080",
      EDGE_PORT: "9787",
    });
    expect(config.rtmpPort).toBe(2935);
    expect(config.publicBaseUrl).toBe("http://127.0.0.1:9080");
    expect(config.workerUrl).toBe("http://127.0.0.1:9787");
  });
});

describe("LL-HLS part duration", () => {
  it("defaults to 333 ms, whole frames: 3 parts per 1 s keyframe interval at 30 fps", () => {
    const config = loadOriginConfig({ ORIGIN_SHARED_SECRET: "x".repeat(32) });
    expect(config.partDuration).toBe(0.333);
    expect(nominalPartDuration(config.partDuration, 30)).toBeCloseTo(1 / 3, 9);
    expect(nominalPartDuration(0.2, 30)).toBeCloseTo(0.2, 9);
    expect(nominalPartDuration(0.5, 25)).toBeCloseTo(0.52, 9); // 13 frames: FFmpeg closes on the frame that reaches it
    expect(loadOriginConfig({ ORIGIN_SHARED_SECRET: "x".repeat(32), PART_DURATION_MS: "200" }).partDuration).toBe(0.2);
    expect(() => loadOriginConfig({ ORIGIN_SHARED_SECRET: "x".repeat(32), PART_DURATION_MS: "50" })).toThrow(/PART_DURATION_MS/);
  });
});

describe("stable track layout", () => {
  it("a source without audio gets a silent AAC track, ended with the video", () => {
    const ladder = parseLadder("tiny", 30);
    const normal = buildLadderArgs({ ladder, frameRate: 30, preset: "ultrafast", partDuration: 0.333 }).join(" ");
    const silent = buildLadderArgs({ ladder, frameRate: 30, preset: "ultrafast", partDuration: 0.333, silentAudio: true }).join(" ");
    expect(normal).toContain("-map 0:a:0?");
    expect(normal).not.toContain("anullsrc");
    expect(silent).toContain("-f lavfi -i anullsrc=channel_layout=stereo:sample_rate=48000");
    expect(silent.match(/-map 1:a:0 -shortest/g)).toHaveLength(1);
    expect(normal.match(/-map 0:a:0\? -af apad -shortest/g)).toHaveLength(1); // runs end with as much audio as video
    expect(silent).not.toContain("0:a:0");
  });
});
