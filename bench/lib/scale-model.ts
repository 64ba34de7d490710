/**
 * The scale model: pure arithmetic on what one live stream (and one sports
 * event's sockets) asks of each tier at Internet scale. No measurement: every
 * input is stated in `DEFAULT_SCALE_INPUTS` (with where it comes from) and can
 * be overridden (bench/scale-model.ts takes them as flags).
 *
 * Media, per rendition and second (LL-HLS as the origin packages it):
 *   parts            1 / part duration
 *   blocking answers 1 / part duration (one canonical _HLS_msn/_HLS_part answer per part)
 *   segments         1 / segment duration
 *   plain playlists  1 / the plain playlist's max-age (each cache refreshes it)
 *
 * Tiers (workers/edge.ts): an isolate's hot tier and coalescer absorb every
 * viewer request but the first per object; the colo's Cache API neither
 * coalesces nor shows an entry before `put` completes, so for a live-edge
 * object (a part or a blocking answer, wanted by every isolate at the same
 * moment) every active isolate of every colo reaches the region's relay; a
 * segment or a plain playlist, wanted later or refreshed on a clock, reaches
 * it about once per colo. The relay (one Durable Object per stream and
 * region) coalesces its region: the mother sees each object once per region;
 * the origin once.
 *
 * Isolates per colo are not documented by Cloudflare: the model assumes a colo
 * runs as many as its request rate needs at `isolateRps` each, up to
 * `maxIsolatesPerColo`. These two are assumptions; the rest are the product's
 * defaults or documented limits.
 */

export interface ScaleInputs {
  viewers: number;
  colos: number;
  regions: number;
  /** Video renditions of the ladder (README: default ladder 720p, 360p, 240p). */
  renditions: number;
  /** Separate audio renditions (the packager writes one shared audio rendition; 0 = audio muxed into each video rendition). */
  audioRenditions: number;
  /** origin/config.ts PART_DURATION_MS default. */
  partSeconds: number;
  /** origin/config.ts targetDuration (2 s) with 1 s keyframes: segments close at 2 s. */
  segmentSeconds: number;
  /** The mother writes max-age=1 on a plain media playlist. */
  plainPlaylistMaxAgeSeconds: number;
  /** Share of viewers playing LL-HLS (the rest standard HLS, whole segments). */
  llShare: number;
  /** Requests/s one standard-HLS viewer makes (a segment and a playlist reload per segment ≈ 1; the bench measured 1.0-1.24). */
  standardViewerRps: number;
  /** ASSUMPTION: requests/s one isolate serves before the colo adds another. */
  isolateRps: number;
  /** ASSUMPTION: most isolates one colo runs for this Worker. */
  maxIsolatesPerColo: number;
  /** Documented soft limit of one Durable Object, requests/s. */
  durableObjectRps: number;
  /** Documented maximum of hibernatable WebSockets on one Durable Object. */
  hibernatableSockets: number;
  /** Event sockets. */
  sockets: number;
  /** EVENT_SHARD_SOCKETS default (0 = every socket on the EventRoom). */
  shardSockets: number;
  /** Frames per second the room pushes (provider changes; EVENT_POLL_MS 1000 polls once a second). */
  eventUpdatesPerSecond: number;
  /** The audience joins over this many seconds (kick-off). */
  socketJoinSeconds: number;
  /** workers/rooms/fanout/placement.ts PLAN_TTL_MS: an isolate placing sockets asks the room's plan at most this often. */
  planRefreshSeconds: number;
  /** 1: the plan is shared through the colo's Cache API (placement.ts), so about one isolate per colo asks the room; 0: every isolate asks. */
  shardPlanColoCache: number;
}

/** Where each documented figure comes from (printed with the table). */
export const SOURCES = {
  durableObjectRps:
    'https://developers.cloudflare.com/durable-objects/platform/limits/ ("An individual Object has a soft limit of 1,000 requests per second"; also the Durable Objects FAQ, https://developers.cloudflare.com/durable-objects/reference/faq/)',
  hibernatableSockets:
    'https://developers.cloudflare.com/durable-objects/api/state/ (acceptWebSocket: "a maximum of 32,768 WebSocket connections per Durable Object")',
} as const;

export const DEFAULT_SCALE_INPUTS: ScaleInputs = {
  viewers: 1_000_000,
  colos: 300,
  regions: 10,
  renditions: 3,
  audioRenditions: 1,
  partSeconds: 0.333,
  segmentSeconds: 2,
  plainPlaylistMaxAgeSeconds: 1,
  llShare: 0.9,
  standardViewerRps: 1,
  isolateRps: 1_000,
  maxIsolatesPerColo: 100,
  durableObjectRps: 1_000,
  hibernatableSockets: 32_768,
  sockets: 100_000,
  shardSockets: 1_000,
  eventUpdatesPerSecond: 1,
  socketJoinSeconds: 60,
  planRefreshSeconds: 1,
  shardPlanColoCache: 1,
};

