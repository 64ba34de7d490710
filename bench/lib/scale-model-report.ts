/**
 * The scale model as markdown (bench/results/scale-model.md): its inputs
 * with where each comes from, the object rates, every tier against its
 * limit, and the socket fan-out. Pure.
 */
import { SOURCES, fmt, type ScaleInputs, type ScaleReport } from "./scale-model.js";

export function renderScaleModel(report: ScaleReport): string {
  const { inputs: i, media: m, sockets: s } = report;
  const lines: string[] = [];
  lines.push("# Scale model: one live stream and one event's sockets (arithmetic, not measured)", "");
  lines.push("## Inputs", "");
  lines.push("| input | value | from |", "|---|---:|---|");
  const input = (name: keyof ScaleInputs, from: string) => lines.push(`| ${name} | ${fmt(i[name])} | ${from} |`);
  input("viewers", "stated audience");
  input("colos", "stated");
  input("regions", "stated (workers/tiers/regions.ts maps continents to regions)");
  input("renditions", "README: default ladder 720p, 360p, 240p");
  input("audioRenditions", "README, Packaging: one shared audio rendition (its own LL-HLS playlist, parts and blocking reloads)");
  input("partSeconds", "origin PART_DURATION_MS default 333");
  input("segmentSeconds", "origin target duration 2 s, 1 s keyframes");
  input("plainPlaylistMaxAgeSeconds", "mother's Cache-Control on a plain media playlist");
  input("llShare", "share of viewers on LL-HLS (bench default 90 %)");
  input("standardViewerRps", "bench: standard viewers made 1.0-1.24 req/s");
  input("isolateRps", "ASSUMPTION (not documented)");
  input("maxIsolatesPerColo", "ASSUMPTION (not documented)");
  input("durableObjectRps", SOURCES.durableObjectRps);
  input("hibernatableSockets", SOURCES.hibernatableSockets);
  input("sockets", "stated event audience");
  input("shardSockets", "EVENT_SHARD_SOCKETS default");
  input("eventUpdatesPerSecond", "EVENT_POLL_MS 1000");
  input("socketJoinSeconds", "stated (kick-off)");
  input("planRefreshSeconds", "workers/rooms/fanout/placement.ts PLAN_TTL_MS");
  input("shardPlanColoCache", "1 = placement.ts shares the plan through the colo's Cache API");
  lines.push("");
  lines.push("## Media: objects per playlist and second", "");
  lines.push(
    `${m.rates.playlists} playlists; each second per playlist: ${fmt(m.rates.partsPerSecond)} parts, ${fmt(m.rates.blockingAnswersPerSecond)} blocking playlist answers, ${fmt(m.rates.segmentsPerSecond)} segments, ${fmt(m.rates.plainRefreshesPerSecond)} plain playlist refreshes per cache (init and master: once). A viewer makes ${fmt(m.viewerRps)} requests/s on average.`,
    "",
  );
  lines.push(
    `At ${fmt(i.viewers)} viewers: ${fmt(m.activeColos)} colos with viewers (${fmt(m.viewersPerColo)} each, ${fmt(m.colosPerRegion)} per region), ${m.isolatesPerColo} isolates per colo; viewers ask the edge ${fmt(m.edgeRps)} requests/s in all; each colo sends its relay ${fmt(m.coloToRelayRps)} requests/s.`,
    "",
  );
  lines.push("## Media: requests per second on each tier", "");
  lines.push(
    "| tier | instance | instances | req/s per instance | limit | share of limit | audience at which one instance passes its limit | note |",
  );
  lines.push("|---|---|---:|---:|---:|---:|---:|---|");
  for (const t of report.tiers) {
    const share = t.limitRps ? `${fmt((t.rpsPerInstance / t.limitRps) * 100)} %` : "—";
    const limit = t.limitRps ? `${fmt(t.limitRps)} (${t.limitSource})` : t.limitSource;
    const audience = t.limitRps ? (t.audienceAtLimit === null ? "never" : fmt(t.audienceAtLimit)) : "—";
    lines.push(
      `| ${t.tier} | ${t.instance} | ${fmt(t.instances)} | ${fmt(t.rpsPerInstance)} | ${limit} | ${share} | ${audience} | ${t.note} |`,
    );
  }
  lines.push("");
  lines.push("How the relay's figures depend on the assumed isolate capacity (isolates per colo follow from it):", "");
  lines.push(
    "| isolate capacity (req/s) | isolates per colo | req/s per relay | audience at which a relay passes its limit |",
    "|---:|---:|---:|---:|",
  );
  for (const r of report.relaySensitivity) {
    const capacity = r.isolateRps >= 1e9 ? "unbounded (1 isolate per colo)" : fmt(r.isolateRps);
    lines.push(
      `| ${capacity} | ${r.isolatesPerColo} | ${fmt(r.relayRps)} | ${r.audienceAtLimit === null ? "never" : fmt(r.audienceAtLimit)} |`,
    );
  }
  lines.push("");
  lines.push("## Sockets: one event", "");
  lines.push(
    `${fmt(s.sockets)} sockets over ${s.shards} shards (${fmt(s.socketsPerShard)} each, at most ${fmt(i.hibernatableSockets)} per object): the room pushes ${fmt(s.roomPushesPerSecond)} frames/s to its shards; while the audience joins (${fmt(s.sockets / i.socketJoinSeconds)} sockets/s) the room answers ${fmt(s.roomPlanRps)} shard-plan requests/s and each shard takes ${fmt(s.shardRpsDuringJoin)} requests/s.`,
    "",
  );
  lines.push("| fan-out | smallest socket audience at which one object passes a limit | limit |", "|---|---:|---|");
  for (const a of report.socketAudienceAtLimit)
    lines.push(`| ${a.shardedBy} | ${a.audience === null ? "no limit reached" : fmt(a.audience)} | ${a.why} |`);
  lines.push("");
  return lines.join("\n");
}
