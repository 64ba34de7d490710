import HLS from "hls-parser";
import { beforeAll, describe, expect, it } from "vitest";
import { renderMasterPlaylist, renderMediaPlaylist, roundedExtinf, type MediaPlaylistSegment } from "../../origin/packager/playlist.js";

beforeAll(() => HLS.setOptions({ strictMode: true }));

const T0 = Date.UTC(2024, 0, 2, 3, 4, 5, 678);

function seg(i: number, extra: Partial<MediaPlaylistSegment> = {}): MediaPlaylistSegment {
  return {
    uri: `e1-${i}.m4s`,
    duration: 2,
    programDateTime: T0 + i * 2000,
    discontinuity: false,
    mapUri: "init-e1-0.mp4",
    ...extra,
  };
}

describe("renderMediaPlaylist", () => {
  it("renders a live window exactly", () => {
    const text = renderMediaPlaylist({
      version: 7,
      targetDuration: 2,
      mediaSequence: 10,
      discontinuitySequence: 0,
      independentSegments: true,
      ended: false,
      segments: [seg(10), seg(11, { duration: 1.9996 })],
    });
    expect(text).toBe(
      [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        "#EXT-X-TARGETDURATION:2",
        "#EXT-X-MEDIA-SEQUENCE:10",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        '#EXT-X-MAP:URI="init-e1-0.mp4"',
        "#EXT-X-PROGRAM-DATE-TIME:2024-01-02T03:04:25.678Z",
        "#EXTINF:2.000,",
        "e1-10.m4s",
        "#EXT-X-PROGRAM-DATE-TIME:2024-01-02T03:04:27.678Z",
        "#EXTINF:2.000,",
        "e1-11.m4s",
        "",
      ].join("\n"),
    );
  });

  it("marks discontinuities, repeats EXT-X-MAP only when the init changes, and ends", () => {
    const text = renderMediaPlaylist({
      targetDuration: 2,
      mediaSequence: 3,
      discontinuitySequence: 2,
      independentSegments: true,
      ended: true,
      segments: [
        seg(3),
        seg(4, { discontinuity: true, mapUri: "init-e1-1.mp4", programDateTime: T0 + 60_000 }),
        seg(5, { mapUri: "init-e1-1.mp4", programDateTime: T0 + 62_000 }),
        seg(6, { discontinuity: true, mapUri: "init-e1-1.mp4", programDateTime: T0 + 90_000 }),
      ],
    });
    const lines = text.trimEnd().split("\n");
    expect(lines).toContain("#EXT-X-DISCONTINUITY-SEQUENCE:2");
    expect(lines.filter((l) => l.startsWith("#EXT-X-MAP"))).toEqual(['#EXT-X-MAP:URI="init-e1-0.mp4"', '#EXT-X-MAP:URI="init-e1-1.mp4"']);
    expect(lines.at(-1)).toBe("#EXT-X-ENDLIST");
    const d = lines.indexOf("#EXT-X-DISCONTINUITY");
    expect(lines.slice(d, d + 5)).toEqual([
      "#EXT-X-DISCONTINUITY",
      '#EXT-X-MAP:URI="init-e1-1.mp4"',
      "#EXT-X-PROGRAM-DATE-TIME:2024-01-02T03:05:05.678Z",
      "#EXTINF:2.000,",
      "e1-4.m4s",
    ]);

    const parsed = HLS.parse(text) as HLS.types.MediaPlaylist;
    expect(parsed.isMasterPlaylist).toBe(false);
    expect(parsed.version).toBe(7);
    expect(parsed.endlist).toBe(true);
    expect(parsed.mediaSequenceBase).toBe(3);
    expect(parsed.discontinuitySequenceBase).toBe(2);
    expect(parsed.segments.map((s) => [s.mediaSequenceNumber, s.discontinuitySequence, s.map?.uri])).toEqual([
      [3, 2, "init-e1-0.mp4"],
      [4, 3, "init-e1-1.mp4"],
      [5, 3, "init-e1-1.mp4"],
      [6, 4, "init-e1-1.mp4"],
    ]);
    expect(parsed.segments[2]!.programDateTime?.getTime()).toBe(T0 + 62_000);
  });

  it("omits DISCONTINUITY-SEQUENCE at 0 and INDEPENDENT-SEGMENTS when not claimed", () => {
    const text = renderMediaPlaylist({
      targetDuration: 2,
      mediaSequence: 0,
      discontinuitySequence: 0,
      independentSegments: false,
      ended: false,
      segments: [seg(0)],
    });
    expect(text).not.toContain("DISCONTINUITY");
    expect(text).not.toContain("INDEPENDENT");
    expect(text).not.toContain("ENDLIST");
  });

  it("never lets EXT-X-TARGETDURATION fall below a rounded EXTINF", () => {
    const target = (...durations: number[]) => {
      const text = renderMediaPlaylist({
        targetDuration: 2,
        mediaSequence: 0,
        discontinuitySequence: 0,
        independentSegments: true,
        ended: false,
        segments: durations.map((d, i) => seg(i, { duration: d })),
      });
      return Number(/#EXT-X-TARGETDURATION:(\d+)/.exec(text)![1]);
    };
    expect(target(2.021, 2, 1.4)).toBe(2);
    expect(target(2, 2.5)).toBe(3);
    // Written as 2.500, which a client rounds to 3, although 2.4996 itself rounds to 2.
    expect(roundedExtinf(2.4996)).toBe(3);
    expect(target(2.4996)).toBe(3);
    expect(target(4.2)).toBe(4);
  });
});

describe("renderMasterPlaylist", () => {
  it("renders variants with codecs, resolution and frame rate", () => {
    const text = renderMasterPlaylist([
      {
        uri: "720p/index.m3u8",
        bandwidth: 3_341_250,
        averageBandwidth: 2_928_000,
        codecs: ["avc1.64001f", "mp4a.40.2"],
        width: 1280,
        height: 720,
        frameRate: 30,
      },
      { uri: "audio/index.m3u8", bandwidth: 134_400, averageBandwidth: 128_000, codecs: ["mp4a.40.2"] },
    ]);
    expect(text).toBe(
      [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        '#EXT-X-STREAM-INF:BANDWIDTH=3341250,AVERAGE-BANDWIDTH=2928000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=30.000',
        "720p/index.m3u8",
        '#EXT-X-STREAM-INF:BANDWIDTH=134400,AVERAGE-BANDWIDTH=128000,CODECS="mp4a.40.2"',
        "audio/index.m3u8",
        "",
      ].join("\n"),
    );
    const parsed = HLS.parse(text) as HLS.types.MasterPlaylist;
    expect(parsed.isMasterPlaylist).toBe(true);
    expect(parsed.variants[0]).toMatchObject({
      bandwidth: 3_341_250,
      averageBandwidth: 2_928_000,
      codecs: "avc1.64001f,mp4a.40.2",
      resolution: { width: 1280, height: 720 },
      frameRate: 30,
    });
  });

  it("refuses values that would break quoted-string syntax", () => {
    expect(() => renderMasterPlaylist([{ uri: "a", bandwidth: 1, averageBandwidth: 1, codecs: ['avc1"'] }])).toThrow();
  });
});
