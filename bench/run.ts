/**
 * `npm run bench`: our system and the classic open peer (nginx-rtmp + nginx
 * proxy_cache mother/child) side by side on this machine, in one run, on the
 * measures the README states (latency, sync, offload, edge hits, fan-out). Prints a markdown table and writes
 * bench/results/latest.md, latest.json and latency.svg.
 *
 *   npm run bench                    full run (installs nginx, the RTMP module and wrk with apt-get when missing)
 *   npm run bench -- --smoke         CI smoke: ~60-80 s, 20 viewers, peer only if nginx is already installed
 *   npm run bench -- latency offload colos sync edge-hit fanout scale   any subset
 *
 * Everything it starts (stack, nginx, FFmpeg, Chromium, servers) is stopped
 * at the end, on error and on Ctrl-C. Only loopback addresses are used.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { resolveFfmpeg } from "../origin/ffmpeg.js";
import { ROOT } from "../scripts/stack.js";
import { CHROMIUM, launchPlayers, startPageServer, type Players } from "./browser.js";
import { describeMachine, describeVersions } from "./lib/machine.js";
import { cleanupAll, installSignalHandlers, takeOverSignals } from "./lib/procs.js";
import { lineChart } from "./lib/svg.js";
import { renderReport, renderTable, type Row } from "./lib/table.js";
import { PHASES, parseOptions, type Phase } from "./options.js";
import { aptInstall, peerInstalled, wrkInstalled } from "./peer/nginx.js";
import type { PhaseContext, PhaseResult } from "./phases/common.js";
import { pickTargets, runEdgeHit, type HitTarget } from "./phases/edge-hit.js";
import { runFanoutPhase } from "./phases/fanout.js";
import { runLatency, runPartComparison, type LatencyRaw } from "./phases/latency.js";
import { runColos } from "./phases/colos.js";
import { runOffload } from "./phases/offload.js";
import { runScale } from "./phases/scale.js";
import { runSync } from "./phases/sync.js";
import { buildStaticFiles } from "../scripts/ensure-static.js";
import { benchPorts, startPartComparison, startSystems, type LowLatencyInfo, type Systems } from "./systems.js";
import { existsSync } from "node:fs";

const log = (m: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}`);

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2), join(ROOT, "bench", "results"));
  installSignalHandlers(log);
  const started = new Date();
  const machineAtStart = describeMachine(); // its load averages are the ones at the start
  const startedMs = Date.now();
  const needsMedia = options.phases.some((p) => p !== "fanout" && p !== "scale");

  // The peer: installed on demand in a full run, used when present in smoke.
  let withPeer = options.peer !== "off" && needsMedia;
  const notes: string[] = [];
  if (withPeer && options.install) {
    const missing = [
      ...(peerInstalled() ? [] : ["nginx", "libnginx-mod-rtmp"]),
      ...(wrkInstalled() || !options.phases.includes("edge-hit") ? [] : ["wrk"]),
    ];
    try {
      aptInstall(missing, log);
    } catch (error) {
      notes.push(`could not install ${missing.join(", ")}: ${(error as Error).message}`);
    }
  }
  if (withPeer && !peerInstalled()) {
    withPeer = false;
    notes.push("peer not run: nginx with libnginx-mod-rtmp is not installed" + (options.smoke ? " (smoke runs never apt-get)" : ""));
  }
  log(`phases: ${options.phases.join(", ")}; ${options.smoke ? "smoke" : "full"} run; peer ${withPeer ? "on" : "off"}`);

  // The pages' bundles and the Worker's module of them, built from this tree as `npm start` does.
  buildStaticFiles();

  const rows: Row[] = [];
  const raw: Record<string, unknown> = {};
  const failures: string[] = [];
  const collect = (phase: Phase, result: PhaseResult) => {
    rows.push(...result.rows);
    notes.push(...result.notes);
    failures.push(...result.failures);
    raw[phase] = result.raw;
  };

  let systems: Systems | undefined;
  let lowLatencySeen: LowLatencyInfo | null = null;
  let players: Players | undefined;
  let playersTried = false;
  try {
    if (needsMedia) {
      systems = await startSystems(options, withPeer, log);
      lowLatencySeen = systems.ours.lowLatency ?? null;
      takeOverSignals();
      const ports = benchPorts(options.portOffset);
      const ctx: PhaseContext = {
        options,
        systems,
        log,
        players: async () => {
          if (!playersTried) {
            playersTried = true;
            if (!existsSync(CHROMIUM)) {
              notes.push(`browser figures not measured: Chromium not found at ${CHROMIUM}`);
            } else {
              players = await launchPlayers(await startPageServer(ROOT, ports.page));
            }
          }
          return players;
        },
      };
      if (options.phases.includes("latency")) collect("latency", await runLatency(ctx));
      if (options.phases.includes("sync")) collect("sync", await runSync(ctx));
      await players?.stop();
      players = undefined;
      if (options.phases.includes("offload")) collect("offload", await runOffload(ctx));
      if (options.phases.includes("colos")) collect("colos", await runColos(ctx));
      if (options.phases.includes("edge-hit")) {
        const targets: HitTarget[] = [];
        for (const s of systems.list) targets.push(...(await pickTargets(s, benchPorts(options.portOffset).edge)));
        // The encoders stop so the hit figures are not shared with x264 (caches keep serving).
        await systems.stopMedia();
        collect("edge-hit", await runEdgeHit(ctx, targets));
      }
      await systems.stopAll();
      systems = undefined;
      if (options.phases.includes("latency") && options.comparePartMs.length > 0) {
        // LL-HLS at the main part and at each compared part: stacks side by side, one source.
        const comparison = await startPartComparison(options, [options.partMs, ...options.comparePartMs], log);
        let partPlayers: Players | undefined;
        try {
          const result = await runPartComparison(
            {
              options,
              log,
              players: async () => {
                partPlayers ??= existsSync(CHROMIUM) ? await launchPlayers(await startPageServer(ROOT, 0)) : undefined;
                return partPlayers;
              },
            },
            comparison,
          );
          // right after the main latency rows
          const after = rows.map((r) => r.group).lastIndexOf("latency");
          rows.splice(after + 1, 0, ...result.rows);
          notes.push(...result.notes);
          failures.push(...result.failures);
          raw["latency by part"] = result.raw;
        } finally {
          await partPlayers?.stop();
          await comparison.stopAll();
        }
      }
    }
    if (options.phases.includes("fanout")) collect("fanout", await runFanoutPhase({ options, log }, ROOT));
    if (options.phases.includes("scale")) collect("scale", runScale(options.outDir, log));
  } catch (error) {
    failures.push(`harness error: ${(error as Error).stack ?? error}`);
  } finally {
    await cleanupAll(log);
  }

  const oursLl = lowLatencySeen;
  const header = {
    title: options.smoke ? "edge-hls-sync bench (smoke)" : "edge-hls-sync bench: ours vs nginx-rtmp + nginx proxy_cache",
    startedAt: started.toISOString(),
    mode: `${options.smoke ? "smoke" : "full"} (${options.phases.join(", ")}), ${((Date.now() - startedMs) / 1000).toFixed(0)} s`,
    machine: {
      ...machineAtStart,
      "load average at end (1/5/15 min)": (await import("node:os"))
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(" "),
    },
    versions: describeVersions(ROOT, resolveFfmpeg(), CHROMIUM, withPeer),
    settings: {
      ladder: `${options.ladder} (same command for both: origin/transcode/ladder-args.ts), x264 ${options.preset}, 1 s GOP, ${options.frameRate} fps`,
      source: `${options.sourceWidth}x${options.sourceHeight} testsrc2 + burnt-in clock + frame barcode, x264 ultrafast 1500k, one encode tee'd to both`,
      segments: `2 s target; ours: CMAF fMP4, 6-segment window, LL-HLS parts (${llSetting(oursLl, options.partMs)}), blocking reload; peer: MPEG-TS, hls_playlist_length 8s, no LL-HLS`,
      "cache TTLs": `ours: mother writes master max-age=86400, plain media playlist max-age=1 (kept about one part), blocking playlist answers max-age=86400 under a canonical key, parts and segments immutable; peer: mother/child proxy_cache_valid master 86400 s, media playlist ${options.peerPlaylistTtl} s, segments 1 y, proxy_cache_lock on${options.peerStaleUpdating ? ", proxy_cache_use_stale updating" : " (no proxy_cache_use_stale updating)"}`,
      player:
        "headless Chromium. Ours LL-HLS: the product's watch page /watch/<id> (web/player: hls.js 1.7 lowLatencyMode + sync controller; ?sync=0 turns the controller off). Ours standard and the peer: the bench player, hls.js { lowLatencyMode: false, liveSyncDurationCount: 2 } (the old watch page's config without LL)",
      viewers: `offload ${options.viewers.join("/")} for ${options.offloadSeconds} s (ramp ${options.rampSeconds} s, ours ${100 - options.offloadStandardPct} % LL-HLS / ${options.offloadStandardPct} % standard); sync ${options.syncViewers} simulated per group joining over ${options.syncJoinSeconds} s; ${options.syncTabs} tabs per group`,
      "part comparison": options.comparePartMs.length
        ? `PART_DURATION_MS ${options.partMs ?? "default"} vs ${options.comparePartMs.join(", ")}: our stacks side by side after the main phases, one source, one watch page tab each`
        : "not run",
    },
  };
  const allNotes = [
    "Latency method (identical for every tab): the source draws its frame number n as a barcode; each player reads the barcode off the frame it is displaying and latency = now − (t0 + n/fps), t0 being the wall clock of frame 0 estimated from FFmpeg's progress reports. This is true glass-to-glass: source encode, RTMP, transcode, packaging, tiers, player buffer. Ours LL-HLS is the product's watch page (hls.js LL + sync controller steering to PART-HOLD-BACK + 0.25 s behind PDT); ours standard and the peer are plain hls.js with lowLatencyMode off and liveSyncDurationCount 2.",
    "Both systems run at once on one machine (2 cores here) with their own FFmpeg ladder each; the offload and edge-hit phases test one system at a time. The machine is shared with other work (load averages are logged per phase; a load far above 2 means every figure here is pessimistic, LL-HLS most of all since it has the least buffer).",
    "Sync: simulated viewers model a playhead (no decoder): with the controller they run web/player/sync-controller.ts on it every 100 ms against the local clock (the stack runs on this machine, so server time = local time); without, they play at 1x from the PART-HOLD-BACK join. Their spread measures the control law and the delivery of parts, not decoding.",
    "wrangler dev runs workerd locally with a dev proxy in front, and miniflare's Cache API simulation: a production Worker hit costs differently. The 'straight to workerd' rows skip the dev proxy.",
    "nginx: proxy_cache_lock only coalesces filling a new cache element; when a cached media playlist expires, requests arriving before the refresh completes all go upstream (measured separately: 200 connections on one expired playlist → 66 origin fetches at once; with proxy_cache_use_stale updating → 1). Run with --peer-stale-updating for that variant. nginx's cache validity has 1 s granularity, so a 2 s TTL refreshes every 2-3 s.",
    ...notes,
    ...failures.map((f) => `FAILURE: ${f}`),
  ];
  const markdown = renderReport(header, rows, allNotes);
  mkdirSync(options.outDir, { recursive: true });
  // Only a full run that did not fail replaces the published table; a subset (`npm run bench -- offload`)
  // goes beside it, a failed full run to failed.*.
  const complete = PHASES.every((phase) => options.phases.includes(phase));
  const base = options.smoke ? "smoke" : complete ? (failures.length ? "failed" : "latest") : "subset";
  writeFileSync(join(options.outDir, `${base}.md`), markdown);
  writeFileSync(join(options.outDir, `${base}.json`), JSON.stringify({ ...header, rows, notes: allNotes, failures, raw }, null, 2) + "\n");
  const latency = raw.latency as LatencyRaw | undefined | null;
  const byPart = raw["latency by part"] as LatencyRaw | undefined | null;
  if (latency) {
    const partSeries = (byPart?.tabs ?? []).map((t, i) => ({
      name: `2nd pass: LL-HLS, ${t.key.split("@")[1] === "default" ? "default part" : `${t.key.split("@")[1]} ms part`}`,
      color: ["#2b8a3e", "#862e9c", "#e67700"][i % 3]!,
      dashed: true,
      points: byPart!.series[t.key] ?? [],
    }));
    const svg = lineChart(
      [
        { name: "ours LL-HLS, watch page", color: "#d9480f", points: latency.series["ours-ll"] ?? [] },
        { name: "ours standard HLS", color: "#f59f00", points: latency.series["ours-std"] ?? [] },
        { name: "peer nginx", color: "#1c7ed6", points: latency.series.peer ?? [] },
        ...partSeries,
      ],
      {
        title: "Glass-to-glass latency (frame barcode), Chromium tabs on one source",
        xLabel: "seconds since sampling started (the part pass is a later run)",
        yLabel: "latency (s)",
        height: 420,
      },
    );
    writeFileSync(join(options.outDir, base === "latest" ? "latency.svg" : `${base}-latency.svg`), svg);
  }
  console.log(`\n${renderTable(rows)}\n`);
  for (const n of allNotes) console.log(`- ${n}`);
  console.log(`\nwritten: ${join(options.outDir, `${base}.md`)}, ${base}.json${latency ? ", latency chart" : ""}`);
  if (failures.length) {
    console.error(`\nbench FAILED:\n${failures.map((f) => `  - ${f}`).join("\n")}`);
    return 1;
  }
  return 0;
}

function llSetting(ll: LowLatencyInfo | null, partMs: number | null): string {
  const requested = partMs ? `PART_DURATION_MS=${partMs}` : "origin default part duration";
  if (!ll?.partTarget) return requested;
  return `${requested}: PART-TARGET ${ll.partTarget} s, PART-HOLD-BACK ${ll.partHoldBack} s, HOLD-BACK ${ll.holdBack} s`;
}

main().then(
  (code) => process.exit(code),
  async (error) => {
    console.error(error);
    await cleanupAll(log);
    process.exit(1);
  },
);
