/**
 * The stream room's telemetry aggregate as the studio reads it
 * (GET /api/studio/streams/:id/telemetry, the owner's API key): the median
 * latency per group over each viewer's newest report, next to the averages.
 */
import { describe, expect, it, afterEach } from "vitest";
import { edge } from "./helpers.js";
import { createStreamRow, openSocket, until, type TestSocket } from "./socket-helpers.js";

const open: TestSocket[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

async function viewer(streamId: string, country: string, userAgent: string): Promise<TestSocket> {
  const socket = await openSocket(`/ws/streams/${streamId}`, { cf: { country }, headers: { "User-Agent": userAgent } });
  open.push(socket);
  await socket.next((f) => f.type === "hello");
  return socket;
}

const MOBILE = "Mozilla/5.0 (Linux; Android 14) Mobile";
const DESKTOP = "Mozilla/5.0 (Windows NT 10.0; Win64)";

interface Stats {
  connections: number;
  avgLatencyMs: number | null;
  medianLatencyMs: number | null;
}

describe("StreamRoom: median latency in the studio's aggregate", () => {
  it("per group, over each viewer's latest latency; a viewer who leaves stops counting", async () => {
    const { streamId, owner, ownerToken } = await createStreamRow();
    const studioSocket = await openSocket(`/ws/streams/${streamId}`, { token: ownerToken });
    open.push(studioSocket);
    await studioSocket.next((f) => f.type === "hello");
    const reports: Array<[string, string, number]> = [
      ["FR", MOBILE, 1_200],
      ["FR", DESKTOP, 1_500],
      ["FR", DESKTOP, 24_000], // one viewer far behind: moves the average, not the median
      ["US", DESKTOP, 2_000],
    ];
    const sockets: TestSocket[] = [];
    for (const [i, [country, ua, latencyMs]] of reports.entries()) {
      const socket = await viewer(streamId, country, ua);
      socket.send({ type: "telemetry", latencyMs, bitrateKbps: 600, stallMs: 0, ref: `r${i}` });
      await socket.next((f) => f.ref === `r${i}`);
      sockets.push(socket);
    }
    const read = async () => {
      const res = await edge(`/api/studio/streams/${streamId}/telemetry`, { headers: { Authorization: `Bearer ${owner.apiKey}` } });
      expect(res.status).toBe(200);
      return ((await res.json()) as { groups: Record<string, Stats> }).groups;
    };
    const groups = await read();
    expect(groups["country:FR"]).toMatchObject({ connections: 3, medianLatencyMs: 1_500, avgLatencyMs: 8_900 });
    expect(groups["device:desktop"]).toMatchObject({ connections: 3, medianLatencyMs: 2_000 });
    expect(groups["device:mobile"]).toMatchObject({ connections: 1, medianLatencyMs: 1_200 });
    expect(groups.all).toMatchObject({ connections: 4, medianLatencyMs: 1_750 });
    // the slow French viewer leaves: the median is over the two left
    sockets[2]!.close();
    const after = await until(
      async () => {
        const g = await read();
        return g["country:FR"]?.connections === 2 ? g : undefined;
      },
      5_000,
      "the leaving viewer to be removed from the aggregate",
    );
    expect(after["country:FR"]).toMatchObject({ medianLatencyMs: 1_350, avgLatencyMs: 1_350 });
    // a viewer without a latency yet is in the count, not in the median
    const joining = await viewer(streamId, "US", MOBILE);
    joining.send({ type: "telemetry", bitrateKbps: 300, ref: "j" });
    await joining.next((f) => f.ref === "j");
    expect((await read())["country:US"]).toMatchObject({ connections: 2, medianLatencyMs: 2_000 });
  });
});
