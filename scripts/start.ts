/**
 * `npm start`: the whole stack on one machine, with the event provider
 * simulator (unless EVENT_PROVIDER_URL points at a real feed) and the cron's
 * work (event ingress, live monitor) run every minute, as wrangler dev does
 * not fire cron triggers. `npm run demo` (or `npm start -- --demo`) also
 * creates a stream about the simulated game, publishes an FFmpeg test pattern
 * with a burnt-in clock to it and prints the watch and socket URLs.
 * Ctrl-C stops everything: test source, FFmpeg ladders, origin, simulator, wrangler.
 */
import { writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { startTestSource, type TestSource } from "../origin/tools/test-source.js";
import { ROOT, startStack } from "./stack.js";

const demo = process.argv.includes("--demo");
/** The simulator's game that runs by itself (scripts/provider-simulator.ts). */
const DEMO_EVENT_ID = "sim-live-1";
const externalFeed = process.env.EVENT_PROVIDER_URL?.trim();
const stack = await startStack({
  broadcasterApiKey: process.env.BROADCASTER_API_KEY,
  ...(externalFeed ? { eventProviderUrl: externalFeed } : { providerSimulator: true }),
  cronIntervalMs: 60_000,
  // origin and simulator run as their own processes, restarted if they crash
  supervised: true,
});

// The key is a secret: it goes to a file only its owner can read, never to the terminal (or a log of it).
const keyFile = join(ROOT, ".wrangler", "state", "broadcaster-api-key");
writeFileSync(keyFile, `${stack.apiKey}\n`, { mode: 0o600 });
const keyPath = relative(process.cwd(), keyFile) || keyFile;

let source: TestSource | undefined;
console.log(`
  Edge (Worker):  ${stack.edgeUrl}
  Origin HTTP:    ${stack.originUrl}   (metrics: ${stack.originUrl}/metrics)
  RTMP ingest:    ${stack.rtmpBaseUrl}/<streamKey>
  Event feed:     ${stack.providerUrl ?? "none"}${externalFeed ? "" : "   (provider simulator; POST /__control to steer it)"}
  Broadcaster API key: in ${keyPath} (mode 600; the studio at ${stack.edgeUrl}/studio asks for it)
  Create a stream:
    curl -s -X POST ${stack.edgeUrl}/api/streams -H "authorization: Bearer $(cat ${keyPath})" \\
      -H "content-type: application/json" -d '{"title":"my stream"}'
`);

if (demo) {
  const response = await fetch(`${stack.edgeUrl}/api/streams`, {
    method: "POST",
    headers: { authorization: `Bearer ${stack.apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({
      title: "Demo: test pattern with a clock",
      tags: ["demo"],
      ...(externalFeed ? {} : { eventId: DEMO_EVENT_ID }),
    }),
  });
  const created = (await response.json()) as { streamId: string; ingestUrl: string; playbackUrl: string; watchUrl: string };
  if (!response.ok) throw new Error(`could not create the demo stream: ${JSON.stringify(created)}`);
  source = startTestSource({
    rtmpUrl: created.ingestUrl,
    onExit: (code, tail) => {
      if (code !== 0 && code !== 255) console.error(`demo publisher exited with ${code}: ${tail}`);
    },
  });
  const ws = stack.edgeUrl.replace(/^http/, "ws");
  console.log(`  Demo stream ${created.streamId} publishing.
    Watch:    ${created.watchUrl}
    Playlist: ${created.playbackUrl}
    Sockets (token: curl -s -X POST ${stack.edgeUrl}/api/session/anonymous):
      chat/system: ${ws}/ws/streams/${created.streamId}?token=<token>${
        !externalFeed
          ? `
      score:       ${ws}/ws/events/${DEMO_EVENT_ID}?token=<token>`
          : ""
      }
`);
}
console.log("  Ctrl-C to stop.\n");

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  console.log("\nstopping...");
  await source?.stop();
  await stack.stop();
  process.exit(0);
};
process.on("SIGINT", () => void shutdown());
process.on("SIGTERM", () => void shutdown());
