/**
 * Thumbnails of a live stream: a JPEG from the newest segment of one
 * rendition at 1, 3 and 5 s after the stream's first media, then every 5 s
 * (README "Stream lifecycle"). A tick with no new segment since the last thumbnail is
 * skipped: a frozen stream does not produce "new" thumbnails.
 */
import { spawn } from "node:child_process";
import { resolveFfmpeg } from "../ffmpeg.js";
import type { StreamPackager } from "../packager/stream-packager.js";

const THUMBNAIL_SCHEDULE_MS = [1_000, 3_000, 5_000];
const THUMBNAIL_INTERVAL_MS = 5_000;

export interface ThumbnailSink {
  putThumbnail(streamId: string, index: number, jpeg: Uint8Array<ArrayBuffer>): Promise<void>;
}

/** Decodes the first frame of init+segment into a JPEG no taller than `height`. */
function grabFrame(initAndSegment: Buffer, height = 360): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      resolveFfmpeg(),
      [
        "-hide_banner",
        "-loglevel",
        "error",
        "-f",
        "mp4",
        "-i",
        "pipe:0",
        "-frames:v",
        "1",
        "-vf",
        `scale=-2:'min(${height},ih)'`,
        "-q:v",
        "5",
        "-f",
        "image2",
        "-c:v",
        "mjpeg",
        "pipe:1",
      ],
      { stdio: ["pipe", "pipe", "pipe"] },
    );
    const out: Buffer[] = [];
    let err = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.stdin.on("error", () => {});
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      const jpeg = Buffer.concat(out);
      if (code === 0 && jpeg.length > 0) resolve(jpeg);
      else reject(new Error(`ffmpeg thumbnail failed (${code}): ${err.trim().slice(-300)}`));
    });
    child.stdin.end(initAndSegment);
  });
}

export class Thumbnailer {
  private init: Buffer | undefined;
  private latest: { msn: number; bytes: Buffer } | undefined;
  private lastUsedMsn = -1;
  private index = 0;
  private timers: NodeJS.Timeout[] = [];
  private started = false;
  private busy = false;

  constructor(
    packager: StreamPackager,
    private readonly options: { streamId: string; rendition: string; sink: ThumbnailSink; log: (m: string) => void },
  ) {
    packager.on("init", (event) => {
      if (event.rendition === options.rendition) this.init = event.bytes;
    });
    packager.on("segment", (event) => {
      if (event.rendition !== options.rendition) return;
      this.latest = { msn: event.msn, bytes: event.bytes };
      if (!this.started) this.start();
    });
  }

  get count(): number {
    return this.index;
  }

  stop(): void {
    this.timers.forEach(clearTimeout);
    this.timers = [];
  }

  private start(): void {
    this.started = true;
    for (const at of THUMBNAIL_SCHEDULE_MS) this.timers.push(setTimeout(() => void this.tick(), at));
    const last = THUMBNAIL_SCHEDULE_MS.at(-1)!;
    const every = setTimeout(() => {
      const interval = setInterval(() => void this.tick(), THUMBNAIL_INTERVAL_MS);
      this.timers.push(interval as unknown as NodeJS.Timeout);
    }, last);
    this.timers.push(every);
  }

  private async tick(): Promise<void> {
    const latest = this.latest;
    if (this.busy || !this.init || !latest || latest.msn === this.lastUsedMsn) return;
    this.busy = true;
    try {
      const jpeg = await grabFrame(Buffer.concat([this.init, latest.bytes]));
      this.lastUsedMsn = latest.msn;
      const copy = new Uint8Array(jpeg.byteLength);
      copy.set(jpeg);
      await this.options.sink.putThumbnail(this.options.streamId, this.index++, copy);
    } catch (error) {
      this.options.log(`thumbnail failed: ${(error as Error).message}`);
    } finally {
      this.busy = false;
    }
  }
}
