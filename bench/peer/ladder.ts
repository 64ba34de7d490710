/**
 * The peer's transcoder: the same FFmpeg ladder command our origin runs
 * (origin/transcode/ladder-args.ts: same rungs, preset, 1 s GOP, zerolatency),
 * reading the source from nginx-rtmp's `src` application and publishing each
 * rung back to nginx-rtmp's `hls` application as FLV, where `hls_variant`
 * groups them. Pure.
 */
import { buildLadderArgs } from "../../origin/transcode/ladder-args.js";
import type { RenditionSpec } from "../../origin/packager/stream-packager.js";

export interface PeerLadderOptions {
  ladder: RenditionSpec[];
  frameRate: number;
  preset: string;
  /** e.g. rtmp://127.0.0.1:27936/src/bench */
  inputUrl: string;
  /** e.g. rtmp://127.0.0.1:27936/hls/bench; each rung goes to <base>_<rung name>. */
  outputBase: string;
}

export function peerVariantSuffix(rendition: RenditionSpec): string {
  return `_${rendition.name}`;
}

export function buildPeerLadderArgs(o: PeerLadderOptions): string[] {
  const args = buildLadderArgs({
    ladder: o.ladder,
    frameRate: o.frameRate,
    preset: o.preset,
    partDuration: 0.5,
    audioInEveryRendition: true,
  });
  const input = args.indexOf("pipe:0");
  if (input < 1 || args[input - 1] !== "-i") throw new Error("unexpected ladder args: no -i pipe:0");
  const out = [...args.slice(0, input), o.inputUrl];
  let rung = 0;
  for (let i = input + 1; i < args.length; i++) {
    // Each rung's output tail is `-f mp4 -movflags … -frag_duration … pipe:N`; it becomes `-f flv <url>`.
    if (args[i] === "-f" && args[i + 1] === "mp4") {
      let end = i + 2;
      while (end < args.length && !/^pipe:\d+$/.test(args[end]!)) end++;
      if (end >= args.length) throw new Error("unexpected ladder args: no pipe output");
      const rendition = o.ladder[rung++];
      if (!rendition) throw new Error("more outputs than rungs");
      out.push("-f", "flv", `${o.outputBase}${peerVariantSuffix(rendition)}`);
      i = end;
      continue;
    }
    out.push(args[i]!);
  }
  if (rung !== o.ladder.length) throw new Error(`expected ${o.ladder.length} outputs, found ${rung}`);
  return out;
}
