/**
 * Typed access to bench/page/barcode.js (a classic script shared with the
 * browser page, so the frame-number decoder exists once).
 */
import "../page/barcode.js";

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface BenchBarcodeApi {
  BITS: number;
  BLOCKS: number;
  cells(width: number, height: number): Rect[];
  sampleRect(index: number, width: number, height: number): Rect;
  decode(rgba: ArrayLike<number>, width: number, height: number): number | null;
  ffmpegFilter(width: number, height: number): string;
}

export const barcode = (globalThis as unknown as { BenchBarcode: BenchBarcodeApi }).BenchBarcode;
