/**
 * Bundle entry of the directory page (/): live streams grouped by their event
 * (the event's live score in the group's header), then recent replays. Both
 * lists page through GET /api/streams with its cursor. Scores refresh every
 * few seconds from GET /api/events (the event rooms keep D1 current while
 * they poll); each card's viewer count comes from GET /api/streams/<id>.
 */
import "./boot.js";
import { api, type SportEvent, type StreamInfo } from "./api.js";
import { $, el, formatCount, formatDuration, replace, show } from "./dom.js";
import { periodText, scoreLine } from "./scorebug.js";

interface Page {
  streams: StreamInfo[];
  nextCursor: string | null;
}

const LIVE_PAGE = 12;
const REPLAY_PAGE = 8;
const SCORE_MS = 5_000;
const VIEWERS_MS = 15_000;

class Directory {
  private live: StreamInfo[] = [];
  private liveCursor: string | null = null;
  private replayCursor: string | null = null;
  private readonly events = new Map<string, SportEvent>();
  private readonly viewerCells = new Map<string, HTMLElement>();
  private readonly scoreCells = new Map<string, HTMLElement>();

  constructor() {
    $("#more-live").addEventListener("click", () => void this.loadLive(true));
    $("#more-replays").addEventListener("click", () => void this.loadReplays(true));
    void this.loadLive(false);
    void this.loadReplays(false);
    setInterval(() => void this.refreshScores(), SCORE_MS);
    setInterval(() => void this.refreshViewers(), VIEWERS_MS);
  }

  private async loadLive(more: boolean): Promise<void> {
    const status = $("#dir-status");
    try {
      const query = `/api/streams?limit=${LIVE_PAGE}${more && this.liveCursor ? `&cursor=${encodeURIComponent(this.liveCursor)}` : ""}`;
      const page = await api<Page>(query);
      this.live = more ? [...this.live, ...page.streams] : page.streams;
      this.liveCursor = page.nextCursor;
      await this.loadEvents();
      this.renderLive();
      // after the cards: "More" never shows over a list still being drawn
      show($("#more-live"), page.nextCursor !== null);
      status.textContent = this.live.length === 0 ? "Nobody is live right now. Start a stream from the Studio." : "";
      show(status, this.live.length === 0);
      void this.refreshViewers();
    } catch (error) {
      status.textContent = `Could not load the live streams: ${(error as Error).message}`;
    }
  }

  /** The events of the listed streams: in progress ones in one call, any other one by id. */
  private async loadEvents(): Promise<void> {
    try {
      const body = await api<{ events: SportEvent[] }>("/api/events?status=in_progress");
      for (const event of body.events) this.events.set(event.eventId, event);
    } catch {
      // groups still show, without a score
    }
    const missing = [...new Set(this.live.map((s) => s.eventId).filter((id): id is string => !!id && !this.events.has(id)))];
    await Promise.all(
      missing.map((id) =>
        api<SportEvent>(`/api/events/${encodeURIComponent(id)}`).then(
          (e) => this.events.set(id, e),
          () => {},
        ),
      ),
    );
  }

  private renderLive(): void {
    const groups = new Map<string, StreamInfo[]>();
    for (const stream of this.live) {
      const key = stream.eventId ?? "";
      groups.set(key, [...(groups.get(key) ?? []), stream]);
    }
    this.viewerCells.clear();
    this.scoreCells.clear();
    const sections = [...groups.entries()]
      .sort(([a], [b]) => (a === "" ? 1 : b === "" ? -1 : 0))
      .map(([eventId, streams]) => {
        const event = eventId ? this.events.get(eventId) : undefined;
        const score = el("span", { class: "group-score" });
        if (eventId) this.scoreCells.set(eventId, score);
        this.fillScore(score, event);
        const title = event?.home && event.away ? `${event.home.name} v ${event.away.name}` : eventId ? "Game" : "Other streams";
        return el(
          "section",
          { class: "group", "aria-label": title },
          el("div", { class: "group-head" }, el("h2", {}, title), score),
          el("ul", { class: "cards" }, ...streams.map((s) => el("li", {}, this.liveCard(s)))),
        );
      });
    replace($("#live-groups"), ...sections);
  }

