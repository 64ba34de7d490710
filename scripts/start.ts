/**
 * `npm start`: the whole stack on one machine. `npm run demo` (or
 * `npm start -- --demo`) also creates a stream, publishes an FFmpeg test
 * pattern with a burnt-in clock to it and prints the watch URL.
 * Ctrl-C stops everything: test source, FFmpeg ladders, origin, wrangler.
 */
import { startTestSource, type TestSource } from "../origin/tools/test-source.js";
import { startStack } from "./stack.js";

const demo = process.argv.includes("--demo");
const stack = await startStack({ broadcasterApiKey: process.env.BROADCASTER_API_KEY });

let source: TestSource | undefined;
console.log(`
  Edge (Worker):  ${stack.edgeUrl}
  Origin HTTP:    ${stack.originUrl}   (metrics: ${stack.originUrl}/metrics)
  RTMP ingest:    ${stack.rtmpBaseUrl}/<streamKey>
  Broadcaster API key: ${stack.apiKey}
  Create a stream:
    curl -s -X POST ${stack.edgeUrl}/api/streams -H "authorization: Bearer ${stack.apiKey}" \\
      -H "content-type: application/json" -d '{"title":"my stream"}'
`);

if (demo) {
  const response = await fetch(`${stack.edgeUrl}/api/streams`, {
    method: "POST",
    headers: { authorization: `Bearer ${stack.apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({ title: "Demo: test pattern with a clock", tags: ["demo"] }),
  });
  const created = (await response.json()) as { streamId: string; ingestUrl: string; playbackUrl: string; watchUrl: string };
  if (!response.ok) throw new Error(`could not create the demo stream: ${JSON.stringify(created)}`);
  source = startTestSource({
    rtmpUrl: created.ingestUrl,
    onExit: (code, tail) => {
      if (code !== 0 && code !== 255) console.error(`demo publisher exited with ${code}: ${tail}`);
    },
  });
  console.log(`  Demo stream ${created.streamId} publishing.
    Watch:    ${created.watchUrl}
    Playlist: ${created.playbackUrl}
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
