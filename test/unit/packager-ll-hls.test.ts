/**
 * LL-HLS at the origin: the playlist renderer's tags, the blocking-request
 * decisions (pure), and the packager answering blocking requests on real
 * FFmpeg output (the origin's ladder: video-only renditions, the audio on
 * its own) cut into 1/3 s parts, fed one part at a time as FFmpeg writes
 * them.
 */
import HLS from "hls-parser";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { advancePartLimit, decidePart, decidePlaylist, holdLimitMs, satisfies } from "../../origin/packager/blocking.js";
import { BoxSplitter, parseInit, parseMoof } from "../../origin/packager/boxes.js";
import { renderMediaPlaylist } from "../../origin/packager/playlist.js";
import type { LivePosition } from "../../origin/packager/rendition.js";
import { StreamPackager, type RenditionSpec, type RunInput } from "../../origin/packager/stream-packager.js";
import { encodeTracks, units } from "./packager-media.js";

const FPS = 30;
const PART_S = 10 / FPS; // FFmpeg closes a 333 ms fragment on the 10th frame

const SPEC = (name: string): RenditionSpec => ({
  name,
  width: 160,
  height: 120,
  videoBitrate: 150_000,
  audioBitrate: 64_000,
  frameRate: FPS,
});
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const AAC_FRAME = 1024 / 48_000;

/** The origin's ladder output, as the units FFmpeg writes: per video part, the audio frames that came with it. */
interface Split {
  init: Buffer;
  parts: Buffer[];
  audioInit: Buffer;
  /** Audio fragments (one AAC frame each) to write after video part i: up to the first frame at or after its end. */
  audioWith: Buffer[][];
  /** Start and end (s) of each video part. */
  times: Array<[number, number]>;
}

let split: Split;

function splitLadder(video: Buffer, audio: Buffer): Split {
  const v = units(video);
  const a = units(audio);
  const vInfo = parseInit(v.init);
  const aInfo = parseInit(a.init);
  const startOf = (part: Buffer, info: typeof vInfo) => {
    const [moof] = new BoxSplitter().push(part);
    const frag = parseMoof(moof!.data, info.tracks)[0]!;
    const timescale = info.tracks[0]!.timescale;
    return [frag.baseMediaDecodeTime / timescale, (frag.baseMediaDecodeTime + frag.duration) / timescale] as [number, number];
  };
  const times = v.parts.map((part) => startOf(part, vInfo));
  const audioStarts = a.parts.map((part) => startOf(part, aInfo)[0]);
  let next = 0;
  const audioWith = times.map(([, end], i) => {
    const batch: Buffer[] = [];
    const last = i === times.length - 1;
    while (next < a.parts.length && (last || audioStarts[next - 1] === undefined || audioStarts[next - 1]! < end))
      batch.push(a.parts[next++]!);
    return batch;
  });
  return { init: v.init, parts: v.parts, audioInit: a.init, audioWith, times };
}

beforeAll(async () => {
  HLS.setOptions({ strictMode: true });
  const tracks = await encodeTracks({ seconds: 8, size: "160x120", audio: true }, [SPEC("a")], PART_S);
  split = splitLadder(tracks.a!, tracks.audio!);
}, 60_000);

afterEach(() => vi.useRealTimers());

/** One FFmpeg run's worth of input, a part at a time (with the audio that came with it). */
function writer(run: RunInput, renditions: string[]) {
  for (const r of renditions) run.write(r, split.init);
  run.write("audio", split.audioInit);
  return (i: number) => {
    for (const r of renditions) run.write(r, split.parts[i]!);
    for (const frame of split.audioWith[i]!) run.write("audio", frame);
  };
}

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
  const write = writer(run, renditions);
  let next = 0;
  /** Feeds the next `n` parts to every rendition, 1/3 s of wall clock each. */
  const feed = (n = 1) => {
    for (let i = 0; i < n && next < split.parts.length; i++, next++) {
      clock.ms += PART_S * 1000;
      write(next);
    }
  };
  return { packager, run, feed, clock, remaining: () => split.parts.length - next };
}

/** Decode time (s) of the first sample of a served part or segment (after its styp, if any). */
async function startSeconds(packager: StreamPackager, path: string, init = "init-e1-0.mp4"): Promise<number> {
  const [rendition] = path.split("/");
  const [object, initObject] = await Promise.all([packager.serve(path), packager.serve(`${rendition}/${init}`)]);
  if (object.kind !== "object" || initObject.kind !== "object") throw new Error(`${path} or its init missing`);
  const { tracks } = parseInit(initObject.object.body as Buffer);
  const moof = new BoxSplitter().push(object.object.body as Buffer).find((b) => b.type === "moof")!;
  const [fragment] = parseMoof(moof.data, tracks);
  return fragment!.baseMediaDecodeTime / tracks[0]!.timescale;
}

