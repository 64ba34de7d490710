/** `npm run bench -- [latency|offload|colos|sync|edge-hit|fanout|scale ...] [--smoke] [--flags]`. Pure parsing. */

export const PHASES = ["latency", "offload", "colos", "sync", "edge-hit", "fanout", "scale"] as const;
export type Phase = (typeof PHASES)[number];

export interface BenchOptions {
  phases: Phase[];
  smoke: boolean;
  /** Run the nginx peer: "auto" = when installed (smoke) / install it (full). */
  peer: "auto" | "off";
  install: boolean;
  ladder: string;
  preset: string;
  sourceWidth: number;
  sourceHeight: number;
  frameRate: number;
  latencySeconds: number;
  warmupSeconds: number;
  viewers: number[];
  offloadSeconds: number;
  rampSeconds: number;
  syncViewers: number;
  syncJoinSeconds: number;
  syncTabs: number;
  syncTabJoinSeconds: number;
  /** Simulated viewers keep playing this long after the last may have joined. */
  syncTailSeconds: number;
  /** Tabs settle this long once all show a frame (watch page with sync: until all are locked). */
  syncSettleSeconds: number;
  /** Longest wait for every sync-controlled tab to report "locked". */
  syncLockTimeoutSeconds: number;
  syncRounds: number;
  hitSeconds: number;
  hitConnections: number;
  fanoutSockets: number;
  fanoutUpdates: number;
  peerPlaylistTtl: number;
  /** PART_DURATION_MS for our origin in the main run; null: the origin's default. */
  partMs: number | null;
  /**
   * Part durations (ms) compared in an extra latency pass after the main
   * phases: our stacks side by side, one per value plus one at the main run's
   * part, on one source, LL-HLS watch page tabs only. Empty: no such pass.
   */
  comparePartMs: number[];
  /** Multi-colo phase: simulated colos (round-robin over 3 regions), viewers spread over them, seconds. */
  colos: number;
  coloViewers: number;
  coloSeconds: number;
  /** Offload: share of viewers (%) that play standard HLS (whole segments) on the same playlists. */
  offloadStandardPct: number;
  /** Offload: one more run at this size with every viewer of ours playing standard HLS, as the peer's (0: none). */
  offloadStandardViewers: number;
  /** Offload: our viewers through wrangler dev's proxy, or straight to the user Worker's workerd socket. */
  offloadVia: "proxy" | "direct";
  /** nginx tiers also serve stale while one request refreshes (proxy_cache_use_stale updating). */
  peerStaleUpdating: boolean;
  portOffset: number;
  outDir: string;
}

const FULL: Omit<BenchOptions, "phases" | "smoke" | "outDir"> = {
  peer: "auto",
  install: true,
  ladder: "360p:640x360:800k,180p:320x180:250k",
  preset: "veryfast",
  sourceWidth: 640,
  sourceHeight: 360,
  frameRate: 30,
  latencySeconds: 60,
  warmupSeconds: 10,
  viewers: [10, 100, 1000],
  offloadSeconds: 45,
  rampSeconds: 2,
  syncViewers: 50,
  syncJoinSeconds: 30,
  syncTabs: 5,
  syncTabJoinSeconds: 10,
  syncTailSeconds: 8,
  syncSettleSeconds: 6,
  syncLockTimeoutSeconds: 40,
  syncRounds: 5,
  hitSeconds: 10,
  hitConnections: 32,
  fanoutSockets: 1000,
  fanoutUpdates: 20,
  peerPlaylistTtl: 2,
  peerStaleUpdating: false,
  partMs: null,
  comparePartMs: [200],
  offloadStandardPct: 10,
  offloadVia: "direct",
  offloadStandardViewers: 1000,
  colos: 24,
  coloViewers: 48,
  coloSeconds: 30,
  portOffset: 0,
};

const SMOKE: Partial<BenchOptions> = {
  install: false,
  latencySeconds: 4,
  warmupSeconds: 1,
  viewers: [20],
  offloadSeconds: 6,
  rampSeconds: 1,
  syncViewers: 10,
  syncJoinSeconds: 3,
  syncTabs: 2,
  syncTabJoinSeconds: 0,
  syncTailSeconds: 4,
  syncSettleSeconds: 1,
  syncLockTimeoutSeconds: 4,
  syncRounds: 2,
  hitSeconds: 1,
  hitConnections: 8,
  fanoutSockets: 50,
  fanoutUpdates: 3,
  comparePartMs: [],
  colos: 21,
  coloViewers: 21,
  coloSeconds: 6,
};

