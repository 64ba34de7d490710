import { describe, expect, it } from "vitest";
import { buildLadderArgs } from "../../origin/transcode/ladder-args.js";
import { parseLadder } from "../../origin/config.js";
import { barcode } from "../../bench/lib/barcode.js";
import {
  classifyPeerUri,
  classifyViewerUrl,
  oursOriginDelta,
  parseAccessLogLine,
  parsePrometheus,
  peerOriginCounts,
} from "../../bench/lib/origin-counts.js";
import { parseWrkDuration, parseWrkOutput } from "../../bench/lib/wrk.js";
import { parseOptions } from "../../bench/options.js";
import { buildPeerLadderArgs } from "../../bench/peer/ladder.js";
import { renderNginxConf, type NginxConfOptions } from "../../bench/peer/nginx-conf.js";

const confOptions: NginxConfOptions = {
  dir: "/tmp/bench-nginx",
  modulePath: "/usr/lib/nginx/modules/ngx_rtmp_module.so",
  rtmpPort: 41936,
  originPort: 48180,
  motherPort: 48181,
  childPort: 48182,
  variants: [
    { suffix: "_360p", bandwidth: 1_000_000, width: 640, height: 360, frameRate: 30 },
    { suffix: "_180p", bandwidth: 340_000, width: 320, height: 180, frameRate: 30 },
  ],
};

describe("nginx peer conf", () => {
  const conf = renderNginxConf(confOptions);

  it("loads the RTMP module, stays in the foreground and keeps its files in its own dir", () => {
    expect(conf).toMatch(/^load_module \/usr\/lib\/nginx\/modules\/ngx_rtmp_module\.so;$/m);
    expect(conf).toMatch(/^daemon off;$/m);
    expect(conf).toMatch(/^pid \/tmp\/bench-nginx\/nginx\.pid;$/m);
    expect(conf).toContain("hls_path /tmp/bench-nginx/hls;");
    expect(conf).toContain("proxy_temp_path /tmp/bench-nginx/temp/proxy;");
    expect(conf).toContain("access_log /tmp/bench-nginx/logs/origin-access.log bench_origin;");
    expect(conf).not.toMatch(/\bexec\b/);
  });

  it("listens on loopback only", () => {
    const listens = [...conf.matchAll(/^\s*listen (\S+);/gm)].map((m) => m[1]);
    expect(listens).toEqual(["127.0.0.1:41936", "127.0.0.1:48180", "127.0.0.1:48181", "127.0.0.1:48182"]);
  });

  it("writes 2 s HLS fragments, an 8 s playlist and one hls_variant per rung", () => {
    expect(conf).toContain("hls_fragment 2s;");
    expect(conf).toContain("hls_playlist_length 8s;");
    expect(conf).toContain("hls_variant _360p BANDWIDTH=1000000,RESOLUTION=640x360,FRAME-RATE=30.000;");
    expect(conf).toContain("hls_variant _180p BANDWIDTH=340000,RESOLUTION=320x180,FRAME-RATE=30.000;");
  });

  it("puts two proxy_cache tiers with proxy_cache_lock in front, with about one segment's TTL at the mother", () => {
    expect(conf.match(/proxy_cache_lock on;/g)!.length).toBe(6); // 3 object kinds × 2 tiers
    expect(conf).toContain("proxy_cache mother;");
    expect(conf).toContain("proxy_cache child;");
    const mother = conf.slice(conf.indexOf("# Mother tier"), conf.indexOf("# Child tier"));
    expect(mother).toContain('add_header Cache-Control "public, max-age=86400";');
    expect(mother).toContain('add_header Cache-Control "public, max-age=2";');
    expect(mother).toContain('add_header Cache-Control "public, max-age=31536000, immutable";');
    expect(mother).toContain("proxy_ignore_headers Cache-Control Expires Set-Cookie;");
    expect(mother).toContain("proxy_pass http://peer_origin;");
    const child = conf.slice(conf.indexOf("# Child tier"));
    expect(child).toContain("proxy_pass http://peer_mother;");
    expect(child).not.toContain("proxy_ignore_headers");
    // add_header in a location hides the server's: every location carries the tier header.
    expect(child.match(/add_header X-Cache-Tier \$bench_child_tier always;/g)!.length).toBe(3);
  });

  it("serves stale while updating only when asked", () => {
    expect(conf).not.toContain("proxy_cache_use_stale updating");
    const stale = renderNginxConf({ ...confOptions, staleWhileUpdating: true });
    expect(stale.match(/proxy_cache_use_stale updating error timeout/g)!.length).toBe(6);
  });

  it("takes the media playlist TTL as an option and refuses unsafe input", () => {
    expect(renderNginxConf({ ...confOptions, mediaPlaylistTtl: 1 })).toContain('add_header Cache-Control "public, max-age=1";');
    expect(() => renderNginxConf({ ...confOptions, dir: "/tmp/a b" })).toThrow(/unsafe path/);
    expect(() => renderNginxConf({ ...confOptions, childPort: 48181 })).toThrow(/distinct/);
    expect(() => renderNginxConf({ ...confOptions, variants: [{ ...confOptions.variants[0]!, suffix: "_x;evil" }] })).toThrow(/suffix/);
  });
});

