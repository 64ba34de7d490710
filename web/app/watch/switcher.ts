/**
 * "Also on this game": the other live streams of the watch page's event.
 * Picking one switches the page to it in place, so the scorebug (and its
 * event socket) keep their state.
 */
import { api, type StreamInfo } from "../api.js";
import { el, replace, show } from "../dom.js";

const REFRESH_MS = 15_000;

export class EventStreams {
  private current: string;
  private streams: StreamInfo[] = [];

  constructor(
    private readonly root: HTMLElement,
    private readonly eventId: string,
    private readonly pick: (streamId: string) => void,
  ) {
    this.current = (root.closest("[data-stream-id]") as HTMLElement | null)?.dataset.streamId ?? "";
    void this.refresh();
    setInterval(() => void this.refresh(), REFRESH_MS);
  }

  setCurrent(streamId: string): void {
    this.current = streamId;
    this.render();
  }

  private async refresh(): Promise<void> {
    if (document.hidden) return;
    try {
      const body = await api<{ streams: StreamInfo[] }>(`/api/streams?eventId=${encodeURIComponent(this.eventId)}&limit=12`);
      this.streams = body.streams;
      this.render();
    } catch {
      // keep the last list
    }
  }

  private render(): void {
    const others = this.streams.filter((s) => s.streamId !== this.current);
    show(this.root, others.length > 0);
    const items = others.map((s) => {
      const button = el("button", { type: "button", class: "chip" }, s.title || "Untitled stream");
      button.addEventListener("click", () => this.pick(s.streamId));
      return el("li", {}, button);
    });
    replace(this.root, el("h2", { class: "panel-title" }, "Also on this game"), el("ul", { class: "chips" }, ...items));
  }
}
