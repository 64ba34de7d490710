/**
 * LL-HLS at the origin: the playlist renderer's tags, the blocking-request
 * decisions (pure), and the packager answering blocking requests on real
 * FFmpeg output cut into 1/3 s parts, fed one part at a time as FFmpeg
 * writes them.
 */
import { spawn } from "node:child_process";
import HLS from "hls-parser";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { resolveFfmpeg } from "../../origin/ffmpeg.js";
import { advancePartLimit, decidePart, decidePlaylist, holdLimitMs, satisfies } from "../../origin/packager/blocking.js";
import { BoxSplitter, parseInit, parseMoof } from "../../origin/packager/boxes.js";
import { renderMediaPlaylist } from "../../origin/packager/playlist.js";
import type { LivePosition } from "../../origin/packager/rendition.js";
import { StreamPackager, type RenditionSpec } from "../../origin/packager/stream-packager.js";

const FPS = 30;
const PART_S = 10 / FPS; // FFmpeg closes a 333 ms fragment on the 10th frame

/** The origin's encode flags, 1 s keyframes, 333 ms parts, on a synthetic A/V source. */
function encode(seconds: number): Promise<Buffer> {
  const args = [
    "-hide_banner", "-loglevel", "error",
    "-f", "lavfi", "-i", `testsrc=size=160x120:rate=${FPS}`,
    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
    "-t", String(seconds),
    "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p", "-b:v", "150k",
    "-force_key_frames", "expr:gte(t,n_forced*1)", "-sc_threshold", "0", "-r", String(FPS),
    "-c:a", "aac", "-b:a", "64k",
    "-f", "mp4", "-movflags", "+frag_keyframe+empty_moov+default_base_moof", "-frag_duration", "333000",
    "pipe:1",
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(resolveFfmpeg(), args, { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => (err += b));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`ffmpeg ${code}: ${err}`))));
  });
}

/** ftyp+moov, then each moof+mdat pair: the units in which FFmpeg's output arrives. */
function units(data: Buffer): { init: Buffer; parts: Buffer[] } {
  const boxes = new BoxSplitter().push(data);
  const head: Buffer[] = [];
  const parts: Buffer[] = [];
  let pending: Buffer | undefined;
  for (const box of boxes) {
    // box.data is the whole box, header included
    if (box.type === "ftyp" || box.type === "moov") head.push(box.data);
    else if (box.type === "moof") pending = box.data;
    else if (box.type === "mdat" && pending) {
      parts.push(Buffer.concat([pending, box.data]));
      pending = undefined;
    }
  }
  return { init: Buffer.concat(head), parts };
}

const SPEC = (name: string): RenditionSpec => ({ name, width: 160, height: 120, videoBitrate: 150_000, audioBitrate: 64_000, frameRate: FPS });
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

let av8: Buffer;
let split: { init: Buffer; parts: Buffer[] };

beforeAll(async () => {
  HLS.setOptions({ strictMode: true });
  av8 = await encode(8);
  split = units(av8);
}, 30_000);

afterEach(() => vi.useRealTimers());

function live(renditions = ["a"]) {
  const clock = { ms: T0 };
  const packager = new StreamPackager({
    streamId: "llteststream1",
    renditions: renditions.map(SPEC),
    epoch: "e1",
    partTarget: PART_S,
    now: () => clock.ms,
  });
  const run = packager.beginRun();
  for (const r of renditions) run.write(r, split.init);
  let next = 0;
  /** Feeds the next `n` parts to every rendition, 1/3 s of wall clock each. */
  const feed = (n = 1) => {
    for (let i = 0; i < n && next < split.parts.length; i++, next++) {
      clock.ms += PART_S * 1000;
      for (const r of renditions) run.write(r, split.parts[next]!);
    }
  };
  return { packager, run, feed, clock, remaining: () => split.parts.length - next };
}

