/**
 * Result rows and their markdown rendering. Pure: the bench builds rows, this
 * turns them into the table printed at the end and written to
 * bench/results/latest.md.
 */

/** A cell: a number (in the row's unit), a text, or null for "n/a". */
export type Cell = number | string | null;
export type Better = "lower" | "higher" | "";

export interface Row {
  /** e.g. "latency", "offload 100 viewers". */
  group: string;
  measure: string;
  /** e.g. "s", "ms", "%", "req/s", "" */
  unit: string;
  ours: Cell;
  peer: Cell;
  better: Better;
  note?: string;
}

/** ours / peer when both are finite numbers and peer is not zero. */
export function ratio(ours: Cell, peer: Cell): number | null {
  if (typeof ours !== "number" || typeof peer !== "number") return null;
  if (!Number.isFinite(ours) || !Number.isFinite(peer) || peer === 0) return null;
  return ours / peer;
}

/** A number with sensible precision: 3 significant digits below 100, integers above. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 100 || Number.isInteger(value)) return Math.round(value).toLocaleString("en-US");
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  if (abs === 0) return "0";
  return value.toPrecision(2);
}

export function formatCell(cell: Cell, unit: string): string {
  if (cell === null) return "n/a";
  if (typeof cell === "string") return cell;
  const text = formatNumber(cell);
  if (!unit) return text;
  return unit === "%" ? `${text} %` : `${text} ${unit}`;
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

export function renderTable(rows: readonly Row[]): string {
  const header = ["figure", "ours", "peer", "ours/peer", "better", "note"];
  const lines = [`| ${header.join(" | ")} |`, `|${header.map((h, i) => (i >= 1 && i <= 3 ? "---:" : "---")).join("|")}|`];
  for (const row of rows) {
    const r = ratio(row.ours, row.peer);
    const cells = [
      `${row.group}: ${row.measure}`,
      formatCell(row.ours, row.unit),
      formatCell(row.peer, row.unit),
      r === null ? "—" : `${r.toFixed(r >= 10 ? 1 : 2)}×`,
      row.better === "" ? "" : `${row.better}`,
      row.note ?? "",
    ];
    lines.push(`| ${cells.map(escapeCell).join(" | ")} |`);
  }
  return lines.join("\n");
}

export interface ReportHeader {
  title: string;
  startedAt: string;
  mode: string;
  machine: Record<string, string>;
  versions: Record<string, string>;
  settings: Record<string, string>;
}

function bulletList(record: Record<string, string>): string {
  return Object.entries(record)
    .map(([k, v]) => `- ${k}: ${v}`)
    .join("\n");
}

export function renderReport(header: ReportHeader, rows: readonly Row[], notes: readonly string[]): string {
  return [
    `# ${header.title}`,
    "",
    `Run ${header.startedAt}, mode ${header.mode}. "peer" is nginx-rtmp HLS behind two nginx proxy_cache tiers (mother, child) with proxy_cache_lock for the media figures, and a plain Node \`ws\` broadcast server for event fan-out; same machine, same run. The ratio is ours/peer; "better" says which direction is good.`,
    "",
    "## Machine",
    "",
    bulletList(header.machine),
    "",
    "## Versions",
    "",
    bulletList(header.versions),
    "",
    "## Settings",
    "",
    bulletList(header.settings),
    "",
    "## Results",
    "",
    renderTable(rows),
    "",
    "## Notes",
    "",
    ...notes.map((n) => `- ${n}`),
    "",
  ].join("\n");
}