describe("peer ladder", () => {
  it("is our origin's ladder command with RTMP in and one FLV publish per rung", () => {
    const ladder = parseLadder("360p:640x360:800k,180p:320x180:250k", 30);
    const ours = buildLadderArgs({ ladder, frameRate: 30, preset: "veryfast", partDuration: 0.5 });
    const peer = buildPeerLadderArgs({
      ladder,
      frameRate: 30,
      preset: "veryfast",
      inputUrl: "rtmp://127.0.0.1:41936/src/bench",
      outputBase: "rtmp://127.0.0.1:41936/hls/bench",
    });
    expect(peer[peer.indexOf("-i") + 1]).toBe("rtmp://127.0.0.1:41936/src/bench");
    expect(peer.filter((a) => a.startsWith("rtmp://127.0.0.1:41936/hls/"))).toEqual([
      "rtmp://127.0.0.1:41936/hls/bench_360p",
      "rtmp://127.0.0.1:41936/hls/bench_180p",
    ]);
    expect(peer).not.toContain("mp4");
    expect(peer.some((a) => a.startsWith("pipe:"))).toBe(false);
    // Same encoder settings: every x264 flag of ours is there, in order.
    const encoderFlags = (args: string[]) =>
      args.filter((a, i) => ["-c:v", "-preset", "-tune", "-b:v", "-g", "-force_key_frames", "-sc_threshold"].includes(args[i - 1] ?? ""));
    expect(encoderFlags(peer)).toEqual(encoderFlags(ours));
    expect(peer[peer.indexOf("-filter_complex") + 1]).toBe(ours[ours.indexOf("-filter_complex") + 1]);
  });
});

