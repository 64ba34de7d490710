/**
 * The QoE table: the room's telemetry aggregate per group ("all",
 * "device:mobile", "country:FR", ...), one row each, with a one-click action
 * for the group (cap the rendition / lift the cap). Players report every 5 s:
 * stallMs is the stall time within the last report's period, so the stall
 * ratio is avgStallMs / 5 s. Latency is the room's median over the group's
 * viewers of each one's latest report (one viewer far behind does not make
 * the whole group look late), the average only where a room predates it.
 */
import { el, replace } from "../dom.js";

export interface GroupStats {
  connections: number;
  reports: number;
  avgBitrateKbps: number | null;
  avgStallMs: number | null;
  avgBufferMs: number | null;
  avgLatencyMs: number | null;
  /** median over the group's viewers of their latest latency (workers/rooms/telemetry.ts) */
  medianLatencyMs?: number | null;
}

export interface Summary {
  reports: number;
  groups: Record<string, GroupStats>;
}

export type GroupFilter = { country?: string; device?: string };

const REPORT_PERIOD_MS = 5_000;

/** "device:mobile" → { device: "mobile" }; "all" → null (every viewer). */
export function groupFilter(key: string): GroupFilter | null {
  const [kind, value] = key.split(":");
  if (kind === "device" && value) return { device: value };
  if (kind === "country" && value) return { country: value };
  return null;
}

export function groupLabel(key: string): string {
  if (key === "all") return "All viewers";
  const [kind, value] = key.split(":");
  return kind === "device" ? `Device: ${value}` : kind === "country" ? `Country: ${value}` : key;
}

export function stallRatio(stats: GroupStats): number | null {
  return stats.avgStallMs === null ? null : Math.min(1, stats.avgStallMs / REPORT_PERIOD_MS);
}

/** The group's typical latency: the median when the room sends it. */
export function groupLatency(stats: GroupStats): number | null {
  return stats.medianLatencyMs !== undefined ? stats.medianLatencyMs : stats.avgLatencyMs;
}

/** Poor QoE: stalling more than 2 % of the time, or the median viewer more than 5 s behind the server clock. */
export function isPoor(stats: GroupStats): boolean {
  return (stallRatio(stats) ?? 0) > 0.02 || (groupLatency(stats) ?? 0) > 5_000;
}

export class QoeTable {
  summary: Summary | null = null;
  /** groups capped from here: key → height */
  readonly capped = new Map<string, number>();
  private readonly body = el("tbody");

  constructor(
    root: HTMLElement,
    private readonly capHeight: () => number | null,
    private readonly act: (key: string, action: "cap_rendition" | "uncap_rendition") => Promise<void>,
  ) {
    const head = el(
      "thead",
      {},
      el(
        "tr",
        {},
        ...["Group", "Viewers", "Stall", "Median latency", "Bitrate", "Buffer", "Action"].map((h) => el("th", { scope: "col" }, h)),
      ),
    );
    replace(
      root,
      el("h2", { class: "panel-title" }, "Quality of experience"),
      el("div", { class: "qoe-wrap" }, el("table", { class: "qoe" }, head, this.body)),
      el(
        "p",
        { class: "muted" },
        "From each viewer's latest report (every 5 s). Latency: server clock minus the playhead's program time, the median over the group's viewers; stall, bitrate and buffer: averages.",
      ),
    );
    this.render();
  }

  update(summary: Summary): void {
    this.summary = summary;
    this.render();
  }

  private render(): void {
    const groups = Object.entries(this.summary?.groups ?? {});
    if (groups.length === 0) {
      replace(this.body, el("tr", {}, el("td", { colspan: 7, class: "muted" }, "No player reports yet.")));
      return;
    }
    groups.sort(([a], [b]) => (a === "all" ? -1 : b === "all" ? 1 : a.localeCompare(b)));
    replace(this.body, ...groups.map(([key, s]) => this.row(key, s)));
  }

  private row(key: string, s: GroupStats): HTMLTableRowElement {
    const ratio = stallRatio(s);
    const latency = groupLatency(s);
    const height = this.capHeight();
    const capped = this.capped.has(key);
    const button = el(
      "button",
      { type: "button", class: "copy", "data-group": key },
      capped ? "Lift cap" : height ? `Cap ${height}p` : "Cap",
    );
    button.setAttribute("aria-label", capped ? `Lift the quality cap for ${groupLabel(key)}` : `Cap the quality of ${groupLabel(key)}`);
    button.addEventListener("click", () => {
      button.disabled = true;
      void this.act(key, capped ? "uncap_rendition" : "cap_rendition").finally(() => this.render());
    });
    return el(
      "tr",
      { class: isPoor(s) ? "poor" : "", "data-group": key },
      // data-label: on a phone each row is a card and each cell names itself (app.css)
      el("td", {}, groupLabel(key), capped ? el("span", { class: "badge" }, ` capped ${this.capped.get(key)}p`) : null),
      el("td", { "data-label": "Viewers" }, s.connections),
      el("td", { "data-label": "Stall" }, ratio === null ? "–" : `${(ratio * 100).toFixed(1)} %`),
      el("td", { class: "latency", "data-label": "Median latency" }, latency === null ? "–" : `${(latency / 1000).toFixed(2)} s`),
      el("td", { class: "bitrate", "data-label": "Bitrate" }, s.avgBitrateKbps === null ? "–" : `${Math.round(s.avgBitrateKbps)} kb/s`),
      el("td", { "data-label": "Buffer" }, s.avgBufferMs === null ? "–" : `${(s.avgBufferMs / 1000).toFixed(1)} s`),
      el("td", { class: "action" }, button),
    );
  }
}
