/**
 * Where a viewer plays a stream from: the origin directly or the edge, by
 * the requester's role and the stream's audience with hysteresis (pure rules
 * in control/viewer-source.ts). The stream's mode is stored in D1 so every
 * isolate agrees, and it follows the audience on every request.
 */
import type { Origin, Stream } from "../../schema/index.js";
import { parseConfig } from "../config.js";
import { decideSource, type SourceDecision, type SourceThresholds } from "./viewer-source.js";
import type { Env } from "../env.js";
import type { TokenRole } from "../lib/session-token.js";
import { streamRoom } from "../stubs.js";
import { switchPlaybackMode } from "./repository.js";
import { originPlaybackUrl, playbackUrl } from "./views.js";

export interface PlaybackChoice {
  decision: SourceDecision;
  url: string;
  viewerCount: number;
  thresholds: SourceThresholds;
}

export async function choosePlayback(
  env: Env,
  stream: Stream,
  origin: Origin,
  role: TokenRole | null,
  base: string,
): Promise<PlaybackChoice> {
  let viewerCount = 0;
  try {
    viewerCount = await streamRoom(env, stream.id).viewerCount();
  } catch (error) {
    console.warn(`stream ${stream.id}: viewer count unavailable, assuming 0`, error);
  }
  const { thresholds } = parseConfig(env).control;
  const decision = decideSource(role, viewerCount, stream.playbackMode, thresholds);
  if (decision.mode !== stream.playbackMode) await switchPlaybackMode(env.DB, stream.id, stream.playbackMode, decision.mode);
  const url = decision.source === "origin" ? originPlaybackUrl(origin.baseUrl, stream.id) : playbackUrl(base, stream.id);
  return { decision, url, viewerCount, thresholds };
}
