/**
 * What a stream's origin process writes down so that a restarted process
 * can continue the same stream (crash recovery): the packager's numbering
 * per rendition (media sequence, part numbers, discontinuity count, where
 * PDT stopped) and the recording's segment list. Viewers then see the media
 * sequence go on after an EXT-X-DISCONTINUITY instead of going back to 0,
 * and the recording covers the whole stream.
 *
 * One directory per origin data dir; per stream `<id>.json` (rewritten
 * atomically after each segment) and `<id>.recording.jsonl` (appended).
 * Removed when the stream ends; files older than a day are dropped at start.
 */
import { appendFileSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { MediaPlaylistSegment } from "../packager/playlist.js";
import type { PackagerResume } from "../packager/stream-packager.js";

const MAX_AGE_MS = 24 * 60 * 60 * 1000;

export interface JournalState {
  packager: PackagerResume;
  recording: MediaPlaylistSegment[];
}

export class StreamJournal {
  private readonly stateFile: string;
  private readonly recordingFile: string;

  constructor(
    private readonly dir: string,
    readonly streamId: string,
    private readonly log: (message: string) => void = () => {},
  ) {
    mkdirSync(dir, { recursive: true });
    this.stateFile = join(dir, `${streamId}.json`);
    this.recordingFile = join(dir, `${streamId}.recording.jsonl`);
  }

  /** What an earlier process left, or undefined for a new stream. A damaged file is not trusted. */
  load(): JournalState | undefined {
    let packager: PackagerResume;
    try {
      packager = JSON.parse(readFileSync(this.stateFile, "utf8")) as PackagerResume;
    } catch {
      return undefined;
    }
    const recording: MediaPlaylistSegment[] = [];
    try {
      for (const line of readFileSync(this.recordingFile, "utf8").split("\n")) {
        if (line.trim() === "") continue;
        try {
          recording.push(JSON.parse(line) as MediaPlaylistSegment);
        } catch {
          // a line cut short by the crash: the segment's upload may not have finished either
        }
      }
    } catch {
      // no recording (recording off, or nothing recorded yet)
    }
    return { packager, recording };
  }

  savePackager(state: PackagerResume): void {
    const tmp = `${this.stateFile}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify(state));
      renameSync(tmp, this.stateFile);
    } catch (error) {
      this.log(`journal: could not save ${this.streamId}: ${(error as Error).message}`);
    }
  }

  appendRecording(segment: MediaPlaylistSegment): void {
    try {
      appendFileSync(this.recordingFile, `${JSON.stringify(segment)}\n`);
    } catch (error) {
      this.log(`journal: could not append to the recording of ${this.streamId}: ${(error as Error).message}`);
    }
  }

  /** The stream ended: nothing to continue. */
  remove(): void {
    rmSync(this.stateFile, { force: true });
    rmSync(this.recordingFile, { force: true });
  }

  /** Drops journals of streams nobody continued for a day. */
  static prune(dir: string, now = Date.now()): void {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const file = join(dir, name);
      try {
        if (now - statSync(file).mtimeMs > MAX_AGE_MS) rmSync(file, { force: true });
      } catch {
        // gone meanwhile
      }
    }
  }
}
