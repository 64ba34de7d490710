/**
 * The classic open peer, as one nginx.conf (pure: rendered from options, so
 * it is unit-tested): nginx-rtmp writing HLS (MPEG-TS, `hls_variant` master
 * playlist) behind two nginx `proxy_cache` tiers with `proxy_cache_lock`, the
 * classic mother/child arrangement of NGINX caches.
 *
 *   rtmp  :rtmpPort   app "src" (the test source, pulled by the peer's ladder
 *                     FFmpeg) and app "hls" (the ladder, hls on)
 *   http  :originPort origin tier: serves hls_path, Cache-Control: no-cache,
 *                     access log in the `bench_origin` format (offload counts)
 *   http  :motherPort mother tier: proxy_cache + lock, rewrites Cache-Control
 *                     (master long, media playlist ~2 s, segments long)
 *   http  :childPort  child tier: proxy_cache + lock, honours the mother's
 *                     Cache-Control; what viewers hit
 *
 * Every listener is on 127.0.0.1; pid, logs, temp and cache paths are in the
 * bench's own directory. No `exec`: transcoding is done by an FFmpeg the bench
 * starts, like our origin does.
 */

export interface PeerVariant {
  /** Stream-name suffix, e.g. "_360p" (the ladder ffmpeg publishes <stream><suffix>). */
  suffix: string;
  bandwidth: number;
  width: number;
  height: number;
  frameRate: number;
}

export interface NginxConfOptions {
  /** Directory for pid, logs, temp files, caches and HLS output (absolute). */
  dir: string;
  modulePath: string;
  rtmpPort: number;
  originPort: number;
  motherPort: number;
  childPort: number;
  variants: PeerVariant[];
  /** Seconds; design: 2 s segments. */
  fragmentSeconds?: number;
  /** Seconds of playlist (8 s by default). */
  playlistSeconds?: number;
  /** Media playlist TTL of the cache tiers in seconds (default: about one segment, 2 s). */
  mediaPlaylistTtl?: number;
  /** Master playlist TTL (long). */
  masterTtl?: number;
  /** Segment TTL (long). */
  segmentTtl?: number;
  workerProcesses?: number;
  /**
   * Adds `updating` to proxy_cache_use_stale. proxy_cache_lock only coalesces
   * the fill of a *new* cache element: when a cached media playlist expires,
   * every request that arrives before the refresh completes goes upstream.
   * With `updating`, one request refreshes while the others get the stale
   * copy. Off by default (the default peer: proxy_cache_lock + TTLs).
   */
  staleWhileUpdating?: boolean;
}

/** nginx wants paths without quotes unless they contain spaces; we refuse those. */
function safePath(path: string): string {
  if (!/^\/[A-Za-z0-9._\/+-]+$/.test(path)) throw new Error(`unsafe path for nginx.conf: ${path}`);
  return path.replace(/\/+$/, "");
}

function port(value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 65535) throw new Error(`bad port ${value}`);
  return value;
}