const NUMERIC: Array<keyof BenchOptions> = [
  "sourceWidth",
  "sourceHeight",
  "frameRate",
  "latencySeconds",
  "warmupSeconds",
  "offloadSeconds",
  "rampSeconds",
  "syncViewers",
  "syncJoinSeconds",
  "syncTabs",
  "syncTabJoinSeconds",
  "syncTailSeconds",
  "syncSettleSeconds",
  "syncLockTimeoutSeconds",
  "syncRounds",
  "hitSeconds",
  "hitConnections",
  "fanoutSockets",
  "fanoutUpdates",
  "peerPlaylistTtl",
  "offloadStandardPct",
  "offloadStandardViewers",
  "portOffset",
  "colos",
  "coloViewers",
  "coloSeconds",
];

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

export function usage(): string {
  return [
    "usage: npm run bench -- [latency|offload|colos|sync|edge-hit|fanout|scale ...] [--smoke] [options]",
    "  --smoke                 short CI run (20 viewers; peer only if nginx is already installed; no apt-get)",
    "  --no-peer               our system only",
    "  --no-install            never apt-get install nginx/libnginx-mod-rtmp/wrk",
    "  --peer-stale-updating   nginx tiers add proxy_cache_use_stale updating (coalesces playlist refreshes)",
    "  --viewers 10,100,1000   offload scales",
    "  --part-ms MS            PART_DURATION_MS of our origin (default: the origin's own)",
    "  --offload-via direct    offload: our viewers straight to the user Worker's workerd (default) or through wrangler dev's proxy",
    "  --compare-part-ms 200   extra latency pass: LL-HLS at the main part and at each of these (ms), stacks side by side; 0 = none",
    `  ${NUMERIC.map((k) => `--${kebab(k)} N`).join(" ")}`,
    "  --ladder SPEC --preset X264PRESET --out DIR",
  ].join("\n");
}

export function parseOptions(argv: readonly string[], defaultOutDir: string): BenchOptions {
  const smoke = argv.includes("--smoke");
  const options: BenchOptions = { ...FULL, ...(smoke ? SMOKE : {}), phases: [], smoke, outDir: defaultOutDir };
  const phases: Phase[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = () => {
      const value = argv[++i];
      if (value === undefined) throw new Error(`${arg} needs a value\n${usage()}`);
      return value;
    };
    if (arg === "--smoke") continue;
    if (arg === "--no-peer") options.peer = "off";
    else if (arg === "--no-install") options.install = false;
    else if (arg === "--peer-stale-updating") options.peerStaleUpdating = true;
    else if (arg === "--viewers") {
      options.viewers = next()
        .split(",")
        .map((v) => Number(v));
      if (options.viewers.some((v) => !Number.isInteger(v) || v < 1)) throw new Error("--viewers wants positive integers");
    } else if (arg === "--part-ms") {
      options.partMs = partMs(next(), arg);
    } else if (arg === "--compare-part-ms") {
      const value = next();
      options.comparePartMs = value === "0" || value === "none" ? [] : value.split(",").map((v) => partMs(v, arg));
    } else if (arg === "--ladder") options.ladder = next();
    else if (arg === "--offload-via") {
      const via = next();
      if (via !== "proxy" && via !== "direct") throw new Error("--offload-via wants proxy or direct");
      options.offloadVia = via;
    } else if (arg === "--preset") options.preset = next();
    else if (arg === "--out") options.outDir = next();
    else if (arg.startsWith("--")) {
      const key = NUMERIC.find((k) => `--${kebab(k)}` === arg);
      if (!key) throw new Error(`unknown option ${arg}\n${usage()}`);
      const value = Number(next());
      if (!Number.isFinite(value) || value < 0) throw new Error(`${arg} wants a non-negative number`);
      (options as unknown as Record<string, number>)[key] = value;
    } else if ((PHASES as readonly string[]).includes(arg)) phases.push(arg as Phase);
    else throw new Error(`unknown sub-command ${arg}\n${usage()}`);
  }
  options.phases = phases.length ? [...new Set(phases)] : [...PHASES];
  if (options.offloadStandardPct > 100) throw new Error("--offload-standard-pct is a percentage");
  return options;
}

/** The origin accepts 100-2000 ms (origin/config.ts). */
function partMs(value: string, flag: string): number {
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 100 || ms > 2000) throw new Error(`${flag} wants whole milliseconds from 100 to 2000`);
  return ms;
}