export interface ObjectRates {
  /** Playlists (video + audio) the stream has. */
  playlists: number;
  partsPerSecond: number;
  blockingAnswersPerSecond: number;
  segmentsPerSecond: number;
  plainRefreshesPerSecond: number;
  /** Per playlist: objects every isolate wants at once (parts + blocking answers). */
  liveEdgePerSecond: number;
  /** Per playlist: objects a colo fetches about once (segments + plain refreshes). */
  perColoPerSecond: number;
}

export function objectRates(i: ScaleInputs): ObjectRates {
  const parts = 1 / i.partSeconds;
  const blocking = 1 / i.partSeconds;
  const segments = 1 / i.segmentSeconds;
  const plain = 1 / i.plainPlaylistMaxAgeSeconds;
  return {
    playlists: i.renditions + i.audioRenditions,
    partsPerSecond: parts,
    blockingAnswersPerSecond: blocking,
    segmentsPerSecond: segments,
    plainRefreshesPerSecond: plain,
    liveEdgePerSecond: parts + blocking,
    perColoPerSecond: segments + plain,
  };
}

/**
 * Requests/s one viewer makes: on LL-HLS a blocking reload and a part per part
 * duration, for the audio playlist too when audio is separate; on standard
 * HLS `standardViewerRps`, twice with a separate audio playlist.
 */
export function viewerRps(i: ScaleInputs): number {
  const playlistsPlayed = i.audioRenditions > 0 ? 2 : 1;
  return i.llShare * ((2 * playlistsPlayed) / i.partSeconds) + (1 - i.llShare) * i.standardViewerRps * playlistsPlayed;
}

export interface TierLoad {
  tier: string;
  /** What one instance is (an isolate, a Durable Object, …). */
  instance: string;
  instances: number;
  /** Requests/s arriving at one instance. */
  rpsPerInstance: number;
  /** Requests/s per instance it may take; null: no documented per-instance limit. */
  limitRps: number | null;
  limitSource: string;
  /** Smallest audience at which one instance passes its limit; null: never (within 10^10). */
  audienceAtLimit: number | null;
  note: string;
}

export interface MediaLoad {
  viewersPerColo: number;
  activeColos: number;
  activeRegions: number;
  colosPerRegion: number;
  isolatesPerColo: number;
  viewerRps: number;
  rates: ObjectRates;
  edgeRps: number;
  /** Cache API lookups/s in one colo (every hot-tier miss of every isolate). */
  cacheLookupsPerColo: number;
  /** Requests/s from one colo to its relay. */
  coloToRelayRps: number;
  relayRps: number;
  motherRps: number;
  originRps: number;
  /** Blocking requests held at once on one relay / on the mother. */
  heldAtRelay: number;
  heldAtMother: number;
}

/** The media load for `viewers` spread evenly over the colos. */
export function mediaLoad(i: ScaleInputs, viewers = i.viewers): MediaLoad {
  const rates = objectRates(i);
  const activeColos = Math.min(i.colos, Math.max(0, Math.ceil(viewers)));
  const activeRegions = Math.min(i.regions, activeColos);
  const viewersPerColo = activeColos ? viewers / activeColos : 0;
  const colosPerRegion = activeRegions ? activeColos / activeRegions : 0;
  const perViewer = viewerRps(i);
  const coloRps = viewersPerColo * perViewer;
  const isolatesPerColo = activeColos ? Math.min(i.maxIsolatesPerColo, Math.max(1, Math.ceil(coloRps / i.isolateRps))) : 0;
  // an isolate only asks for the playlists its viewers watch
  const playlistsPerIsolate = isolatesPerColo ? Math.min(rates.playlists, viewersPerColo / isolatesPerColo) : 0;
  const playlistsPerColo = Math.min(rates.playlists, viewersPerColo);
  const coloToRelayRps = isolatesPerColo * playlistsPerIsolate * rates.liveEdgePerSecond + playlistsPerColo * rates.perColoPerSecond;
  const regionPlaylists = Math.min(rates.playlists, viewersPerColo * colosPerRegion);
  const streamPlaylists = activeColos ? Math.min(rates.playlists, viewers) : 0;
  const perObjectRate = rates.liveEdgePerSecond + rates.perColoPerSecond;
  return {
    viewersPerColo,
    activeColos,
    activeRegions,
    colosPerRegion,
    isolatesPerColo,
    viewerRps: perViewer,
    rates,
    edgeRps: viewers * perViewer,
    cacheLookupsPerColo: isolatesPerColo * playlistsPerIsolate * perObjectRate,
    coloToRelayRps,
    relayRps: colosPerRegion * coloToRelayRps,
    motherRps: activeRegions * regionPlaylists * perObjectRate,
    originRps: streamPlaylists * perObjectRate,
    heldAtRelay: colosPerRegion * isolatesPerColo * playlistsPerIsolate,
    heldAtMother: activeRegions * regionPlaylists,
  };
}

