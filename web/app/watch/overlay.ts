/**
 * What sits over the video: the stream's state (waiting for the broadcaster,
 * reconnecting, ended with the final stats and the replay link), floating
 * hearts for likes, gift and notice toasts.
 */
import { api, type StreamInfo } from "../api.js";
import { el, formatCount, formatDuration, replace, show } from "../dom.js";

export type StreamStatus = StreamInfo["status"];

export interface EndedStats {
  durationMs?: number | null;
  peakViewers?: number;
  joins?: number;
  likes?: number;
}

export class Overlay {
  private replayTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly root: HTMLElement) {}

  render(status: StreamStatus, streamId: string, stats: EndedStats | null): void {
    if (this.replayTimer !== null) clearTimeout(this.replayTimer);
    this.replayTimer = null;
    this.root.dataset.state = status;
    if (status === "live") return show(this.root, false);
    show(this.root, true);
    if (status === "created") {
      replace(
        this.root,
        el(
          "div",
          { class: "overlay-box" },
          el("p", { class: "overlay-title" }, "Waiting for the broadcaster"),
          el("p", {}, "The video starts by itself when the stream goes live."),
        ),
      );
    } else if (status === "reconnecting") {
      replace(
        this.root,
        el(
          "div",
          { class: "overlay-box translucent" },
          el("p", { class: "overlay-title" }, "Broadcaster reconnecting…"),
          el("p", {}, "Playback resumes by itself."),
        ),
      );
    } else {
      const replayLink = el("a", { class: "button primary", href: `/replay/${streamId}`, hidden: true }, "Watch the replay");
      const replayNote = el("p", { class: "muted" }, "The replay is being prepared…");
      const facts = el(
        "dl",
        { class: "stats" },
        el("dt", {}, "Duration"),
        el("dd", {}, formatDuration(stats?.durationMs)),
        el("dt", {}, "Peak viewers"),
        el("dd", {}, formatCount(stats?.peakViewers)),
        el("dt", {}, "Joins"),
        el("dd", {}, formatCount(stats?.joins)),
        el("dt", {}, "Likes"),
        el("dd", {}, formatCount(stats?.likes)),
      );
      replace(
        this.root,
        el("div", { class: "overlay-box" }, el("p", { class: "overlay-title" }, "The stream has ended"), facts, replayLink, replayNote),
      );
      this.waitForReplay(streamId, replayLink, replayNote, 0);
    }
  }

  /** The recording is uploaded before the end is reported, but R2 can lag: look again a few times. */
  private waitForReplay(streamId: string, link: HTMLElement, note: HTMLElement, attempt: number): void {
    api(`/api/streams/${streamId}/replay`).then(
      () => {
        show(link, true);
        show(note, false);
      },
      () => {
        if (attempt < 20) this.replayTimer = setTimeout(() => this.waitForReplay(streamId, link, note, attempt + 1), 3000);
        else note.textContent = "No replay is available for this stream.";
      },
    );
  }
}

/** Floating hearts (at most a few per burst) and short toasts. */
export class Reactions {
  constructor(
    private readonly floaters: HTMLElement,
    private readonly toasts: HTMLElement,
  ) {}

  hearts(count: number): void {
    if (matchMedia("(prefers-reduced-motion: reduce)").matches) return;
    for (let i = 0; i < Math.min(count, 5); i++) {
      const heart = el("span", { class: "heart" }, "♥");
      heart.style.left = `${10 + Math.random() * 80}%`;
      heart.style.animationDelay = `${i * 120}ms`;
      heart.addEventListener("animationend", () => heart.remove());
      this.floaters.appendChild(heart);
    }
  }

  toast(text: string, kind = "info"): void {
    const item = el("p", { class: `toast ${kind}`, role: "status" }, text);
    this.toasts.appendChild(item);
    setTimeout(() => item.remove(), 5000);
    while (this.toasts.children.length > 3) this.toasts.firstElementChild?.remove();
  }
}