describe("origin counts", () => {
  it("parses the origin access log format and classifies nginx-rtmp's nested HLS paths", () => {
    expect(parseAccessLogLine('1795238875.689 "/hls/bench.m3u8" 200 241')).toEqual({
      time: 1795238875689,
      uri: "/hls/bench.m3u8",
      status: 200,
      bytes: 241,
    });
    expect(parseAccessLogLine("garbage")).toBeNull();
    expect(classifyPeerUri("/hls/bench.m3u8")).toBe("master");
    expect(classifyPeerUri("/hls/bench_360p/index.m3u8")).toBe("media");
    expect(classifyPeerUri("/hls/bench_360p/12.ts")).toBe("segment");
    expect(classifyPeerUri("/favicon.ico")).toBe("other");
  });

  it("counts requests, fetches, distinct objects and the most fetches of one object", () => {
    const log = [
      '1000.000 "/hls/bench.m3u8" 200 241',
      '1000.100 "/hls/bench_360p/index.m3u8" 200 150',
      '1002.100 "/hls/bench_360p/index.m3u8" 200 150',
      '1002.200 "/hls/bench_360p/5.ts" 200 90000',
      '1002.300 "/hls/bench_360p/5.ts" 200 90000',
      '1002.400 "/hls/bench_360p/6.ts" 404 0',
      "",
    ].join("\n");
    const counts = peerOriginCounts(log);
    expect(counts.requests).toBe(6);
    expect(counts.requestsByType).toEqual({ master: 1, media: 2, segment: 3 });
    expect(counts.fetchesByType).toEqual({ master: 1, media: 2, segment: 2 });
    expect(counts.uniqueByType).toEqual({ master: 1, media: 1, segment: 1 });
    expect(counts.maxPerObjectByType.segment).toBe(2);
    expect(peerOriginCounts(log, { from: 1_002_000, to: 1_002_250 }).requests).toBe(2);
  });

  it("turns two /metrics scrapes of our origin into deltas", () => {
    const before = parsePrometheus(
      [
        "# HELP x",
        'origin_hls_requests_total{type="media",status="200"} 10',
        'origin_hls_requests_total{type="segment",status="200"} 5',
        'origin_hls_object_fetches_total{type="segment"} 5',
        'origin_hls_unique_objects_total{type="segment"} 5',
        'origin_hls_max_fetches_per_object{type="segment"} 1',
      ].join("\n"),
    );
    const after = parsePrometheus(
      [
        'origin_hls_requests_total{type="media",status="200"} 16',
        'origin_hls_requests_total{type="segment",status="200"} 9',
        'origin_hls_requests_total{type="segment",status="404"} 1',
        'origin_hls_object_fetches_total{type="segment"} 9',
        'origin_hls_unique_objects_total{type="segment"} 9',
        'origin_hls_max_fetches_per_object{type="segment"} 1',
        "origin_active_streams 1",
      ].join("\n"),
    );
    const delta = oursOriginDelta(before, after);
    expect(delta.requests).toBe(11);
    expect(delta.requestsByType).toEqual({ media: 6, segment: 5 });
    expect(delta.fetchesByType).toEqual({ segment: 4 });
    expect(delta.uniqueByType).toEqual({ segment: 4 });
    expect(delta.maxPerObjectByType).toEqual({ segment: 1 });
  });

  it("classifies viewer URLs of both systems", () => {
    expect(classifyViewerUrl("http://127.0.0.1:1/live/abcdefgh/master.m3u8")).toBe("master");
    expect(classifyViewerUrl("http://127.0.0.1:1/live/abcdefgh/360p/index.m3u8")).toBe("media");
    expect(classifyViewerUrl("http://127.0.0.1:1/live/abcdefgh/360p/init-k1-0.mp4")).toBe("init");
    expect(classifyViewerUrl("http://127.0.0.1:1/live/abcdefgh/360p/k1-12.m4s")).toBe("segment");
    expect(classifyViewerUrl("http://127.0.0.1:1/live/abcdefgh/360p/k1-p12.m4s")).toBe("part");
    expect(classifyViewerUrl("http://127.0.0.1:1/live/abcdefgh/360p/index.m3u8?_HLS_msn=4&_HLS_part=1")).toBe("blocking");
    expect(classifyViewerUrl("http://127.0.0.1:1/hls/bench_360p/12.ts")).toBe("segment");
  });
});

describe("wrk output", () => {
  const output = `Running 10s test @ http://127.0.0.1:48182/hls/bench_360p/7.ts
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.51ms    1.02ms  25.10ms   90.00%
    Req/Sec    12.80k     1.10k   14.00k    70.00%
  Latency Distribution
     50%    2.40ms
     75%    2.90ms
     90%    3.50ms
     99%  812.00us
  127345 requests in 10.00s, 26.60GB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  12734.50
Transfer/sec:      2.66GB
`;

  it("parses durations in any unit", () => {
    expect(parseWrkDuration("812.00us")).toBeCloseTo(0.812);
    expect(parseWrkDuration("2.40ms")).toBe(2.4);
    expect(parseWrkDuration("1.5s")).toBe(1500);
    expect(parseWrkDuration("?")).toBeNull();
  });

  it("reads requests/s, p50/p99, errors and transfer", () => {
    const r = parseWrkOutput(output);
    expect(r.requests).toBe(127345);
    expect(r.rps).toBe(12734.5);
    expect(r.p50).toBe(2.4);
    expect(r.p99).toBeCloseTo(0.812);
    expect(r.errors).toBe(3);
    expect(r.non2xx).toBe(4);
    expect(r.bytesPerSec).toBeCloseTo(2.66 * 1024 ** 3);
    expect(() => parseWrkOutput("nothing")).toThrow(/cannot parse/);
  });
});

