/**
 * The media tiers with simulated colos (X-Dev-Colo / X-Dev-Region, on in the
 * local stack): viewers in four colos of two regions pull the same live edge.
 * The origin sees each object once, the mother at most once per region.
 */
import type { MediaPlaylist } from "hls-parser/types.js";
import { afterAll, describe, expect, inject, it } from "vitest";
import { startTestSource, type TestSource } from "../../origin/tools/test-source.js";
import { createStream, eventually, fetchText, originMetrics, parsePlaylist, signedGet } from "./helpers.js";

const COLOS = [
  { colo: "fra", region: "eu" },
  { colo: "ams", region: "eu" },
  { colo: "iad", region: "na" },
  { colo: "sjc", region: "na" },
];
const VIEWERS_PER_COLO = 5;

describe("two regions, four colos", () => {
  const edge = inject("edgeUrl");
  let source: TestSource | undefined;
  afterAll(async () => {
    await source?.stop();
  });

  it("the origin sees every object once and the mother at most once per region", async () => {
    const stream = await createStream("tiers");
    source = startTestSource({ rtmpUrl: stream.ingestUrl, width: 320, height: 180, durationSec: 60 });
    const master = await eventually(
      async () => {
        const r = await fetchText(`${edge}/live/${stream.streamId}/master.m3u8`);
        return r.status === 200 ? r.text : undefined;
      },
      40_000,
      "the master playlist",
    );
    const rendition = /^(\S+)\/index\.m3u8$/m.exec(master)![1]!;
    const base = `${edge}/live/${stream.streamId}/${rendition}/`;
    const { text } = await fetchText(`${base}index.m3u8`);
    const playlist = parsePlaylist(text) as MediaPlaylist;
    const lastMsn = playlist.mediaSequenceBase! + playlist.segments.length - 1;
    const parts = [...text.matchAll(/#EXT-X-PART:[^\n]*URI="([^"]+)"/g)].map((m) => m[1]!).slice(-4);
    const objects = [
      ...playlist.segments.slice(-2).map((s) => s.uri),
      ...parts,
      `index.m3u8?_HLS_msn=${lastMsn + 1}`, // held until the open segment completes
    ];

    const relayBefore = await Promise.all(
      ["eu", "na"].map((region) => signedGet<{ motherRequests: number }>(`/api/internal/relay/${stream.streamId}/${region}/stats`)),
    );
    const motherBefore = await signedGet<{ requests: number }>(`/api/internal/mother/${stream.streamId}/stats`);
    const tiers: Record<string, number> = {};

    await Promise.all(
      COLOS.flatMap(({ colo, region }) =>
        Array.from({ length: VIEWERS_PER_COLO }, async () => {
          for (const object of objects) {
            const r = await fetch(base + object, { headers: { "X-Dev-Colo": colo, "X-Dev-Region": region } });
            expect(r.status, object).toBe(200);
            await r.arrayBuffer();
            const tier = r.headers.get("x-cache-tier") ?? "none";
            tiers[tier] = (tiers[tier] ?? 0) + 1;
          }
        }),
      ),
    );
    console.log(`tiers over ${COLOS.length * VIEWERS_PER_COLO * objects.length} viewer requests: ${JSON.stringify(tiers)}`);

    const metrics = await originMetrics();
    for (const type of ["segment", "part", "blocking"]) {
      expect(metrics.get(`origin_hls_max_fetches_per_object{type="${type}"}`), type).toBe(1);
    }
    const mother = await signedGet<{ requests: number }>(`/api/internal/mother/${stream.streamId}/stats`);
    const relays = await Promise.all(
      ["eu", "na"].map((region) => signedGet<{ motherRequests: number }>(`/api/internal/relay/${stream.streamId}/${region}/stats`)),
    );
    // each object reached the mother at most once from each region's relay
    relays.forEach((relay, i) => expect(relay.motherRequests - relayBefore[i]!.motherRequests).toBeLessThanOrEqual(objects.length));
    expect(mother.requests - motherBefore.requests).toBeLessThanOrEqual(2 * objects.length);
    // mostly answered by the edge's own tiers (its memory, its cache, a call it had already made): about one
    // request per colo and object goes further
    const edgeAnswered = (tiers["edge-memory"] ?? 0) + (tiers["edge-hit"] ?? 0) + (tiers["edge-coalesced"] ?? 0);
    expect(edgeAnswered / (COLOS.length * VIEWERS_PER_COLO * objects.length)).toBeGreaterThanOrEqual(0.7);
  });
});
