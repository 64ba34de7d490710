/**
 * The scorebug: teams, score, period, clock and status of the stream's event.
 * By default a change shows when the video's playhead reaches the moment the
 * server observed it (no spoilers ahead of the commentator); the "Real time"
 * toggle shows the latest state at once. The state lives in a ScoreTimeline,
 * fed by the event room's socket, and survives a switch to another stream of
 * the same event.
 */
import type { SportEvent } from "./api.js";
import { el, replace } from "./dom.js";
import type { ServerFrame } from "./room-socket.js";
import { ScoreTimeline } from "./score-timeline.js";

export type ScoreMode = "playhead" | "realtime";

/** Teams and score in one line of elements (also the directory's cards). */
export function scoreLine(event: SportEvent): HTMLElement {
  const team = (t: SportEvent["home"], side: string) =>
    el("span", { class: `team ${side}` }, el("abbr", { title: t.name }, t.abbr), el("b", { class: "score" }, t.score));
  return el(
    "span",
    { class: "score-line" },
    team(event.home, "home"),
    el("span", { class: "dash", "aria-hidden": "true" }, "–"),
    team(event.away, "away"),
  );
}

export function periodText(event: SportEvent): string {
  if (event.status === "final") return "Final";
  if (event.status === "scheduled")
    return `Starts ${new Date(event.startTime).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}`;
  const period = event.period === null ? "" : typeof event.period === "number" ? `Q${event.period}` : event.period;
  return [period, event.clock ?? ""].filter(Boolean).join(" · ");
}

export interface ScorebugHost {
  /** Program time at the playhead (ms), null when nothing plays. */
  programTime(): number | null;
  /** The player's revealAt (fires when the playhead reaches `stamp`; `late` is > 0 after a seek over it). */
  revealAt(stamp: number, callback: (info: { late: number }) => void): { cancel(): void };
  readonly state: { seeks: number };
}

export class Scorebug {
  readonly timeline = new ScoreTimeline();
  mode: ScoreMode;
  /** what is on screen and when it changed (tests read it through window.__watch) */
  shown: { event: SportEvent | null; programTime: number | null; at: number } = { event: null, programTime: null, at: 0 };
  readonly reveals: Array<{ ts: number; programTime: number | null; at: number; mode: ScoreMode }> = [];
  /** every reveal the player fired: how late, and whether the sync controller sought since it was scheduled */
  readonly fired: Array<{ ts: number; late: number; seeked: boolean }> = [];
  private host: ScorebugHost | null = null;
  private shownKey = "";
  private readonly board = el("div", { class: "scorebug-board", "aria-live": "polite" });
  private readonly toggle: HTMLButtonElement;

  constructor(root: HTMLElement) {
    this.mode = localStorage.getItem("edge.scoreMode") === "realtime" ? "realtime" : "playhead";
    this.toggle = el("button", { type: "button", class: "score-mode", "aria-pressed": "false" }, "Real time");
    this.toggle.title = "Off: the score changes when the video reaches the moment (no spoilers). On: the latest score at once.";
    this.toggle.addEventListener("click", () => this.setMode(this.mode === "realtime" ? "playhead" : "realtime"));
    replace(root, this.board, this.toggle);
    this.syncToggle();
    this.render(); // the placeholder until the event room's snapshot
  }

  /** The player the reveal follows (null while no video plays). */
  bind(host: ScorebugHost | null): void {
    this.host = host;
    this.render();
  }

  setMode(mode: ScoreMode): void {
    this.mode = mode;
    try {
      localStorage.setItem("edge.scoreMode", mode);
    } catch {
      // only this page remembers it
    }
    this.syncToggle();
    this.render();
  }

  private syncToggle(): void {
    this.toggle.setAttribute("aria-pressed", String(this.mode === "realtime"));
    this.toggle.classList.toggle("on", this.mode === "realtime");
  }

  /** A frame of the event room. */
  onFrame(frame: ServerFrame): void {
    if (frame.type === "event_snapshot") {
      this.timeline.snapshot(frame.ts, frame.seq, (frame.event as SportEvent | null) ?? null);
      this.schedule(frame.ts);
    } else if (frame.type === "event_update" && frame.changes && typeof frame.changes === "object") {
      this.timeline.update(frame.ts, frame.seq, frame.changes as Record<string, unknown>);
      this.schedule(frame.ts);
    }
    this.render();
  }

  private schedule(ts: number): void {
    const host = this.host;
    if (!host) return;
    const seeks = host.state.seeks;
    // on time to the frame: the player fires when its playhead reaches ts
    host.revealAt(ts, ({ late }) => {
      this.fired.push({ ts, late, seeked: host.state.seeks > seeks });
      if (this.fired.length > 50) this.fired.shift();
      this.render(ts);
    });
  }

  /** Re-evaluates what to show (every player tick, on each reveal, on toggle). */
  render(revealedTs?: number): void {
    const pt = this.host?.programTime() ?? null;
    // without a playhead (waiting, ended, not started) there is nothing to spoil: show the latest
    const at = this.mode === "realtime" || pt === null ? Number.POSITIVE_INFINITY : Math.max(pt, revealedTs ?? -Infinity);
    // a playhead before everything known (just joined, switched, still placing its start): the first state
    // known rather than an empty bug; at most the join's own head start, which the sync target keeps short
    const event = this.timeline.stateAt(at) ?? this.timeline.earliest();
    if (pt !== null) this.timeline.compact(pt - 60_000);
    const key = JSON.stringify(event);
    if (key === this.shownKey) return;
    this.shownKey = key;
    this.shown = { event, programTime: pt, at: Date.now() };
    this.reveals.push({ ts: revealedTs ?? NaN, programTime: pt, at: Date.now(), mode: this.mode });
    if (this.reveals.length > 50) this.reveals.shift();
    this.draw(event);
  }

  private draw(event: SportEvent | null): void {
    if (!event || !event.home || !event.away) {
      replace(this.board, el("span", { class: "score-empty" }, "Score loading…"));
      return;
    }
    replace(
      this.board,
      scoreLine(event),
      el("span", { class: "period" }, periodText(event)),
      event.status === "in_progress" ? el("span", { class: "badge live" }, "LIVE GAME") : null,
    );
  }
}
