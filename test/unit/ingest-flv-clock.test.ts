/**
 * The PDT anchor: FLV timestamps → wall clock at ingest (origin/ingest/flv-clock.ts)
 * and its use by the packager's PdtClock.
 */
import { spawnSync } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import { resolveFfmpeg } from "../../origin/ffmpeg.js";
import { FlvIngestClock } from "../../origin/ingest/flv-clock.js";
import { PdtClock } from "../../origin/packager/pdt-clock.js";

interface Tag {
  type: number;
  ts: number;
  /** header + data + PreviousTagSize */
  bytes: Buffer;
}

/** A real FLV from FFmpeg (H.264 + AAC, or video only), starting at timestamp `offsetS`. */
function flv(offsetS: number, audio = true): { header: Buffer; tags: Tag[] } {
  const out = spawnSync(
    resolveFfmpeg(),
    [
      "-hide_banner",
      "-loglevel",
      "error",
      "-f",
      "lavfi",
      "-i",
      "testsrc=size=160x120:rate=30",
      ...(audio ? ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"] : []),
      "-t",
      "3",
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      "-tune",
      "zerolatency",
      "-pix_fmt",
      "yuv420p",
      "-g",
      "30",
      ...(audio ? ["-c:a", "aac"] : ["-an"]),
      "-output_ts_offset",
      String(offsetS),
      "-f",
      "flv",
      "pipe:1",
    ],
    { maxBuffer: 64 << 20 },
  );
  if (out.status !== 0) throw new Error(String(out.stderr));
  const data = out.stdout as Buffer;
  const headerSize = data.readUInt32BE(5);
  const header = data.subarray(0, headerSize + 4);
  const tags: Tag[] = [];
  for (let pos = headerSize + 4; pos + 11 <= data.length;) {
    const size = data.readUIntBE(pos + 1, 3);
    const ts = (data.readUIntBE(pos + 4, 3) | (data[pos + 7]! << 24)) >>> 0;
    tags.push({ type: data[pos]! & 0x1f, ts, bytes: data.subarray(pos, pos + 11 + size + 4) });
    pos += 11 + size + 4;
  }
  return { header, tags };
}

let stream: { header: Buffer; tags: Tag[] };

beforeAll(() => {
  stream = flv(5);
});

describe("FlvIngestClock", () => {
  it("maps the first video timestamp to the earliest arrival − timestamp, whatever the chunking and delays", () => {
    const clock = new FlvIngestClock();
    expect(clock.startWallClock()).toBeUndefined();
    const base = 1_700_000_000_000;
    // frames arrive 20 ms after their timestamp, some (a burst, queueing) much later; bytes are split at random
    const chunks: Array<{ bytes: Buffer; at: number }> = [{ bytes: stream.header, at: base }];
    stream.tags.forEach((tag, i) => {
      const delay = i % 7 === 3 ? 400 : i < 5 ? 250 : 20;
      chunks.push({ bytes: tag.bytes, at: base + tag.ts + delay });
    });
    const all = Buffer.concat(chunks.map((c) => c.bytes));
    let offset = 0;
    let seed = 7;
    for (const chunk of chunks) {
      // re-split the same bytes into uneven pieces, each arriving at the time of the tag it ends in
      const end = offset + chunk.bytes.length;
      while (offset < end) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        const n = Math.min(end - offset, 1 + (seed % 3000));
        clock.observe(all.subarray(offset, offset + n), chunk.at);
        offset += n;
      }
    }
    const firstVideo = stream.tags.find((t) => t.type === 9 && t.bytes[12] === 1)!; // AVC NALU, not the config record
    expect(firstVideo.ts).toBeGreaterThanOrEqual(5000);
    expect(clock.startWallClock()).toBe(base + 20 + firstVideo.ts);
    expect(clock.frameCount).toBe(stream.tags.filter((t) => (t.type === 9 || t.type === 8) && t.bytes[12] === 1).length);
  });

  it("ignores script data and decoder configuration records", () => {
    const clock = new FlvIngestClock();
    const config = stream.tags.filter((t) => t.type === 18 || ((t.type === 9 || t.type === 8) && t.bytes[12] === 0));
    expect(config.length).toBeGreaterThanOrEqual(2);
    clock.observe(stream.header, 0);
    for (const tag of config) clock.observe(tag.bytes, 1000);
    expect(clock.frameCount).toBe(0);
    expect(clock.startWallClock()).toBeUndefined();
  });
});

describe("FlvIngestClock: does the source have audio?", () => {
  it("yes at the first audio tag; no after a second of video without one; undecided before", () => {
    const withAudio = new FlvIngestClock();
    withAudio.observe(stream.header, 0);
    for (const tag of stream.tags.slice(0, 4)) withAudio.observe(tag.bytes, 0);
    expect(withAudio.audioPresent()).toBe(true);

    const videoOnly = flv(0, false);
    expect(videoOnly.tags.some((t) => t.type === 8)).toBe(false);
    const clock = new FlvIngestClock();
    clock.observe(videoOnly.header, 0);
    const decisions: Array<boolean | undefined> = [];
    for (const tag of videoOnly.tags) {
      clock.observe(tag.bytes, 0);
      decisions.push(clock.audioPresent());
    }
    const firstNo = decisions.indexOf(false);
    expect(decisions.slice(0, firstNo).every((d) => d === undefined)).toBe(true);
    expect(videoOnly.tags[firstNo]!.ts - videoOnly.tags.find((t) => t.type === 9 && t.bytes[12] === 1)!.ts).toBeGreaterThanOrEqual(1000);
    expect(clock.hasSeenAudio).toBe(false);
  });
});

describe("PdtClock", () => {
  it("anchors on ingest when known, never after the media was complete, never before the floor", () => {
    const ingest = new PdtClock({ ingestStart: () => 10_000 });
    ingest.observe(12_500, 0.4, 0.333); // the first part arrived 2.5 s after ingest (FFmpeg start-up): not in PDT
    expect(ingest.at(0.4)).toBe(10_400);
    expect(ingest.at(2.4)).toBe(12_400);

    const ahead = new PdtClock({ ingestStart: () => 20_000 });
    ahead.observe(12_500, 0, 0.5); // publisher timestamps ahead of real time: bounded by arrival
    expect(ahead.at(0)).toBe(12_000);

    const floored = new PdtClock({ floorMs: 11_000, ingestStart: () => 10_000 });
    floored.observe(12_500, 0, 0.5);
    expect(floored.at(0)).toBe(11_000);

    const fallback = new PdtClock();
    fallback.observe(12_500, 3, 0.5);
    expect(fallback.at(3)).toBe(12_000);
  });
});
