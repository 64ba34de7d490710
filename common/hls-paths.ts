/**
 * Names and shapes of HLS objects below a stream, shared by the origin (which
 * names them), the mother (which classifies them for caching) and the edge
 * (which rejects anything else before it costs a Durable Object call).
 *
 * Object paths are relative to the stream directory:
 *   master.m3u8
 *   <rendition>/index.m3u8
 *   <rendition>/init-<epoch>-<disc>.mp4
 *   <rendition>/<epoch>-<msn>.m4s            (media segment)
 *   <rendition>/<epoch>-p<part>.m4s           (LL-HLS partial segment)
 *
 * `epoch` is chosen by each packager instance: an origin that restarts starts
 * a new epoch, so an immutable, long-cached segment name is never reused for
 * different bytes.
 *
 * Parts are numbered per rendition across the whole stream (not per
 * segment): the part announced by EXT-X-PRELOAD-HINT keeps its name whether
 * it turns out to be the next part of the open segment or the first part of
 * a new one, so a hinted request is never left waiting for a name that will
 * not exist.
 */
export type HlsObjectType = "master" | "media" | "init" | "segment" | "part";

export const STREAM_ID_PATTERN = /^[a-z0-9]{8,32}$/;
const MAX_OBJECT_PATH_LENGTH = 128;

const RENDITION = "[a-z0-9_]{1,16}";
const EPOCH = "[a-z0-9]{1,16}";
const MASTER_RE = /^master\.m3u8$/;
const MEDIA_RE = new RegExp(`^${RENDITION}/index\\.m3u8$`);
const INIT_RE = new RegExp(`^${RENDITION}/init-${EPOCH}-\\d{1,6}\\.mp4$`);
const SEGMENT_RE = new RegExp(`^${RENDITION}/${EPOCH}-\\d{1,12}\\.m4s$`);
const PART_RE = new RegExp(`^${RENDITION}/${EPOCH}-p\\d{1,12}\\.m4s$`);

export function isValidStreamId(id: string): boolean {
  return STREAM_ID_PATTERN.test(id);
}

/** Returns the object's type, or null when the path is not one we serve. */
export function classifyObjectPath(path: string): HlsObjectType | null {
  if (path.length === 0 || path.length > MAX_OBJECT_PATH_LENGTH) return null;
  if (MASTER_RE.test(path)) return "master";
  if (MEDIA_RE.test(path)) return "media";
  if (INIT_RE.test(path)) return "init";
  if (SEGMENT_RE.test(path)) return "segment";
  if (PART_RE.test(path)) return "part";
  return null;
}

export function initName(epoch: string, discontinuity: number): string {
  return `init-${epoch}-${discontinuity}.mp4`;
}

export function segmentName(epoch: string, msn: number): string {
  return `${epoch}-${msn}.m4s`;
}

/** `part` is the rendition's running part number (see the header). */
export function partName(epoch: string, part: number): string {
  return `${epoch}-p${part}.m4s`;
}

export function contentTypeFor(type: HlsObjectType): string {
  switch (type) {
    case "master":
    case "media":
      return "application/vnd.apple.mpegurl";
    case "init":
      return "video/mp4";
    case "segment":
    case "part":
      return "video/iso.segment";
  }
}