describe("frame-number barcode", () => {
  function paint(n: number, width: number, height: number): Uint8ClampedArray {
    const rgba = new Uint8ClampedArray(width * height * 4).fill(90); // mid-grey picture
    const cells = barcode.cells(width, height);
    let ones = 0;
    const fill = (i: number, white: boolean) => {
      const c = cells[i]!;
      for (let y = c.y; y < c.y + c.h; y++)
        for (let x = c.x; x < c.x + c.w; x++) rgba.fill(white ? 235 : 16, (y * width + x) * 4, (y * width + x) * 4 + 3);
    };
    fill(0, true);
    fill(1, false);
    for (let i = 0; i < barcode.BITS; i++) {
      const bit = Math.floor(n / 2 ** i) % 2 === 1;
      if (bit) ones++;
      fill(2 + i, bit);
    }
    fill(2 + barcode.BITS, ones % 2 === 1);
    return rgba;
  }

  it("reads back the frame number it encodes, at any size", () => {
    for (const [w, h] of [
      [640, 360],
      [320, 180],
      [426, 240],
    ] as const) {
      for (const n of [0, 1, 29, 1800, 123_456, 2 ** barcode.BITS - 1]) expect(barcode.decode(paint(n, w, h), w, h)).toBe(n);
    }
  });

  it("refuses a frame without the barcode or with a wrong parity", () => {
    expect(barcode.decode(new Uint8ClampedArray(320 * 180 * 4).fill(90), 320, 180)).toBeNull();
    const bad = paint(5, 320, 180);
    const c = barcode.sampleRect(2 + barcode.BITS, 320, 180);
    for (let y = c.y; y < c.y + c.h; y++) for (let x = c.x; x < c.x + c.w; x++) bad.fill(235, (y * 320 + x) * 4, (y * 320 + x) * 4 + 3);
    expect(barcode.decode(bad, 320, 180)).toBeNull();
  });

  it("draws the same cells as an FFmpeg drawbox chain keyed on the frame counter", () => {
    const filter = barcode.ffmpegFilter(640, 360);
    expect(filter.split(",drawbox=").length).toBe(2 + barcode.BITS + 1);
    expect(filter).toContain(":enable='mod(floor(n/1),2)'");
    expect(filter).toContain(`:enable='mod(floor(n/${2 ** (barcode.BITS - 1)}),2)'`);
  });
});

describe("bench options", () => {
  it("defaults to every phase at full size, and --smoke shrinks it", () => {
    const full = parseOptions([], "/out");
    expect(full.phases).toEqual(["latency", "offload", "colos", "sync", "edge-hit", "fanout", "scale"]);
    // the multi-colo phase: at least 20 colos in 3 regions, in smoke too
    expect(full.colos).toBeGreaterThanOrEqual(20);
    expect(full.viewers).toEqual([10, 100, 1000]);
    expect(full.latencySeconds).toBe(60);
    expect(full.install).toBe(true);
    const smoke = parseOptions(["--smoke"], "/out");
    expect(smoke.viewers).toEqual([20]);
    expect(smoke.install).toBe(false);
    expect(smoke.colos).toBeGreaterThanOrEqual(20);
    expect(smoke.coloSeconds).toBeLessThan(full.coloSeconds);
  });

  it("takes sub-commands and numeric flags, and refuses unknown ones", () => {
    const o = parseOptions(["latency", "edge-hit", "--latency-seconds", "30", "--viewers", "5,50", "--no-peer"], "/out");
    expect(o.phases).toEqual(["latency", "edge-hit"]);
    expect(o.latencySeconds).toBe(30);
    expect(o.viewers).toEqual([5, 50]);
    expect(o.peer).toBe("off");
    expect(() => parseOptions(["sideways"], "/out")).toThrow(/unknown sub-command/);
    expect(() => parseOptions(["--bogus"], "/out")).toThrow(/unknown option/);
    expect(() => parseOptions(["--viewers", "0"], "/out")).toThrow(/positive/);
  });
});
