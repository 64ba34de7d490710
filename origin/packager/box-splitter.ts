/**
 * Splits FFmpeg's fragmented MP4 byte stream (a pipe, read in arbitrary
 * pieces) into top-level boxes.
 */

/** A complete top-level box; `data` includes the header. */
export interface Box {
  type: string;
  data: Buffer;
}

/** Thrown for byte streams we refuse to interpret (corrupt, hostile or truncated). */
export class BoxError extends Error {
  override name = "BoxError";
}

/** No top-level box FFmpeg writes for a ~2 s rendition comes near this; a bigger size means a corrupt stream. */
export const MAX_BOX_SIZE = 64 * 1024 * 1024;

const LARGE_HEADER = 16;

/**
 * Incremental top-level box splitter. Pipe reads cut boxes at arbitrary
 * points, so input pieces are only queued until a whole box is present and
 * then copied out once (never concatenated per read, which would be O(n²) for
 * a big mdat arriving in 64 KiB reads).
 */
export class BoxSplitter {
  private pieces: Buffer[] = [];
  private queued = 0;
  /** Size of the box at the head of the queue, once its header is complete. */
  private headSize: number | undefined;
  private failed = false;

  constructor(private readonly maxBoxSize: number = MAX_BOX_SIZE) {}

  /** Bytes received that do not yet form a complete box. */
  get buffered(): number {
    return this.queued;
  }

  /** Feeds one piece; returns the boxes it completed (possibly none). Throws BoxError on a corrupt stream. */
  push(piece: Buffer): Box[] {
    if (this.failed) throw new BoxError("box stream already failed");
    if (piece.length > 0) {
      this.pieces.push(piece);
      this.queued += piece.length;
    }
    const boxes: Box[] = [];
    for (;;) {
      if (this.headSize === undefined) {
        this.headSize = this.readHeadSize();
        if (this.headSize === undefined) break;
      }
      if (this.queued < this.headSize) break;
      const data = this.take(this.headSize);
      this.headSize = undefined;
      boxes.push({ type: data.toString("latin1", 4, 8), data });
    }
    return boxes;
  }

  private readHeadSize(): number | undefined {
    if (this.queued < 8) return undefined;
    const head = this.peek(Math.min(LARGE_HEADER, this.queued));
    const type = head.toString("latin1", 4, 8);
    const size32 = head.readUInt32BE(0);
    let size: number = size32;
    if (size32 === 1) {
      if (head.length < LARGE_HEADER) return undefined;
      const large = head.readBigUInt64BE(8);
      size = large > BigInt(this.maxBoxSize) ? Infinity : Number(large);
      if (size < LARGE_HEADER) this.fail(`box '${type}': largesize ${size} smaller than its header`);
    } else if (size32 === 0) {
      // "Extends to end of file" cannot be delimited in an unbounded pipe.
      this.fail(`box '${type}' with size 0 (to end of file) in a live stream`);
    } else if (size32 < 8) {
      this.fail(`box '${type}': size ${size32} smaller than its header`);
    }
    if (size > this.maxBoxSize) {
      this.fail(`box '${type}' of ${size} bytes exceeds the ${this.maxBoxSize}-byte limit`);
    }
    return size;
  }

  private fail(message: string): never {
    this.failed = true;
    this.pieces = [];
    this.queued = 0;
    throw new BoxError(message);
  }

  private peek(n: number): Buffer {
    const first = this.pieces[0];
    if (first && first.length >= n) return first.subarray(0, n);
    return Buffer.concat(this.pieces, n);
  }

  /** Removes exactly n bytes from the queue as a standalone copy, so the box never pins a larger pipe buffer. */
  private take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    let used = 0; // whole pieces consumed; removed in one splice so tiny reads stay linear
    while (filled < n) {
      const piece = this.pieces[used];
      if (!piece) throw new Error(`box splitter: ${n} bytes asked, ${filled} queued`); // callers check `queued` first
      const want = n - filled;
      if (piece.length <= want) {
        piece.copy(out, filled);
        filled += piece.length;
        used++;
      } else {
        piece.copy(out, filled, 0, want);
        filled += want;
        this.pieces[used] = piece.subarray(want);
      }
    }
    this.pieces.splice(0, used);
    this.queued -= n;
    return out;
  }
}