/** Smallest audience in [1, 10^10] at which `rps(audience)` passes `limit` (rates grow with the audience). */
export function audienceAtLimit(rps: (audience: number) => number, limit: number): number | null {
  const max = 1e10;
  if (rps(max) <= limit) return null;
  let lo = 1;
  if (rps(lo) > limit) return lo;
  let hi = 2;
  while (rps(hi) <= limit) {
    lo = hi;
    hi *= 2;
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (rps(mid) > limit) hi = mid;
    else lo = mid;
  }
  return hi;
}

export interface SocketLoad {
  sockets: number;
  shards: number;
  socketsPerShard: number;
  /** Pushes the room sends per second (one per shard per frame). */
  roomPushesPerSecond: number;
  /** Requests/s arriving at the room while the audience joins (isolates asking its shard plan). */
  roomPlanRps: number;
  /** Requests/s arriving at one shard while the audience joins (upgrades + pushes). */
  shardRpsDuringJoin: number;
  /** Sockets on the busiest object (room without shards, else a shard). */
  socketsPerObject: number;
}

export function socketLoad(i: ScaleInputs, sockets = i.sockets): SocketLoad {
  const sharded = i.shardSockets > 0;
  const shards = sharded ? Math.max(1, Math.ceil(sockets / i.shardSockets)) : 0;
  const joinsPerSecond = sockets / i.socketJoinSeconds;
  // every isolate placing sockets asks the plan at most once per PLAN_TTL_MS (sockets spread over every colo's
  // isolates); with the colo's cached copy, about one isolate per colo asks
  const media = mediaLoad(i);
  const askersPerColo = i.shardPlanColoCache ? 1 : Math.max(1, media.isolatesPerColo);
  const placingIsolates = Math.min(joinsPerSecond * i.planRefreshSeconds, i.colos * askersPerColo);
  return {
    sockets,
    shards,
    socketsPerShard: sharded ? sockets / shards : 0,
    roomPushesPerSecond: shards * i.eventUpdatesPerSecond,
    roomPlanRps: sharded ? placingIsolates / i.planRefreshSeconds : joinsPerSecond,
    shardRpsDuringJoin: sharded ? joinsPerSecond / shards + i.eventUpdatesPerSecond : 0,
    socketsPerObject: sharded ? Math.min(sockets, i.shardSockets) : sockets,
  };
}

export interface ScaleReport {
  inputs: ScaleInputs;
  media: MediaLoad;
  sockets: SocketLoad;
  tiers: TierLoad[];
  /** Smallest socket audience at which one object passes a limit, per way of fanning out. */
  socketAudienceAtLimit: { shardedBy: string; audience: number | null; why: string }[];
  /** The relay's figures under other isolate capacities (the assumption they depend on most). */
  relaySensitivity: RelaySensitivity[];
}

export interface RelaySensitivity {
  isolateRps: number;
  isolatesPerColo: number;
  relayRps: number;
  audienceAtLimit: number | null;
}

/** Isolate capacities the relay's figures are also given for. */
export const SENSITIVITY_ISOLATE_RPS = [250, 1_000, 4_000, 20_000, 1e9] as const;

export function relaySensitivity(i: ScaleInputs): RelaySensitivity[] {
  return SENSITIVITY_ISOLATE_RPS.map((isolateRps) => {
    const inputs = { ...i, isolateRps };
    const m = mediaLoad(inputs);
    return {
      isolateRps,
      isolatesPerColo: m.isolatesPerColo,
      relayRps: m.relayRps,
      audienceAtLimit: audienceAtLimit((v) => mediaLoad(inputs, v).relayRps, i.durableObjectRps),
    };
  });
}

const DO_LIMIT = "Durable Object soft limit (doc)";

