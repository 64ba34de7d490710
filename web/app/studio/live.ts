/**
 * One stream in the studio while it is selected: the owner's socket on its
 * room (replayed from the start: chat history, thumbnails, the viewer count's
 * history), a preview player, the viewer chart, the QoE table with its group
 * actions, polls (open, live results, close) and chat with mute / unmute.
 */
import { createPlayer, type Player } from "../../player/player.js";
import { renditionsOf } from "../../player/renditions.js";
import { api, whenPlayable, type StreamInfo } from "../api.js";
import { el, replace, show } from "../dom.js";
import { openedPoll, PollCard, type PollState } from "../poll-card.js";
import { RoomSocket, SocketError, type ServerFrame } from "../room-socket.js";
import { keySession } from "../session.js";
import { ChatPanel, type ChatMessage } from "../watch/chat.js";
import { ViewerChart } from "./chart.js";
import { groupFilter, QoeTable, type Summary } from "./qoe.js";
import { thumbnailsCard } from "./setup.js";

const QOE_POLL_MS = 3_000;

export class StudioStream {
  readonly chart = new ViewerChart();
  readonly chat: ChatPanel;
  readonly poll: PollCard;
  readonly qoe: QoeTable;
  readonly thumbnails: string[] = [];
  readonly actionsSent: Array<{ group: string; action: string; recipients?: number }> = [];
  viewerCount = 0;
  status: StreamInfo["status"];
  private socket: RoomSocket | null = null;
  private player: Player | null = null;
  private heights: number[] = [];
  private readonly muted = new Set<string>();
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  /** the poll's live results (PollCard renders it, read-only: the broadcaster does not vote) */
  private readonly pollHolder = el("section", { class: "poll" });

  constructor(
    readonly stream: StreamInfo,
    private readonly apiKey: string,
    private readonly parts: {
      preview: HTMLElement;
      chart: HTMLElement;
      qoe: HTMLElement;
      poll: HTMLElement;
      chat: HTMLElement;
      thumbs?: HTMLElement;
    },
    private readonly onStatus: (status: StreamInfo["status"]) => void,
  ) {
    this.status = stream.status;
    this.chat = new ChatPanel(parts.chat, (text) => this.send({ type: "chat", text }));
    this.chat.decorate = (item, message) => this.muteButton(item, message);
    this.poll = new PollCard(this.pollHolder, null);
    this.qoe = new QoeTable(
      parts.qoe,
      () => this.lowestHeight(),
      (key, action) => this.groupAction(key, action),
    );
    this.renderPollForm();
    parts.qoe.append(this.noticeForm());
    parts.chart.append(this.chart.element);
    this.socket = new RoomSocket({
      path: `/ws/streams/${stream.streamId}`,
      since: 0,
      token: async () => (await keySession(apiKey)).token,
      onFrame: (frame) => this.onFrame(frame),
      onStatus: (s) =>
        this.chat.setEnabled(s === "open" && this.status !== "ended", this.status === "ended" ? "Chat is closed" : undefined),
    });
    this.timers.push(setInterval(() => this.chart.tick(), 2_000));
    this.timers.push(setInterval(() => void this.refreshQoe(), QOE_POLL_MS));
    void this.refreshQoe();
    if (stream.status === "live" || stream.status === "reconnecting") this.startPreview();
  }

  destroy(): void {
    this.socket?.close();
    this.player?.destroy();
    for (const t of this.timers) clearInterval(t);
  }

  private send(frame: { type: string; [k: string]: unknown }): Promise<ServerFrame> {
    return this.socket ? this.socket.send(frame) : Promise.reject(new SocketError("offline", "not connected"));
  }

