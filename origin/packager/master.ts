/**
 * The master playlist of a stream: one EXT-X-STREAM-INF per video rendition,
 * all sharing the one audio rendition (EXT-X-MEDIA TYPE=AUDIO). Each variant
 * lists both codecs and a BANDWIDTH that includes the audio it plays with,
 * and says it has no closed captions.
 */
import { renderMasterPlaylist, type MasterPlaylistVariant } from "./playlist.js";
import type { Rendition } from "./rendition.js";
import { AUDIO_GROUP, AUDIO_RENDITION, type RenditionSpec } from "./packager-types.js";

/** Peak over average for a capped-VBR x264 encode (maxrate ≈ 1.1 × bitrate). */
const PEAK_FACTOR = 1.1;
/** fMP4 container overhead on top of the elementary streams. */
const CONTAINER_OVERHEAD = 1.05;

/** The master, or undefined until every rendition (audio included) has a segment. */
export function buildMaster(specs: readonly RenditionSpec[], renditions: ReadonlyMap<string, Rendition>): string | undefined {
  const audioInit = renditions.get(AUDIO_RENDITION)?.firstSegmentInit;
  if (!audioInit) return undefined;
  const audio = audioInit.init.timingTrack;
  const audioBitrate = Math.max(...specs.map((s) => s.audioBitrate));
  const variants: MasterPlaylistVariant[] = [];
  for (const spec of specs) {
    const init = renditions.get(spec.name)?.firstSegmentInit;
    if (!init) return undefined;
    const video = init.init.timingTrack;
    variants.push({
      uri: `${spec.name}/index.m3u8`,
      bandwidth: Math.round((spec.videoBitrate * PEAK_FACTOR + audioBitrate) * CONTAINER_OVERHEAD),
      averageBandwidth: spec.videoBitrate + audioBitrate,
      codecs: [video.codec, audio.codec].filter((c) => c !== ""),
      width: video.width,
      height: video.height,
      frameRate: spec.frameRate,
      audioGroup: AUDIO_GROUP,
      // Our encode never carries CEA-608/708 captions. Saying so spares players from probing
      // segments for them (Shaka 5 does, and fails on an LL-HLS open segment that is only parts).
      noClosedCaptions: true,
    });
  }
  return renderMasterPlaylist(variants, [
    { groupId: AUDIO_GROUP, name: "main", uri: `${AUDIO_RENDITION}/index.m3u8`, default: true, channels: audio.channels },
  ]);
}
