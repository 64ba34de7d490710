/**
 * Where recordings and thumbnails live in R2, and which names are allowed.
 * A recording has the live stream's layout: a master playlist (`master.m3u8`,
 * also `index.m3u8`, the documented URL) and one directory per recorded
 * rendition (the top video rendition and `audio`), each with its VOD
 * playlist, inits and segments. Recordings made before that layout are flat
 * (one muxed rendition's files next to `index.m3u8`) and stay readable.
 */
const VOD_FILE = "(?:index\\.m3u8|init-[a-z0-9]{1,16}-\\d{1,6}\\.mp4|[a-z0-9]{1,16}-\\d{1,12}\\.m4s)";
const VOD_NAME = new RegExp(`^(?:master\\.m3u8|${VOD_FILE}|[a-z0-9_]{1,16}/${VOD_FILE})$`);
const THUMBNAIL_INDEX = /^\d{1,6}$/;

export function isVodName(name: string): boolean {
  return VOD_NAME.test(name);
}

export function isThumbnailIndex(index: string): boolean {
  return THUMBNAIL_INDEX.test(index);
}

export function vodKey(streamId: string, name: string): string {
  return `vod/${streamId}/${name}`;
}

export function thumbnailKey(streamId: string, index: number | string): string {
  return `thumbnails/${streamId}/${index}.jpg`;
}

export function vodContentType(name: string): string {
  if (name.endsWith(".m3u8")) return "application/vnd.apple.mpegurl";
  if (name.startsWith("audio/")) return "audio/mp4";
  if (name.endsWith(".mp4")) return "video/mp4";
  return "video/iso.segment";
}

/** The object name of a /vod route: `:name`, or `:dir/:name` below a rendition directory. */
export function vodNameOf(dir: string | undefined, name: string): string {
  return dir === undefined ? name : `${dir}/${name}`;
}
