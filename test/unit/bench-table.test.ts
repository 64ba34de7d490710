import { describe, expect, it } from "vitest";
import { fanoutRows } from "../../bench/phases/fanout.js";
import { lineChart, niceTicks } from "../../bench/lib/svg.js";
import { formatCell, formatNumber, ratio, renderReport, renderTable, type Row } from "../../bench/lib/table.js";

const rows: Row[] = [
  { group: "latency", measure: "median", unit: "s", ours: 1.234, peer: 6.5, better: "lower" },
  { group: "offload 10 viewers", measure: "origin requests", unit: "", ours: 12, peer: 0, better: "lower" },
  { group: "offload 10 viewers", measure: "by type", unit: "", ours: "media 3, segment 9", peer: null, better: "", note: "a | b" },
  { group: "edge hit", measure: "offload", unit: "%", ours: 99.5, peer: 98.25, better: "higher" },
];

describe("bench table", () => {
  it("computes ours/peer only for two finite numbers with a non-zero peer", () => {
    expect(ratio(2, 4)).toBe(0.5);
    expect(ratio(2, 0)).toBeNull();
    expect(ratio("x", 1)).toBeNull();
    expect(ratio(null, 1)).toBeNull();
  });

  it("formats numbers and cells", () => {
    expect(formatNumber(12345.6)).toBe("12,346");
    expect(formatNumber(12.345)).toBe("12.3");
    expect(formatNumber(1.2345)).toBe("1.23");
    expect(formatNumber(0.012345)).toBe("0.012");
    expect(formatNumber(3)).toBe("3");
    expect(formatCell(null, "s")).toBe("n/a");
    expect(formatCell(99.5, "%")).toBe("99.5 %");
    expect(formatCell(1.5, "ms")).toBe("1.50 ms");
  });

  it("renders a markdown table with a ratio column and escaped cells", () => {
    const text = renderTable(rows);
    const lines = text.split("\n");
    expect(lines[0]).toBe("| figure | ours | peer | ours/peer | better | note |");
    expect(lines[1]).toBe("|---|---:|---:|---:|---|---|");
    expect(lines[2]).toBe("| latency: median | 1.23 s | 6.50 s | 0.19× | lower |  |");
    expect(lines[3]).toContain("| 12 | 0 | — |");
    expect(lines[4]).toContain("a \\| b");
    expect(lines[4]).toContain("| n/a |");
    expect(lines).toHaveLength(2 + rows.length);
    for (const line of lines) expect(line.split(/(?<!\\)\|/).length).toBe(8);
  });

  it("renders the report with machine, versions and notes", () => {
    const report = renderReport(
      { title: "T", startedAt: "now", mode: "full", machine: { cpu: "x" }, versions: { nginx: "1" }, settings: { a: "b" } },
      rows,
      ["note one"],
    );
    expect(report).toMatch(/^# T\n/);
    expect(report).toContain("- cpu: x");
    expect(report).toContain("- nginx: 1");
    expect(report).toContain("- note one");
    expect(report).toContain("| latency: median |");
  });

  it("turns a fan-out result into rows, preferring its own rows", () => {
    expect(fanoutRows({ rows: [{ measure: "p99", unit: "ms", ours: 12, peer: 10, better: "lower" }] })).toEqual([
      { group: "event fan-out", measure: "p99", unit: "ms", ours: 12, peer: 10, better: "lower" },
    ]);
    const flat = fanoutRows({ ours: { p50: 3, p99: 9 } });
    expect(flat.map((r) => [r.measure, r.ours])).toEqual([
      ["ours p50", 3],
      ["ours p99", 9],
    ]);
  });
});

describe("latency chart", () => {
  it("picks round ticks", () => {
    expect(niceTicks(0, 10)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(0, 7.3, 5)).toEqual([0, 2, 4, 6]);
  });

  it("draws one path per series, dashed where asked, and escapes text", () => {
    const svg = lineChart(
      [
        {
          name: "ours <a>",
          color: "#f00",
          points: [
            [0, 1],
            [1, 2],
          ],
        },
        {
          name: "peer",
          color: "#00f",
          dashed: true,
          points: [
            [0, 6],
            [1, 6.5],
          ],
        },
        { name: "empty", color: "#000", points: [] },
      ],
      { title: "t & u", xLabel: "x", yLabel: "y" },
    );
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.match(/<path /g)).toHaveLength(2);
    expect(svg).toContain('stroke-dasharray="6 4"');
    expect(svg).toContain("ours &lt;a&gt;");
    expect(svg).toContain("t &amp; u");
    expect(svg.trim().endsWith("</svg>")).toBe(true);
  });
});