  private fillScore(cell: HTMLElement, event: SportEvent | undefined): void {
    if (!event?.home || !event.away) return replace(cell);
    replace(cell, scoreLine(event), " ", el("span", { class: "period" }, periodText(event)));
  }

  private liveCard(stream: StreamInfo): HTMLElement {
    const viewers = el("span", { class: "viewers-chip" }, "– watching");
    this.viewerCells.set(stream.streamId, viewers);
    return el(
      "a",
      { class: "stream-card", href: `/watch/${stream.streamId}` },
      el(
        "div",
        { class: "thumb" },
        thumbnail(stream),
        el("span", { class: "badge live" }, stream.status === "reconnecting" ? "RECONNECTING" : "LIVE"),
        viewers,
      ),
      el(
        "div",
        { class: "card-body" },
        el("p", { class: "card-title" }, stream.title || "Untitled stream"),
        el("p", { class: "card-meta" }, stream.startedAt ? `Live for ${formatDuration(Date.now() - stream.startedAt)}` : "Starting"),
      ),
    );
  }

  private async refreshScores(): Promise<void> {
    if (document.hidden || this.scoreCells.size === 0) return;
    try {
      const body = await api<{ events: SportEvent[] }>("/api/events?status=in_progress");
      for (const event of body.events) {
        this.events.set(event.eventId, event);
        const cell = this.scoreCells.get(event.eventId);
        if (cell) this.fillScore(cell, event);
      }
    } catch {
      // next time
    }
  }

  private async refreshViewers(): Promise<void> {
    if (document.hidden) return;
    await Promise.all(
      [...this.viewerCells.entries()].map(async ([id, cell]) => {
        try {
          const info = await api<StreamInfo>(`/api/streams/${id}`);
          cell.textContent = `${formatCount(info.viewerCount ?? 0)} watching`;
        } catch {
          // keep the last count
        }
      }),
    );
  }

  private async loadReplays(more: boolean): Promise<void> {
    try {
      const query = `/api/streams?status=ended&limit=${REPLAY_PAGE}${more && this.replayCursor ? `&cursor=${encodeURIComponent(this.replayCursor)}` : ""}`;
      const page = await api<Page>(query);
      this.replayCursor = page.nextCursor;
      const list = $("#replays");
      if (!more) replace(list);
      for (const stream of page.streams) list.appendChild(el("li", {}, replayCard(stream)));
      if (list.children.length === 0) list.appendChild(el("li", { class: "muted" }, "No replays yet."));
      show($("#more-replays"), page.nextCursor !== null);
    } catch (error) {
      replace($("#replays"), el("li", { class: "error" }, `Could not load the replays: ${(error as Error).message}`));
    }
  }
}

function thumbnail(stream: StreamInfo): HTMLElement {
  if (!stream.thumbnailUrl) return el("span", { "aria-hidden": "true" }, "▶");
  // same origin (/thumbnails/…); the img-src CSP allows nothing else
  return el("img", { src: new URL(stream.thumbnailUrl, location.href).pathname, alt: "", loading: "lazy", width: 320, height: 180 });
}

function replayCard(stream: StreamInfo): HTMLElement {
  const duration = stream.startedAt && stream.endedAt ? formatDuration(stream.endedAt - stream.startedAt) : "";
  const when = stream.endedAt
    ? new Date(stream.endedAt).toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" })
    : "";
  return el(
    "a",
    { class: "stream-card", href: `/replay/${stream.streamId}` },
    el(
      "div",
      { class: "thumb" },
      thumbnail(stream),
      el("span", { class: "badge" }, "REPLAY"),
      duration ? el("span", { class: "viewers-chip" }, duration) : null,
    ),
    el(
      "div",
      { class: "card-body" },
      el("p", { class: "card-title" }, stream.title || "Untitled stream"),
      el("p", { class: "card-meta" }, when),
    ),
  );
}

new Directory();