async function text(packager: StreamPackager, path: string, query = {}): Promise<string> {
  const result = await packager.serve(path, query);
  if (result.kind !== "object") throw new Error(`${path}: ${result.status} ${result.code}`);
  return result.object.body as string;
}

const pos = (p: Partial<LivePosition>): LivePosition => ({ lastMsn: 9, openMsn: 10, openParts: 2, lastSegmentParts: 6, nextPart: 62, ...p });
const LIMITS = { partTarget: 1 / 3, targetDuration: 2 };

describe("blocking decisions (RFC 8216bis §6.2.5.2)", () => {
  it("answers at once what the playlist already contains", () => {
    expect(decidePlaylist(pos({}), {}, false, LIMITS)).toEqual({ kind: "answer" });
    expect(decidePlaylist(pos({}), { msn: 9 }, false, LIMITS)).toEqual({ kind: "answer" });
    expect(decidePlaylist(pos({}), { msn: 3, part: 40 }, false, LIMITS)).toEqual({ kind: "answer" });
    expect(decidePlaylist(pos({}), { msn: 10, part: 1 }, false, LIMITS)).toEqual({ kind: "answer" });
    expect(satisfies(pos({}), { msn: 10 })).toBe(false);
  });

  it("holds what comes next: the next part, the open segment's completion, the next segments", () => {
    expect(decidePlaylist(pos({}), { msn: 10, part: 2 }, false, LIMITS)).toEqual({ kind: "hold" });
    expect(decidePlaylist(pos({}), { msn: 10 }, false, LIMITS)).toEqual({ kind: "hold" });
    expect(decidePlaylist(pos({}), { msn: 11, part: 0 }, false, LIMITS)).toEqual({ kind: "hold" });
    expect(decidePlaylist(pos({}), { msn: 11 }, false, LIMITS)).toEqual({ kind: "hold" });
  });

  it("refuses msn more than 2 past the last segment, parts beyond the advance part limit, part without msn", () => {
    expect(decidePlaylist(pos({}), { msn: 12 }, false, LIMITS)).toMatchObject({ kind: "reject", status: 400, code: "msn_too_far" });
    expect(advancePartLimit(1 / 3)).toBe(9);
    expect(advancePartLimit(1.5)).toBe(3);
    // newest part is (10, 1): (10, 10) is 9 ahead → allowed, (10, 11) is 10 ahead → refused
    expect(decidePlaylist(pos({}), { msn: 10, part: 10 }, false, LIMITS)).toEqual({ kind: "hold" });
    expect(decidePlaylist(pos({}), { msn: 10, part: 11 }, false, LIMITS)).toMatchObject({ kind: "reject", code: "part_too_far" });
    // (11, 4): 4 parts left in segment 10 (nominal 6) + 5 = 9 ahead → allowed; (11, 5) refused
    expect(decidePlaylist(pos({}), { msn: 11, part: 4 }, false, LIMITS)).toEqual({ kind: "hold" });
    expect(decidePlaylist(pos({}), { msn: 11, part: 5 }, false, LIMITS)).toMatchObject({ kind: "reject", code: "part_too_far" });
    expect(decidePlaylist(pos({}), { part: 1 }, false, LIMITS)).toMatchObject({ kind: "reject", status: 400 });
  });

  it("an ended playlist answers at once; the hold limit is three target durations", () => {
    expect(decidePlaylist(pos({}), { msn: 11, part: 3 }, true, LIMITS)).toEqual({ kind: "answer" });
    expect(holdLimitMs(2)).toBe(6000);
  });

  it("parts: the hinted one is held, later ones and evicted ones are 404", () => {
    expect(decidePart(pos({}), 62, false, false)).toEqual({ kind: "hold" });
    expect(decidePart(pos({}), 62, false, true)).toMatchObject({ kind: "reject", status: 404 });
    expect(decidePart(pos({}), 63, false, false)).toMatchObject({ kind: "reject", status: 404 });
    expect(decidePart(pos({}), 3, false, false)).toMatchObject({ kind: "reject", status: 404 });
    expect(decidePart(pos({}), 60, true, false)).toEqual({ kind: "answer" });
  });
});