async function text(packager: StreamPackager, path: string, query = {}): Promise<string> {
  const result = await packager.serve(path, query);
  if (result.kind !== "object") throw new Error(`${path}: ${result.status} ${result.code}`);
  return result.object.body as string;
}

const pos = (p: Partial<LivePosition>): LivePosition => ({
  lastMsn: 9,
  openMsn: 10,
  openParts: 2,
  lastSegmentParts: 6,
  nextPart: 62,
  ...p,
});
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
          uri: "e1-5.m4s",
          duration: 2,
          programDateTime: T0,
          discontinuity: false,
          mapUri: "init-e1-0.mp4",
          parts: [0, 1, 2, 3, 4, 5].map((i) => ({ uri: `e1-p${30 + i}.m4s`, duration: 1 / 3, independent: i % 3 === 0 })),
        },
      ],
    };
    const lowLatency = {
      partTarget: 0.334,
      partHoldBack: 1.002,
      holdBack: 6,
      open: {
        programDateTime: T0 + 2000,
        discontinuity: false,
        mapUri: "init-e1-0.mp4",
        parts: [{ uri: "e1-p36.m4s", duration: 1 / 3, independent: true }],
      },
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
    const { packager, feed, remaining, run } = live(["a", "b"]);
    expect(split.parts.length).toBeGreaterThan(20);
    let checked = 0;
    // (the ladder's fps filter ends a run with a one-frame part, which only the end of the run makes
    // the last part of its segment: that one is fed with the end)
    while (remaining() > 1) {
      feed(1);
      for (const rendition of ["a", "audio"]) {
        const result = await packager.serve(`${rendition}/index.m3u8`);
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
        // reports both ways between the video renditions and the audio one
        const other = rendition === "a" ? "audio" : "a";
        expect(raw).toMatch(new RegExp(`#EXT-X-RENDITION-REPORT:URI="\\.\\./${other}/index\\.m3u8",LAST-MSN=\\d+,LAST-PART=\\d+\n`));
        expect(playlist.segments.filter((s) => s.uri).length).toBeGreaterThan(0);
      }
    }
    expect(checked).toBeGreaterThan(20);

    // INDEPENDENT=YES exactly on the parts that start with a keyframe
    const raw = await text(packager, "a/index.m3u8");
    const init = parseInit(split.init);
    const video = init.tracks.find((t) => t.kind === "video")!;
    for (const m of raw.matchAll(/#EXT-X-PART:DURATION=[\d.]+,URI="(e1-p\d+\.m4s)"(,INDEPENDENT=YES)?/g)) {
      const part = await packager.serve(`a/${m[1]}`);
      expect(part.kind).toBe("object");
      const moof = new BoxSplitter().push((part as { object: { body: Buffer } }).object.body).find((b) => b.type === "moof");
      const frag = parseMoof(moof!.data, init.tracks).find((f) => f.trackId === video.trackId)!;
      expect(frag.firstSampleIsSync, m[1]).toBe(m[2] !== undefined);
    }

    feed(1);
    run.end();
    packager.end();
    for (const rendition of ["a", "audio"]) {
      const ended = await text(packager, `${rendition}/index.m3u8`);
      expect(ended).not.toContain("PRELOAD-HINT");
      expect(ended).toContain("#EXT-X-ENDLIST");
      HLS.parse(ended);
    }
  });

  it("cuts the audio playlist's segments and parts at the video's boundaries: same msns, same part numbers, within one AAC frame", async () => {
    const { packager, feed, remaining } = live(["a"]);
    while (remaining() > 0) feed(1);
    packager.end();
    const parse = async (rendition: string) => {
      const playlist = HLS.parse(await text(packager, `${rendition}/index.m3u8`)) as HLS.types.MediaPlaylist;
      return playlist.segments.filter((s) => s.uri);
    };
    const video = await parse("a");
    const audio = await parse("audio");
    expect(audio.map((s) => [s.mediaSequenceNumber, s.uri])).toEqual(video.map((s) => [s.mediaSequenceNumber, s.uri]));
    const listed = video.filter((s) => s.parts.length > 0);
    expect(listed.length).toBeGreaterThan(0);
    for (const segment of listed) {
      const other = audio.find((s) => s.mediaSequenceNumber === segment.mediaSequenceNumber)!;
      expect(other.parts.map((p) => p.uri)).toEqual(segment.parts.map((p) => p.uri));
      expect(other.parts.every((p) => p.independent)).toBe(true);
      // every audio part starts at the first AAC frame at or after its video part's start
      for (const [i, part] of segment.parts.entries()) {
        const videoStart = await startSeconds(packager, `a/${part.uri}`);
        const audioStart = await startSeconds(packager, `audio/${other.parts[i]!.uri}`);
        expect(audioStart - videoStart).toBeGreaterThanOrEqual(-1e-6);
        expect(audioStart - videoStart).toBeLessThan(AAC_FRAME + 1e-6);
      }
    }
    // the run's audio and video end within one AAC frame of each other
    const lastVideo = video.at(-1)!;
    const lastAudio = audio.at(-1)!;
    const videoEnd = lastVideo.programDateTime!.getTime() + lastVideo.duration * 1000;
    const audioEnd = lastAudio.programDateTime!.getTime() + lastAudio.duration * 1000;
    expect(Math.abs(audioEnd - videoEnd)).toBeLessThanOrEqual(AAC_FRAME * 1000 + 1);
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
    const write = writer(run2, ["a"]);
    for (let i = 0; i < 2; i++) {
      clock.ms += PART_S * 1000;
      write(i);
    }
    const after = await text(packager, "a/index.m3u8");
    const afterAudio = await text(packager, "audio/index.m3u8");
    HLS.parse(afterAudio);
    expect(afterAudio).toContain('#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="init-e1-1.mp4"\n');
    HLS.parse(after); // valid LL-HLS
    // the interrupted segment 1 was closed with the parts it had, under the names already published
    expect(after).toMatch(new RegExp(`URI="e1-p${lastPartBefore}\\.m4s"[^\\n]*\\n#EXTINF:[\\d.]+,\\ne1-1\\.m4s`));
    // the new run's open parts follow a discontinuity and their own init, numbered after the old ones
    expect(after).toMatch(
      new RegExp(
        `#EXT-X-DISCONTINUITY\\n#EXT-X-MAP:URI="init-e1-1\\.mp4"\\n#EXT-X-PROGRAM-DATE-TIME:[^\\n]+\\n#EXT-X-PART:DURATION=[\\d.]+,URI="e1-p${lastPartBefore + 1}\\.m4s",INDEPENDENT=YES`,
      ),
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
      streamId: "llteststream1",
      renditions: [SPEC("a")],
      epoch: "e2",
      partTarget: PART_S,
      now: () => clock.ms,
      resume: JSON.parse(JSON.stringify(snapshot)),
    });
    const run = packager.beginRun();
    const write = writer(run, ["a"]);
    for (let i = 0; i < 13; i++) {
      clock.ms += PART_S * 1000;
      write(i);
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
    // the audio rendition resumes alike, on the same numbers
    expect(snapshot.audio).toMatchObject({ nextMsn: snapshot.a!.nextMsn, nextPart: snapshot.a!.nextPart, discontinuities: 0 });
    expect(again.audio).toMatchObject({ nextMsn: lastMsnBefore + 3, discontinuities: 1 });
  });

  it("keeps one decode timeline across runs: the next run's fragments start where the last one ended (tfdt rewritten)", async () => {
    const { packager, feed, clock } = live();
    const segments: Array<{ rendition: string; msn: number; bytes: Buffer; duration: number }> = [];
    packager.on("segment", (e) => segments.push(e));
    feed(14); // two complete segments, parts of the third
    clock.ms += 2_000;
    const run2 = packager.beginRun(); // closes segment 2 (the interrupted one)
    const write = writer(run2, ["a"]);
    for (let i = 0; i < 13; i++) {
      clock.ms += PART_S * 1000;
      write(i);
    }
    const ends = (rendition: string) => {
      const of = segments.filter((s) => s.rendition === rendition);
      return { lastOfRun1: of[2]!, firstOfRun2: of[3]! };
    };
    const video = ends("a");
    const audio = ends("audio");
    const videoEnd = (await startSeconds(packager, `a/e1-2.m4s`)) + video.lastOfRun1.duration;
    const audioEnd = (await startSeconds(packager, `audio/e1-2.m4s`)) + audio.lastOfRun1.duration;
    const run1End = Math.max(videoEnd, audioEnd); // the next run starts after both
    expect(Math.abs(audioEnd - videoEnd)).toBeLessThan(AAC_FRAME + 1e-6);
    const videoStart = await startSeconds(packager, "a/e1-3.m4s");
    const audioStart = await startSeconds(packager, "audio/e1-3.m4s");
    expect(videoStart).toBeGreaterThan(4); // 14 parts of run 1
    expect(Math.abs(videoStart - run1End)).toBeLessThan(0.002); // continues, not back to 0
    expect(audioStart - run1End).toBeGreaterThanOrEqual(-0.002);
    expect(audioStart - run1End).toBeLessThan(AAC_FRAME + 0.002);
  });
});
