/**
 * Records one rendition of a live stream as VOD HLS in R2 (through the
 * Worker): every init and segment is uploaded as soon as the packager makes
 * it, so an origin crash loses at most the segment in flight; when the stream
 * ends, a VOD playlist (EXT-X-PLAYLIST-TYPE:VOD, EXT-X-ENDLIST) over the same
 * init and segments is uploaded last.
 */
import type { StreamPackager } from "../packager/stream-packager.js";
import { renderMediaPlaylist, type MediaPlaylistSegment } from "../packager/playlist.js";
import { UploadQueue } from "./upload-queue.js";

interface ObjectUploader {
  /** Stores bytes under the stream's VOD prefix (`name` like "init-x-0.mp4"). */
  putVodObject(streamId: string, name: string, bytes: Uint8Array<ArrayBuffer>, contentType: string): Promise<void>;
}

export interface RecorderOptions {
  streamId: string;
  rendition: string;
  targetDuration: number;
  uploader: ObjectUploader;
  log: (message: string) => void;
  /** Segments an earlier origin process recorded (and uploaded) for this stream: the VOD covers them too. */
  resumeSegments?: MediaPlaylistSegment[];
  /** Called for every segment added, to write it down for a later process (crash recovery). */
  onSegmentRecorded?: (segment: MediaPlaylistSegment) => void;
}

function fileName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

export class Recorder {
  private readonly queue: UploadQueue;
  private readonly segments: MediaPlaylistSegment[] = [];
  private currentInit: string | undefined;
  private finished = false;

  constructor(
    packager: StreamPackager,
    private readonly options: RecorderOptions,
  ) {
    this.queue = new UploadQueue(options.log);
    this.segments.push(...(options.resumeSegments ?? []));
    packager.on("init", (event) => {
      if (event.rendition !== options.rendition) return;
      const name = fileName(event.path);
      this.currentInit = name;
      this.upload(name, event.bytes, "video/mp4");
    });
    packager.on("segment", (event) => {
      if (event.rendition !== options.rendition || !this.currentInit) return;
      const name = fileName(event.path);
      const segment: MediaPlaylistSegment = {
        uri: name,
        duration: event.duration,
        programDateTime: event.programDateTime,
        // also true for the first segment after an origin restart (the packager resumed from the journal)
        discontinuity: event.discontinuity,
        mapUri: this.currentInit,
      };
      this.segments.push(segment);
      this.upload(name, event.bytes, "video/iso.segment");
      options.onSegmentRecorded?.(segment);
    });
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /** The VOD playlist of everything recorded so far. */
  playlist(): string {
    return renderMediaPlaylist({
      targetDuration: this.options.targetDuration,
      mediaSequence: 0,
      discontinuitySequence: 0,
      segments: this.segments,
      ended: true,
      independentSegments: true,
      playlistType: "VOD",
    });
  }

  /** Waits for every segment upload, then uploads the playlist. */
  async finish(): Promise<{ segments: number; failedUploads: number }> {
    if (!this.finished && this.segments.length > 0) {
      this.finished = true;
      this.upload("index.m3u8", Buffer.from(this.playlist(), "utf8"), "application/vnd.apple.mpegurl");
    }
    await this.queue.drain();
    return { segments: this.segments.length, failedUploads: this.queue.failures };
  }

  private upload(name: string, bytes: Buffer, contentType: string): void {
    const copy = new Uint8Array(bytes.byteLength);
    copy.set(bytes);
    void this.queue.push(name, () => this.options.uploader.putVodObject(this.options.streamId, name, copy, contentType));
  }
}