export function scaleModel(inputs: ScaleInputs = DEFAULT_SCALE_INPUTS): ScaleReport {
  const i = inputs;
  const media = mediaLoad(i);
  const sockets = socketLoad(i);
  const at = (f: (m: MediaLoad) => number, limit: number) => audienceAtLimit((v) => f(mediaLoad(i, v)), limit);
  const tiers: TierLoad[] = [
    {
      tier: "edge isolate (hot tier + coalescer)",
      instance: "isolate",
      instances: media.activeColos * media.isolatesPerColo,
      rpsPerInstance: media.isolatesPerColo ? media.edgeRps / (media.activeColos * media.isolatesPerColo) : 0,
      limitRps: i.isolateRps,
      limitSource: "assumed isolate capacity (not documented)",
      audienceAtLimit: at((m) => (m.isolatesPerColo ? m.edgeRps / (m.activeColos * m.isolatesPerColo) : 0), i.isolateRps),
      note: `viewer requests ${fmt(media.viewerRps)}/s each; colos add isolates up to ${i.maxIsolatesPerColo} (assumed)`,
    },
    {
      tier: "colo Cache API",
      instance: "colo",
      instances: media.activeColos,
      rpsPerInstance: media.cacheLookupsPerColo,
      limitRps: null,
      limitSource: "none documented",
      audienceAtLimit: null,
      note: "lookups after an isolate's hot-tier miss; it does not coalesce, so live-edge misses pass through to the relay",
    },
    {
      tier: "regional relay (HlsRelay DO per stream and region)",
      instance: "Durable Object",
      instances: media.activeRegions,
      rpsPerInstance: media.relayRps,
      limitRps: i.durableObjectRps,
      limitSource: DO_LIMIT,
      audienceAtLimit: at((m) => m.relayRps, i.durableObjectRps),
      note: `${fmt(media.colosPerRegion)} colos × ${media.isolatesPerColo} isolates × live edge ${fmt(media.rates.liveEdgePerSecond)} objects/s per playlist; holds ${fmt(media.heldAtRelay)} blocking requests`,
    },
    {
      tier: "mother (HlsMother DO per stream)",
      instance: "Durable Object",
      instances: media.activeColos ? 1 : 0,
      rpsPerInstance: media.motherRps,
      limitRps: i.durableObjectRps,
      limitSource: DO_LIMIT,
      audienceAtLimit: at((m) => m.motherRps, i.durableObjectRps),
      note: `one request per object per region (${media.activeRegions} regions × ${media.rates.playlists} playlists); holds ${fmt(media.heldAtMother)} blocking requests`,
    },
    {
      tier: "origin",
      instance: "origin box",
      instances: media.activeColos ? 1 : 0,
      rpsPerInstance: media.originRps,
      limitRps: null,
      limitSource: "a Node HTTP server; each object once",
      audienceAtLimit: null,
      note: "independent of the audience once every playlist has a viewer",
    },
  ];
  const socketAt = (f: (s: SocketLoad) => number, limit: number, inputs: ScaleInputs = i) =>
    audienceAtLimit((n) => f(socketLoad(inputs, n)), limit);
  const unsharded = { ...i, shardSockets: 0 };
  return {
    inputs: i,
    media,
    sockets,
    tiers,
    relaySensitivity: relaySensitivity(i),
    socketAudienceAtLimit: [
      {
        shardedBy: "none (every socket on the EventRoom)",
        audience: socketAt((s) => s.socketsPerObject, i.hibernatableSockets, unsharded),
        why: "hibernatable sockets per object",
      },
      {
        shardedBy: `shards of ${i.shardSockets} sockets: pushes from the room`,
        audience: i.shardSockets > 0 ? socketAt((s) => s.roomPushesPerSecond, i.durableObjectRps) : null,
        why: `one push per shard per frame (${i.eventUpdatesPerSecond}/s): outgoing calls, counted against the ~${i.durableObjectRps} req/s as if they cost what a request costs (an assumption)`,
      },
      {
        shardedBy: `shards of ${i.shardSockets} sockets: shard plan asked while the audience joins`,
        audience: i.shardSockets > 0 ? socketAt((s) => s.roomPlanRps, i.durableObjectRps) : null,
        why: `${i.shardPlanColoCache ? "one isolate per colo (the plan is shared through the colo's cache)" : "each isolate placing sockets"} asks the room every ${i.planRefreshSeconds} s; audience joining over ${i.socketJoinSeconds} s`,
      },
    ],
  };
}

/** 3 significant digits, thousands separated. */
export function fmt(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 100 || Number.isInteger(value)) return Math.round(value).toLocaleString("en-US");
  if (abs >= 10) return value.toFixed(1);
  if (abs === 0) return "0";
  return value.toPrecision(3).replace(/\.?0+$/, "");
}