describe("renderMediaPlaylist with LL-HLS", () => {
  it("writes server control, part info, parts, the hint and rendition reports in RFC order; no hint after ENDLIST", () => {
    const base = {
      targetDuration: 2,
      mediaSequence: 5,
      discontinuitySequence: 0,
      independentSegments: true,
      segments: [
        {
          uri: "e1-5.m4s", duration: 2, programDateTime: T0, discontinuity: false, mapUri: "init-e1-0.mp4",
          parts: [0, 1, 2, 3, 4, 5].map((i) => ({ uri: `e1-p${30 + i}.m4s`, duration: 1 / 3, independent: i % 3 === 0 })),
        },
      ],
    };
    const lowLatency = {
      partTarget: 0.334,
      partHoldBack: 1.002,
      holdBack: 6,
      open: { programDateTime: T0 + 2000, discontinuity: false, mapUri: "init-e1-0.mp4", parts: [{ uri: "e1-p36.m4s", duration: 1 / 3, independent: true }] },
      preloadHint: "e1-p37.m4s",
      renditionReports: [{ uri: "../b/index.m3u8", lastMsn: 6, lastPart: 0 }],
    };
    const text = renderMediaPlaylist({ ...base, ended: false, lowLatency });
    expect(text.split("\n").slice(0, 6)).toEqual([
      "#EXTM3U",
      "#EXT-X-VERSION:7",
      "#EXT-X-TARGETDURATION:2",
      "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.002,HOLD-BACK=6",
      "#EXT-X-PART-INF:PART-TARGET=0.334",
      "#EXT-X-MEDIA-SEQUENCE:5",
    ]);
    expect(text).toContain('#EXT-X-PART:DURATION=0.333,URI="e1-p30.m4s",INDEPENDENT=YES\n#EXT-X-PART:DURATION=0.333,URI="e1-p31.m4s"\n');
    expect(text).toContain(
      '#EXT-X-PROGRAM-DATE-TIME:2026-01-01T12:00:02.000Z\n#EXT-X-PART:DURATION=0.333,URI="e1-p36.m4s",INDEPENDENT=YES\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI="e1-p37.m4s"\n#EXT-X-RENDITION-REPORT:URI="../b/index.m3u8",LAST-MSN=6,LAST-PART=0\n',
    );
    const parsed = HLS.parse(text) as HLS.types.MediaPlaylist;
    expect(parsed.partTargetDuration).toBe(0.334);
    expect(parsed.lowLatencyCompatibility).toMatchObject({ canBlockReload: true, partHoldBack: 1.002, holdBack: 6 });

    const ended = renderMediaPlaylist({ ...base, ended: true, lowLatency });
    expect(ended).not.toContain("PRELOAD-HINT");
    expect(ended).not.toContain("e1-p36.m4s");
    expect(ended).toContain("#EXT-X-ENDLIST\n");
  });
});