  private onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case "hello":
        this.chat.me = (frame.you as { id: string } | undefined)?.id ?? null;
        this.setViewers(frame.viewerCount as number, Date.now());
        this.poll.set((frame.poll as PollState | null) ?? null);
        this.renderPollForm();
        // the replay from seq 0 has brought every thumbnail by now
        if (this.parts.thumbs && this.thumbnails.length)
          this.parts.thumbs.replaceWith((this.parts.thumbs = thumbnailsCard(this.thumbnails)));
        return;
      case "chat":
        return this.chat.add(frame);
      case "telemetry_summary":
        return this.qoe.update(frame as unknown as Summary);
      case "poll_open":
        this.poll.set(openedPoll(frame));
        return this.renderPollForm();
      case "poll_results":
        return this.poll.results(frame.pollId as string, frame.totals as number[], frame.total as number);
      case "poll_closed":
        this.poll.results(frame.pollId as string, frame.totals as number[], frame.total as number, true);
        return this.renderPollForm();
    }
    if (frame.type !== "system") return;
    const data = (frame.data as Record<string, unknown> | undefined) ?? {};
    switch (frame.event) {
      case "member_added":
      case "member_removed":
        return this.setViewers(frame.viewerCount as number, frame.ts);
      case "thumbnail":
        if (typeof data.url === "string" || typeof data.path === "string") this.thumbnails.push(String(data.url ?? data.path));
        return;
      case "muted":
        this.muted.add(frame.userId as string);
        return this.refreshMuteButtons();
      case "unmuted":
        this.muted.delete(frame.userId as string);
        return this.refreshMuteButtons();
      case "stream_started":
        this.setStatus("live");
        return;
      case "stream_ended":
        this.setStatus("ended");
        return;
    }
  }

  private setViewers(count: number, ts: number): void {
    if (typeof count !== "number") return;
    // the viewer count excludes the studio's own socket
    this.viewerCount = Math.max(0, count - 1);
    this.chart.add(this.viewerCount, Math.min(ts, Date.now()));
  }

  setStatus(status: StreamInfo["status"]): void {
    if (this.status === status || this.status === "ended") return;
    this.status = status;
    if (status === "live" || status === "reconnecting") this.startPreview();
    if (status === "ended") {
      this.player?.destroy();
      this.player = null;
      this.chat.setEnabled(false, "Chat is closed");
    }
    this.onStatus(status);
  }

  private previewStarted = false;

  private startPreview(): void {
    if (this.previewStarted) return;
    const video = el("video", { muted: true, autoplay: true, playsinline: true, slot: "media", "aria-label": "Preview" });
    video.muted = true;
    renditionsOf(video);
    const controller = document.createElement("media-controller");
    controller.className = "mc";
    controller.append(video, el("media-loading-indicator" as "div", { slot: "centered-chrome", noautohide: true }));
    const bar = document.createElement("media-control-bar");
    bar.append(
      document.createElement("media-play-button"),
      document.createElement("media-mute-button"),
      el("span", { class: "bar-spacer" }),
      document.createElement("media-fullscreen-button"),
    );
    controller.append(bar);
    replace(this.parts.preview, el("div", { class: "preview-wrap" }, controller));
    show(this.parts.preview, true);
    // the preview plays what viewers get, through the edge, with the same sync
    const src = `/live/${this.stream.streamId}/master.m3u8`;
    this.previewStarted = true;
    void this.loadHeights(src);
    void whenPlayable(src, () => this.status === "ended").then((ready) => {
      if (!ready || this.status === "ended") return;
      this.player = createPlayer({ video, src, streamId: this.stream.streamId });
    });
  }

  /** The ladder's heights, from the master playlist (what a cap can aim at). */
  private async loadHeights(src: string): Promise<void> {
    if (!(await whenPlayable(src, () => this.status === "ended"))) return;
    try {
      const text = await (await fetch(src)).text();
      this.heights = [...text.matchAll(/RESOLUTION=\d+x(\d+)/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
    } catch {
      // the cap button says "Cap" without a height
    }
  }

  lowestHeight(): number | null {
    return this.heights[0] ?? null;
  }

  private async refreshQoe(): Promise<void> {
    if (this.status === "ended" || document.hidden) return;
    try {
      this.qoe.update(await api<Summary>(`/api/studio/streams/${this.stream.streamId}/telemetry`, { apiKey: this.apiKey }));
    } catch {
      // the socket's telemetry_summary also updates the table
    }
  }

  /** One click: cap (or lift) the rendition of a group's players. */
  async groupAction(key: string, action: "cap_rendition" | "uncap_rendition"): Promise<void> {
    const group = groupFilter(key);
    const height = this.lowestHeight() ?? 1;
    const body = { action, ...(action === "cap_rendition" ? { maxHeight: height } : {}), ...(group ? { group } : {}) };
    const result = await api<{ recipients?: number }>(`/api/studio/streams/${this.stream.streamId}/actions`, {
      method: "POST",
      apiKey: this.apiKey,
      json: body,
    });
    this.actionsSent.push({ group: key, action, recipients: result.recipients });
    if (action === "cap_rendition") this.qoe.capped.set(key, height);
    else this.qoe.capped.delete(key);
  }

  /** A notice over every viewer's video (the same group channel, without a group). */
  private noticeForm(): HTMLElement {
    const input = el("input", {
      type: "text",
      name: "notice",
      maxlength: 280,
      placeholder: "Notice to all viewers",
      "aria-label": "Notice to all viewers",
    });
    const status = el("p", { class: "muted", role: "status" });
    const form = el("form", { class: "row notice-form" }, input, el("button", { type: "submit", class: "button" }, "Send notice"), status);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      try {
        const r = await api<{ seq?: number }>(`/api/studio/streams/${this.stream.streamId}/actions`, {
          method: "POST",
          apiKey: this.apiKey,
          json: { action: "notice", text },
        });
        this.actionsSent.push({ group: "all", action: "notice" });
        status.textContent = r.seq !== undefined ? "Sent to every viewer." : "Sent.";
        input.value = "";
      } catch (error) {
        status.textContent = `Not sent: ${(error as Error).message}`;
      }
    });
    return form;
  }

  private muteButton(item: HTMLLIElement, message: ChatMessage): void {
    if (message.from.id === this.chat.me || message.from.role === "broadcaster") return;
    const muted = this.muted.has(message.from.id);
    const button = el("button", { type: "button", class: "mute-btn", "data-user": message.from.id }, muted ? "Unmute" : "Mute");
    button.setAttribute("aria-label", `${muted ? "Unmute" : "Mute"} this viewer`);
    button.addEventListener("click", () => {
      const unmute = this.muted.has(message.from.id);
      this.send(
        unmute ? { type: "unmute", userId: message.from.id } : { type: "mute", userId: message.from.id, durationMs: 10 * 60_000 },
      ).catch((e: Error) => this.chat.showError(e.message));
    });
    item.append(button);
  }

  private refreshMuteButtons(): void {
    for (const button of this.parts.chat.querySelectorAll<HTMLButtonElement>(".mute-btn")) {
      const muted = this.muted.has(button.dataset.user ?? "");
      button.textContent = muted ? "Unmute" : "Mute";
      button.setAttribute("aria-label", `${muted ? "Unmute" : "Mute"} this viewer`);
    }
  }

  /** The poll column: the open or last poll's live results, and the form to open one when none is open. */
  private renderPollForm(): void {
    const root = this.parts.poll;
    const current = this.poll.poll;
    const error = el("p", { class: "error", role: "alert" });
    if (current?.open) {
      const close = el("button", { type: "button", class: "button" }, "Close poll");
      close.addEventListener("click", () =>
        this.send({ type: "poll_close", pollId: current.pollId }).catch((e: Error) => (error.textContent = e.message)),
      );
      replace(root, this.pollHolder, close, error);
      return;
    }
    const question = el("input", {
      type: "text",
      name: "question",
      maxlength: 200,
      required: true,
      "aria-label": "Poll question",
      placeholder: "Question",
    });
    const choices = [0, 1, 2, 3].map((i) =>
      el("input", {
        type: "text",
        name: `choice${i}`,
        maxlength: 80,
        "aria-label": `Choice ${i + 1}`,
        placeholder: i < 2 ? `Choice ${i + 1}` : `Choice ${i + 1} (optional)`,
      }),
    );
    const form = el(
      "form",
      { class: "stack poll-form" },
      question,
      el("div", { class: "choices" }, ...choices),
      el("button", { type: "submit", class: "button primary" }, "Open poll"),
      error,
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const list = choices.map((c) => c.value.trim()).filter(Boolean);
      if (list.length < 2) return void (error.textContent = "A poll needs at least two choices.");
      this.send({ type: "poll_open", question: question.value.trim(), choices: list }).catch(
        (err: Error) => (error.textContent = err.message),
      );
    });
    replace(root, this.pollHolder, el("h2", { class: "panel-title" }, "New poll"), form);
  }
}
