/**
 * Where recordings and thumbnails live in R2, and which names are allowed.
 * A recording is the top rendition's init + segments + a VOD playlist.
 */
const VOD_NAME = /^(index\.m3u8|init-[a-z0-9]{1,16}-\d{1,6}\.mp4|[a-z0-9]{1,16}-\d{1,12}\.m4s)$/;
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
  if (name.endsWith(".mp4")) return "video/mp4";
  return "video/iso.segment";
}
