// Frame-number barcode shared by the bench's FFmpeg source (which draws it)
// and the bench player page (which reads it back from the displayed frame).
// A classic script on purpose: the browser loads it as-is, and Node imports it
// for its side effect (globalThis.BenchBarcode), so there is one decoder.
//
// Layout, in fractions of the frame so it survives every ladder rung: a black
// stripe near the bottom holding BLOCKS square-ish cells of width W/(BLOCKS+2):
//   cell 0: always white (reference), cell 1: always black (reference),
//   cells 2..2+BITS-1: bit i of the frame number n (LSB first), white = 1,
//   last cell: parity (white when the number of 1 bits is odd).
(function (root) {
  "use strict";
  var BITS = 20;
  var BLOCKS = BITS + 3;
  var COLUMNS = BLOCKS + 2;
  var ROW_TOP = 10 / 12; // stripe from 10/12 to 11/12 of the height
  var ROW_HEIGHT = 1 / 12;

  /** Cell rectangles in pixels for a frame of width x height (integers, for drawbox). */
  function cells(width, height) {
    var out = [];
    var cw = Math.floor(width / COLUMNS);
    var y = Math.round(height * ROW_TOP);
    var h = Math.round(height * ROW_HEIGHT);
    for (var i = 0; i < BLOCKS; i++) {
      out.push({ x: Math.round(((i + 1) * width) / COLUMNS), y: y, w: cw, h: h });
    }
    return out;
  }

  /** Centre 50 % of cell i in a frame of width x height (any rung). */
  function sampleRect(i, width, height) {
    var cw = width / COLUMNS;
    var h = height * ROW_HEIGHT;
    var x0 = ((i + 1) * width) / COLUMNS;
    var y0 = height * ROW_TOP;
    return {
      x: Math.round(x0 + cw * 0.25),
      y: Math.round(y0 + h * 0.25),
      w: Math.max(1, Math.round(cw * 0.5)),
      h: Math.max(1, Math.round(h * 0.5)),
    };
  }

  function meanLuma(rgba, width, rect) {
    var sum = 0;
    var count = 0;
    for (var y = rect.y; y < rect.y + rect.h; y++) {
      for (var x = rect.x; x < rect.x + rect.w; x++) {
        var p = (y * width + x) * 4;
        sum += 0.299 * rgba[p] + 0.587 * rgba[p + 1] + 0.114 * rgba[p + 2];
        count++;
      }
    }
    return count ? sum / count : 0;
  }

  /**
   * Frame number from RGBA pixels (row-major, 4 bytes a pixel), or null when
   * the references are not contrasted enough or the parity fails.
   */
  function decode(rgba, width, height) {
    var white = meanLuma(rgba, width, sampleRect(0, width, height));
    var black = meanLuma(rgba, width, sampleRect(1, width, height));
    if (white - black < 60) return null;
    var threshold = (white + black) / 2;
    var n = 0;
    var ones = 0;
    for (var i = 0; i < BITS; i++) {
      if (meanLuma(rgba, width, sampleRect(2 + i, width, height)) > threshold) {
        n += Math.pow(2, i);
        ones++;
      }
    }
    var parity = meanLuma(rgba, width, sampleRect(2 + BITS, width, height)) > threshold ? 1 : 0;
    if (parity !== ones % 2) return null;
    return n;
  }

  /** FFmpeg drawbox chain that draws frame number `n` (the filter's own frame counter). */
  function ffmpegFilter(width, height) {
    var c = cells(width, height);
    var first = c[0];
    var last = c[c.length - 1];
    var filters = [
      "drawbox=x=" +
        (first.x - 4) +
        ":y=" +
        (first.y - 4) +
        ":w=" +
        (last.x + last.w - first.x + 8) +
        ":h=" +
        (first.h + 8) +
        ":color=black:t=fill",
      "drawbox=x=" + c[0].x + ":y=" + c[0].y + ":w=" + c[0].w + ":h=" + c[0].h + ":color=white:t=fill",
    ];
    var bitTerms = [];
    for (var i = 0; i < BITS; i++) {
      var term = "mod(floor(n/" + Math.pow(2, i) + "),2)";
      bitTerms.push(term);
      var cell = c[2 + i];
      filters.push("drawbox=x=" + cell.x + ":y=" + cell.y + ":w=" + cell.w + ":h=" + cell.h + ":color=white:t=fill:enable='" + term + "'");
    }
    var p = c[2 + BITS];
    filters.push(
      "drawbox=x=" + p.x + ":y=" + p.y + ":w=" + p.w + ":h=" + p.h + ":color=white:t=fill:enable='mod(" + bitTerms.join("+") + ",2)'",
    );
    return filters.join(",");
  }

  root.BenchBarcode = { BITS: BITS, BLOCKS: BLOCKS, cells: cells, sampleRect: sampleRect, decode: decode, ffmpegFilter: ffmpegFilter };
})(typeof globalThis !== "undefined" ? globalThis : window);