describe("StreamPackager: LL-HLS on real FFmpeg parts", () => {
  it("every playlist along the way is valid LL-HLS (hls-parser strict), with the right hint, flags and reports", async () => {
    const { packager, feed, remaining } = live(["a", "b"]);
    expect(split.parts.length).toBeGreaterThan(20);
    let checked = 0;
    while (remaining() > 0) {
      feed(1);
      const result = await packager.serve("a/index.m3u8");
      if (result.kind !== "object") continue; // before the first segment
      const raw = result.object.body as string;
      const playlist = HLS.parse(raw) as HLS.types.MediaPlaylist; // throws on any LL-HLS rule violation
      checked++;
      const target = Number(/PART-TARGET=([\d.]+)/.exec(raw)![1]);
      expect(target).toBeGreaterThanOrEqual(PART_S - 1e-9);
      expect(target).toBeLessThan(0.4);
      const holdBack = Number(/PART-HOLD-BACK=([\d.]+)/.exec(raw)![1]);
      expect(holdBack).toBeGreaterThanOrEqual(3 * target - 1e-9);
      expect(Number(/,HOLD-BACK=([\d.]+)/.exec(raw)![1])).toBeGreaterThanOrEqual(6);
      const hint = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="e1-p(\d+)\.m4s"/.exec(raw);
      const listed = [...raw.matchAll(/URI="e1-p(\d+)\.m4s"/g)].map((m) => Number(m[1]));
      expect(Number(hint![1])).toBe(Math.max(...listed.slice(0, -1)) + 1);
      expect(raw).toMatch(/#EXT-X-RENDITION-REPORT:URI="\.\.\/b\/index\.m3u8",LAST-MSN=\d+,LAST-PART=\d+\n/);
      expect(playlist.segments.filter((s) => s.uri).length).toBeGreaterThan(0);
    }
    expect(checked).toBeGreaterThan(10);

    // INDEPENDENT=YES exactly on the parts that start with a keyframe
    const raw = await text(packager, "a/index.m3u8");
    const init = parseInit(split.init);
    const video = init.tracks.find((t) => t.kind === "video")!;
    for (const m of raw.matchAll(/#EXT-X-PART:DURATION=[\d.]+,URI="(e1-p\d+\.m4s)"(,INDEPENDENT=YES)?/g)) {
      const part = await packager.serve(`a/${m[1]}`);
      expect(part.kind).toBe("object");
      const [moof] = new BoxSplitter().push((part as { object: { body: Buffer } }).object.body);
      const frag = parseMoof(moof!.data, init.tracks).find((f) => f.trackId === video.trackId)!;
      expect(frag.firstSampleIsSync, m[1]).toBe(m[2] !== undefined);
    }

    packager.end();
    const ended = await text(packager, "a/index.m3u8");
    expect(ended).not.toContain("PRELOAD-HINT");
    expect(ended).toContain("#EXT-X-ENDLIST");
    HLS.parse(ended);
  });

  it("holds a blocking playlist request until its part exists, answers at once when it does", async () => {
    const { packager, feed } = live();
    feed(8); // first segment complete (6 parts) + 2 parts of the second
    const before = await text(packager, "a/index.m3u8");
    expect(before).toMatch(/#EXTINF:[\d.]+,\ne1-0\.m4s/);
    const partsOf1 = () => (/e1-0\.m4s\n([\s\S]*)$/.exec(before)![1]!.match(/#EXT-X-PART:/g) ?? []).length;
    expect(partsOf1()).toBe(2);

    expect((await packager.serve("a/index.m3u8", { msn: 1, part: 1 })).kind).toBe("object"); // exists
    let settled = false;
    const held = packager.serve("a/index.m3u8", { msn: 1, part: 2 }).then((r) => ((settled = true), r));
    await Promise.resolve();
    expect(settled).toBe(false);
    expect(packager.heldRequests).toBe(1);
    feed(1);
    const answer = await held;
    expect(answer.kind).toBe("object");
    expect((answer as { object: { body: string } }).object.body).toMatch(/(#EXT-X-PART:[^\n]+\n){3}#EXT-X-PRELOAD-HINT/);
    expect(packager.heldRequests).toBe(0);

    expect(await packager.serve("a/index.m3u8", { msn: 9 })).toMatchObject({ kind: "error", status: 400, code: "msn_too_far" });
  });

  it("holds the hinted part until it is complete; a later part is 404 at once", async () => {
    const { packager, feed } = live();
    feed(7);
    const raw = await text(packager, "a/index.m3u8");
    const hinted = /PRELOAD-HINT:TYPE=PART,URI="([^"]+)"/.exec(raw)![1]!;
    const number = Number(/p(\d+)/.exec(hinted)![1]);
    expect(await packager.serve(`a/e1-p${number + 1}.m4s`)).toMatchObject({ kind: "error", status: 404 });
    const held = packager.serve(`a/${hinted}`);
    expect(packager.heldRequests).toBe(1);
    feed(1);
    const part = await held;
    expect(part.kind).toBe("object");
    expect((part as { object: { body: Buffer } }).object.body.equals(split.parts[7]!)).toBe(true);
  });

  it("answers 503 after three target durations, and a client that leaves releases its hold", async () => {
    vi.useFakeTimers();
    const { packager, feed } = live();
    feed(7);
    const timedOut = packager.serve("a/index.m3u8", { msn: 2 });
    const leaving = new AbortController();
    const abandoned = packager.serve("a/index.m3u8", { msn: 2, part: 0 }, leaving.signal);
    expect(packager.heldRequests).toBe(2);
    leaving.abort();
    expect(await abandoned).toMatchObject({ kind: "error", status: 499 });
    expect(packager.heldRequests).toBe(1);
    vi.advanceTimersByTime(holdLimitMs(2) - 1);
    expect(packager.heldRequests).toBe(1);
    vi.advanceTimersByTime(1);
    expect(await timedOut).toMatchObject({ kind: "error", status: 503, code: "hold_timeout" });
    expect(packager.heldRequests).toBe(0);
  });

  it("the end of the stream releases held requests: playlists with ENDLIST, the hinted part 404", async () => {
    const { packager, feed, run } = live();
    feed(7);
    const raw = await text(packager, "a/index.m3u8");
    const hinted = /PRELOAD-HINT:TYPE=PART,URI="([^"]+)"/.exec(raw)![1]!;
    const playlist = packager.serve("a/index.m3u8", { msn: 2 });
    const part = packager.serve(`a/${hinted}`);
    run.end();
    packager.end();
    const answered = await playlist;
    expect(answered.kind, JSON.stringify(answered)).toBe("object");
    expect((answered as { object: { body: string } }).object.body).toContain("#EXT-X-ENDLIST");
    // the open segment was flushed at the end: its parts exist, the hint pointed past them
    expect(await part).toMatchObject({ kind: "error", status: 404 });
  });

  it("a reconnect keeps part numbers going, marks the discontinuity before the new run's parts, and stays valid", async () => {
    const { packager, feed, clock } = live();
    feed(9); // segment 0 complete, 3 parts of segment 1 open
    const before = await text(packager, "a/index.m3u8");
    const lastPartBefore = Math.max(...[...before.matchAll(/#EXT-X-PART:.*URI="e1-p(\d+)\.m4s"/g)].map((m) => Number(m[1])));

    clock.ms += 3_000; // the broadcaster comes back 3 s later: a new FFmpeg run
    const run2 = packager.beginRun();
    run2.write("a", split.init);
    for (const part of split.parts.slice(0, 2)) {
      clock.ms += PART_S * 1000;
      run2.write("a", part);
    }
    const after = await text(packager, "a/index.m3u8");
    HLS.parse(after); // valid LL-HLS
    // the interrupted segment 1 was closed with the parts it had, under the names already published
    expect(after).toMatch(new RegExp(`URI="e1-p${lastPartBefore}\\.m4s"[^\\n]*\\n#EXTINF:[\\d.]+,\\ne1-1\\.m4s`));
    // the new run's open parts follow a discontinuity and their own init, numbered after the old ones
    expect(after).toMatch(
      new RegExp(`#EXT-X-DISCONTINUITY\\n#EXT-X-MAP:URI="init-e1-1\\.mp4"\\n#EXT-X-PROGRAM-DATE-TIME:[^\\n]+\\n#EXT-X-PART:DURATION=[\\d.]+,URI="e1-p${lastPartBefore + 1}\\.m4s",INDEPENDENT=YES`),
    );
    expect(after).toContain(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="e1-p${lastPartBefore + 3}.m4s"`);
  });

  it("resumes after an origin restart: media sequence, part numbers and discontinuity sequence continue, PDT never goes back", async () => {
    const first = live();
    first.feed(20); // 3 segments and a bit
    const snapshot = first.packager.snapshot();
    const before = await text(first.packager, "a/index.m3u8");
    const lastMsnBefore = snapshot.a!.nextMsn - 1;
    expect(snapshot.a).toMatchObject({ nextMsn: 3, discontinuities: 0 });
    expect(snapshot.a!.nextPart).toBeGreaterThanOrEqual(18);

    // a new process: new epoch, same stream, fed from the start of a new FFmpeg run
    const clock = { ms: first.clock.ms + 5_000 };
    const packager = new StreamPackager({
      streamId: "llteststream1", renditions: [SPEC("a")], epoch: "e2", partTarget: PART_S, now: () => clock.ms, resume: JSON.parse(JSON.stringify(snapshot)),
    });
    const run = packager.beginRun();
    run.write("a", split.init);
    for (const part of split.parts.slice(0, 13)) {
      clock.ms += PART_S * 1000;
      run.write("a", part);
    }
    const after = await text(packager, "a/index.m3u8");
    const playlist = HLS.parse(after) as HLS.types.MediaPlaylist;
    const complete = playlist.segments.filter((s) => s.uri);
    expect(complete[0]!.mediaSequenceNumber).toBe(lastMsnBefore + 1);
    expect(complete[0]!.uri).toBe(`e2-${lastMsnBefore + 1}.m4s`);
    expect(complete[0]!.discontinuity).toBe(true);
    expect(after).toContain(`#EXT-X-MEDIA-SEQUENCE:${lastMsnBefore + 1}\n`);
    expect(after).not.toContain("#EXT-X-DISCONTINUITY-SEQUENCE"); // no discontinuity came before this one
    const firstPart = Number(/URI="e2-p(\d+)\.m4s"/.exec(after)![1]);
    expect(firstPart).toBe(snapshot.a!.nextPart);
    const lastPdtBefore = Math.max(...[...before.matchAll(/PROGRAM-DATE-TIME:(\S+)/g)].map((m) => Date.parse(m[1]!)));
    expect(complete[0]!.programDateTime!.getTime()).toBeGreaterThan(lastPdtBefore);

    // a second restart counts the first one's discontinuity once it left the window
    const again = packager.snapshot();
    expect(again.a).toMatchObject({ nextMsn: lastMsnBefore + 3, discontinuities: 1 });
  });

  it("keeps one decode timeline across runs: the next run's fragments start where the last one ended (tfdt rewritten)", async () => {
    const { packager, feed, clock } = live();
    const segments: Array<{ msn: number; bytes: Buffer; duration: number }> = [];
    packager.on("segment", (e) => segments.push(e));
    feed(14); // two complete segments, parts of the third
    clock.ms += 2_000;
    const run2 = packager.beginRun(); // closes segment 2 (the interrupted one)
    run2.write("a", split.init);
    for (const part of split.parts.slice(0, 13)) {
      clock.ms += PART_S * 1000;
      run2.write("a", part);
    }
    const init = parseInit(split.init);
    const startOf = (bytes: Buffer) => {
      const [moof] = new BoxSplitter().push(bytes);
      return parseMoof(moof!.data, init.tracks).map((f) => f.baseMediaDecodeTime / init.tracks.find((t) => t.trackId === f.trackId)!.timescale);
    };
    const lastOfRun1 = segments[2]!;
    const firstOfRun2 = segments[3]!;
    const run1End = startOf(lastOfRun1.bytes)[0]! + lastOfRun1.duration;
    const [video, audio] = startOf(firstOfRun2.bytes);
    expect(video).toBeGreaterThan(4); // 14 parts of run 1
    expect(Math.abs(video! - run1End)).toBeLessThan(0.002); // continues, not back to 0
    expect(Math.abs(audio! - run1End)).toBeLessThan(0.002);
  });
});
