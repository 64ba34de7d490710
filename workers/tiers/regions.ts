/**
 * Which regional relay serves a colo. Regions are a small map from a
 * continent (request.cf.continent) to a region name, each with the Durable
 * Object location hint its relays are placed with. Locally there is one
 * colo; with DEV_COLO_HEADER on, `X-Dev-Colo: <colo>` and
 * `X-Dev-Region: <region>` stand in so tests and the benchmark can simulate
 * viewers in many colos (each simulated colo also gets its own edge cache).
 */

export interface RegionMap {
  /** continent code → region */
  continents: Record<string, string>;
  /** region → Durable Object locationHint */
  hints: Record<string, DurableObjectLocationHint>;
  fallback: string;
}

export const DEFAULT_REGIONS: RegionMap = {
  continents: { NA: "na", SA: "na", EU: "eu", AF: "eu", AS: "ap", OC: "ap", AN: "ap" },
  hints: { na: "enam", eu: "weur", ap: "apac" },
  fallback: "eu",
};

const NAME = /^[a-z0-9-]{1,32}$/;

export interface Placement {
  colo: string;
  region: string;
  /** True when the colo came from the dev header (the edge keys its caches by colo then). */
  simulated: boolean;
}

export function placementOf(
  request: { headers: Headers; cf?: { colo?: unknown; continent?: unknown } },
  map: RegionMap,
  devHeaders: boolean,
): Placement {
  if (devHeaders) {
    const colo = request.headers.get("X-Dev-Colo")?.toLowerCase();
    const region = request.headers.get("X-Dev-Region")?.toLowerCase();
    if (colo && NAME.test(colo)) {
      return { colo, region: region && NAME.test(region) ? region : map.fallback, simulated: true };
    }
  }
  const colo = typeof request.cf?.colo === "string" ? request.cf.colo.toLowerCase() : "local";
  const continent = typeof request.cf?.continent === "string" ? request.cf.continent.toUpperCase() : "";
  return { colo, region: map.continents[continent] ?? map.fallback, simulated: false };
}