export function renderNginxConf(o: NginxConfOptions): string {
  const dir = safePath(o.dir);
  const modulePath = safePath(o.modulePath);
  const fragment = o.fragmentSeconds ?? 2;
  const playlist = o.playlistSeconds ?? 8;
  const mediaTtl = o.mediaPlaylistTtl ?? 2;
  const masterTtl = o.masterTtl ?? 86_400;
  const segmentTtl = o.segmentTtl ?? 31_536_000;
  const ports = [o.rtmpPort, o.originPort, o.motherPort, o.childPort].map(port);
  if (new Set(ports).size !== ports.length) throw new Error("nginx ports must be distinct");
  if (o.variants.length === 0) throw new Error("at least one variant");
  for (const v of o.variants) {
    if (!/^_[a-z0-9_]{1,16}$/.test(v.suffix)) throw new Error(`bad variant suffix ${v.suffix}`);
  }
  const variants = o.variants
    .map(
      (v) =>
        `      hls_variant ${v.suffix} BANDWIDTH=${Math.round(v.bandwidth)},RESOLUTION=${v.width}x${v.height},FRAME-RATE=${v.frameRate.toFixed(3)};`,
    )
    .join("\n");

  // The mother's policy, by URL shape of nginx-rtmp's nested output:
  //   /hls/<name>.m3u8               master (hls_variant)
  //   /hls/<name><suffix>/index.m3u8 media playlist
  //   /hls/<name><suffix>/<n>.ts     segment
  // add_header in a location replaces every add_header of the server level,
  // so each location carries the full set.
  const tierLocations = (cacheZone: string, rewrite: boolean, upstream: string, headers: string[]) => {
    const common = [
      `proxy_pass http://${upstream};`,
      `proxy_http_version 1.1;`,
      `proxy_set_header Connection "";`,
      `proxy_cache ${cacheZone};`,
      `proxy_cache_key $uri;`,
      `proxy_cache_lock on;`,
      `proxy_cache_lock_timeout 5s;`,
      `proxy_cache_lock_age 5s;`,
      `proxy_cache_use_stale ${o.staleWhileUpdating ? "updating " : ""}error timeout http_500 http_502 http_503 http_504;`,
      `proxy_cache_valid 404 1s;`,
    ];
    const block = (pattern: string, ttl: number, cacheControl: string) => {
      const lines = [...common, ...headers];
      if (rewrite) {
        // The mother overrides the origin's no-cache, like our HlsMother.
        lines.push(
          `proxy_ignore_headers Cache-Control Expires Set-Cookie;`,
          `proxy_hide_header Cache-Control;`,
          `proxy_cache_valid 200 ${ttl}s;`,
          `add_header Cache-Control "${cacheControl}";`,
        );
      } else {
        // The child honours the mother's Cache-Control (the fallback only applies without one).
        lines.push(`proxy_cache_valid 200 ${ttl}s;`);
      }
      return [`    location ~ ${pattern} {`, ...lines.map((l) => `      ${l}`), `    }`].join("\n");
    };
    return [
      block(`^/hls/[^/]+\\.m3u8$`, masterTtl, `public, max-age=${masterTtl}`),
      block(`^/hls/[^/]+/index\\.m3u8$`, mediaTtl, `public, max-age=${mediaTtl}`),
      block(`^/hls/[^/]+/[^/]+\\.ts$`, segmentTtl, `public, max-age=${segmentTtl}, immutable`),
      `    location / { return 404; }`,
    ].join("\n");
  };

  return `# Rendered by bench/peer/nginx-conf.ts; do not edit by hand.
load_module ${modulePath};
daemon off;
master_process on;
worker_processes ${o.workerProcesses ?? 1};
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;

events {
  worker_connections 8192;
}

rtmp {
  server {
    listen 127.0.0.1:${ports[0]};
    chunk_size 4096;

    # The test source publishes here; the peer's ladder FFmpeg pulls it.
    application src {
      live on;
      record off;
      allow publish 127.0.0.1;
      deny publish all;
      allow play 127.0.0.1;
      deny play all;
    }

    # The ladder publishes <name><suffix>; nginx-rtmp writes MPEG-TS HLS.
    application hls {
      live on;
      record off;
      allow publish 127.0.0.1;
      deny publish all;
      deny play all;
      hls on;
      hls_path ${dir}/hls;
      hls_nested on;
      hls_fragment ${fragment}s;
      hls_playlist_length ${playlist}s;
      hls_cleanup on;
${variants}
    }
  }
}

http {
  default_type application/octet-stream;
  types {
    application/vnd.apple.mpegurl m3u8;
    video/mp2t ts;
  }
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65;
  keepalive_requests 1000000;
  server_tokens off;
  access_log off;
  client_body_temp_path ${dir}/temp/client;
  proxy_temp_path ${dir}/temp/proxy;
  fastcgi_temp_path ${dir}/temp/fastcgi;
  uwsgi_temp_path ${dir}/temp/uwsgi;
  scgi_temp_path ${dir}/temp/scgi;

  # One line per origin request: what the offload figures are counted from.
  log_format bench_origin '$msec "$request_uri" $status $body_bytes_sent';
  log_format bench_tier '$msec "$request_uri" $status $body_bytes_sent $upstream_cache_status';

  proxy_cache_path ${dir}/cache/mother levels=1:2 keys_zone=mother:16m max_size=2g inactive=10m use_temp_path=off;
  proxy_cache_path ${dir}/cache/child levels=1:2 keys_zone=child:16m max_size=2g inactive=10m use_temp_path=off;

  # Which tier answered, with the names our X-Cache-Tier uses.
  map $upstream_cache_status $bench_mother_tier {
    HIT mother-hit;
    STALE mother-stale;
    UPDATING mother-stale;
    default origin;
  }
  map $upstream_cache_status $bench_child_tier {
    HIT edge-hit;
    default $upstream_http_x_cache_tier;
  }

  upstream peer_origin {
    server 127.0.0.1:${ports[1]};
    keepalive 64;
  }
  upstream peer_mother {
    server 127.0.0.1:${ports[2]};
    keepalive 64;
  }

  # Origin tier: the media server's HTTP side.
  server {
    listen 127.0.0.1:${ports[1]};
    access_log ${dir}/logs/origin-access.log bench_origin;
    location /hls/ {
      alias ${dir}/hls/;
      add_header Cache-Control no-cache;
    }
    location / { return 404; }
  }

  # Mother tier.
  server {
    listen 127.0.0.1:${ports[2]};
    access_log ${dir}/logs/mother-access.log bench_tier;
${tierLocations("mother", true, "peer_origin", ["add_header X-Cache-Tier $bench_mother_tier always;"])}
  }

  # Child tier: what viewers hit.
  server {
    listen 127.0.0.1:${ports[3]};
    access_log ${dir}/logs/child-access.log bench_tier buffer=256k flush=1s;
    proxy_hide_header X-Cache-Tier;
${tierLocations("child", false, "peer_mother", [
  "add_header X-Cache-Tier $bench_child_tier always;",
  "add_header Access-Control-Allow-Origin * always;",
  'add_header Access-Control-Expose-Headers "X-Cache-Tier, Age, Content-Length, Content-Type" always;',
])}
  }
}
`;
}
