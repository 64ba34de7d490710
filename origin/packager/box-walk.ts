/**
 * Walking the children of an ISO-BMFF box inside one buffer, bounds-checked:
 * a box that overruns its parent or a field beyond its box is a BoxError,
 * never a read past the data.
 */
import { BoxError } from "./box-splitter.js";

export interface BoxRange {
  type: string;
  /** Offset of the box header. */
  start: number;
  /** Offset of the payload (after size/type/largesize). */
  body: number;
  end: number;
}

export function* children(buf: Buffer, start: number, end: number): Generator<BoxRange> {
  let pos = start;
  while (pos + 8 <= end) {
    let size = buf.readUInt32BE(pos);
    const type = buf.toString("latin1", pos + 4, pos + 8);
    let body = pos + 8;
    if (size === 1) {
      if (pos + 16 > end) throw new BoxError(`truncated largesize header of '${type}'`);
      size = Number(buf.readBigUInt64BE(pos + 8));
      body = pos + 16;
    } else if (size === 0) {
      size = end - pos;
    }
    if (size < body - pos || pos + size > end) {
      throw new BoxError(`box '${type}' of ${size} bytes overruns its parent`);
    }
    yield { type, start: pos, body, end: pos + size };
    pos += size;
  }
}

export function child(buf: Buffer, parent: BoxRange, type: string): BoxRange | undefined {
  for (const c of children(buf, parent.body, parent.end)) if (c.type === type) return c;
  return undefined;
}

export function childrenOf(buf: Buffer, parent: BoxRange, type: string): BoxRange[] {
  return [...children(buf, parent.body, parent.end)].filter((c) => c.type === type);
}

export function path(buf: Buffer, parent: BoxRange, ...types: string[]): BoxRange | undefined {
  let cur: BoxRange | undefined = parent;
  for (const t of types) {
    if (!cur) return undefined;
    cur = child(buf, cur, t);
  }
  return cur;
}

export function need(box: BoxRange, offset: number, bytes: number): void {
  if (offset + bytes > box.end) throw new BoxError(`box '${box.type}' too short`);
}

/** The byte at `pos`; past the end of the data is a BoxError, never `undefined` arithmetic. */
export function byteAt(buf: Buffer, pos: number): number {
  const value = buf[pos];
  if (value === undefined) throw new BoxError(`read past the end of the data at ${pos}`);
  return value;
}

/** Version and flags of a FullBox; its fields start 4 bytes after `body`. */
export function fullBox(buf: Buffer, box: BoxRange): { version: number; flags: number; pos: number } {
  need(box, box.body, 4);
  return { version: byteAt(buf, box.body), flags: buf.readUInt32BE(box.body) & 0xffffff, pos: box.body + 4 };
}

export function readU64(buf: Buffer, pos: number): number {
  return Number(buf.readBigUInt64BE(pos));
}
