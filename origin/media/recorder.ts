/**
 * Records a live stream as VOD HLS in R2 (through the Worker), in the same
 * layout as live: the top video rendition and the audio rendition, each its
 * own directory of inits, segments and a VOD playlist, and a master playlist
 * that plays both from one URL.
 *
 *   vod/<id>/master.m3u8              the master (also as index.m3u8, the documented URL)
 *   vod/<id>/<top>/index.m3u8         init-*.mp4, <epoch>-<msn>.m4s
 *   vod/<id>/audio/index.m3u8         init-*.mp4, <epoch>-<msn>.m4s
 *
 * Every init and segment is uploaded as soon as the packager makes it, so an
 * origin crash loses at most the segments in flight; when the stream ends,
 * the VOD playlists (EXT-X-PLAYLIST-TYPE:VOD, EXT-X-ENDLIST) go up, then the
 * master, `index.m3u8` last: the Worker takes its presence to mean the
 * recording is complete.
 */
import type { StreamPackager } from "../packager/stream-packager.js";
import { renderMediaPlaylist, type MediaPlaylistSegment } from "../packager/playlist.js";
import { UploadQueue } from "./upload-queue.js";

interface ObjectUploader {
  /** Stores bytes under the stream's VOD prefix (`name` like "720p/init-x-0.mp4"). */
  putVodObject(streamId: string, name: string, bytes: Uint8Array<ArrayBuffer>, contentType: string): Promise<void>;
}

/** A recorded segment, as the crash journal keeps it: which rendition directory it belongs to. */
export interface RecordedSegment extends MediaPlaylistSegment {
  /** Absent in journals written before the recording had an audio rendition: the top rendition's. */
  rendition?: string;
}

export interface RecorderOptions {
  streamId: string;
  /** The recorded renditions' directories: the top video rendition first, then the audio. */
  renditions: readonly string[];
  /** The master playlist over the recorded renditions, once they all have a segment. */
  master: () => string | undefined;
  targetDuration: number;
  uploader: ObjectUploader;
  log: (message: string) => void;
  /** Segments an earlier origin process recorded (and uploaded) for this stream: the VOD covers them too. */
  resumeSegments?: RecordedSegment[];
  /** Called for every segment added, to write it down for a later process (crash recovery). */
  onSegmentRecorded?: (segment: RecordedSegment) => void;
}

function fileName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

export class Recorder {
  private readonly queue: UploadQueue;
  private readonly segments = new Map<string, MediaPlaylistSegment[]>();
  private readonly currentInit = new Map<string, string>();
  private masterText: string | undefined;
  private finished = false;

  constructor(
    packager: StreamPackager,
    private readonly options: RecorderOptions,
  ) {
    this.queue = new UploadQueue(options.log);
    const top = options.renditions[0];
    for (const name of options.renditions) this.segments.set(name, []);
    for (const { rendition = top, ...segment } of options.resumeSegments ?? []) {
      if (rendition !== undefined) this.segments.get(rendition)?.push(segment);
    }
    packager.on("init", (event) => {
      if (!this.segments.has(event.rendition)) return;
      const name = fileName(event.path);
      this.currentInit.set(event.rendition, name);
      this.upload(`${event.rendition}/${name}`, event.bytes, event.rendition === "audio" ? "audio/mp4" : "video/mp4");
    });
    packager.on("segment", (event) => {
      const list = this.segments.get(event.rendition);
      const init = this.currentInit.get(event.rendition);
      if (!list || !init) return;
      const name = fileName(event.path);
      const segment: MediaPlaylistSegment = {
        uri: name,
        duration: event.duration,
        programDateTime: event.programDateTime,
        // also true for the first segment after an origin restart (the packager resumed from the journal)
        discontinuity: event.discontinuity,
        mapUri: init,
      };
      list.push(segment);
      this.upload(`${event.rendition}/${name}`, event.bytes, event.rendition === "audio" ? "audio/mp4" : "video/iso.segment");
      options.onSegmentRecorded?.({ ...segment, rendition: event.rendition });
      this.masterText ??= options.master();
    });
  }

  /** Segments recorded, all renditions. */
  get segmentCount(): number {
    let n = 0;
    for (const list of this.segments.values()) n += list.length;
    return n;
  }

  /** The VOD playlist of one recorded rendition, of everything recorded so far. */
  playlist(rendition: string): string {
    return renderMediaPlaylist({
      targetDuration: this.options.targetDuration,
      mediaSequence: 0,
      discontinuitySequence: 0,
      segments: this.segments.get(rendition) ?? [],
      ended: true,
      independentSegments: true,
      playlistType: "VOD",
    });
  }

  /** Waits for every segment upload, then uploads the playlists (index.m3u8 last). */
  async finish(): Promise<{ segments: number; failedUploads: number }> {
    if (!this.finished && this.segmentCount > 0) {
      this.finished = true;
      for (const [rendition, list] of this.segments) {
        if (list.length > 0)
          this.upload(`${rendition}/index.m3u8`, Buffer.from(this.playlist(rendition), "utf8"), "application/vnd.apple.mpegurl");
      }
      const master = this.masterText ?? this.options.master();
      if (master === undefined) {
        this.options.log("recording: no master playlist (a rendition never had a segment in this process)");
      } else {
        // the queue uploads in order: the media playlists before the master that names them
        for (const name of ["master.m3u8", "index.m3u8"]) this.upload(name, Buffer.from(master, "utf8"), "application/vnd.apple.mpegurl");
      }
    }
    await this.queue.drain();
    return { segments: this.segmentCount, failedUploads: this.queue.failures };
  }

  private upload(name: string, bytes: Buffer, contentType: string): void {
    const copy = new Uint8Array(bytes.byteLength);
    copy.set(bytes);
    void this.queue.push(name, () => this.options.uploader.putVodObject(this.options.streamId, name, copy, contentType));
  }
}
