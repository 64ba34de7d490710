/**
 * The watch page (/watch/<streamId>, HTML in workers/watch.ts): video with
 * controls, scorebug, chat, likes and gifts, viewer count, poll, the stream's
 * states, player telemetry and group actions. Two sockets: the stream room
 * (chat, presence, polls, system events, telemetry up) and the event room
 * (the scorebug); both reconnect with `since`.
 *
 * `window.__watch.snapshot()` gives tests a serializable view of the page.
 */
import { api, whenPlayable, type SportEvent, type StreamInfo } from "../api.js";
import { $, formatCount, show } from "../dom.js";
import { openedPoll, PollCard, type PollState } from "../poll-card.js";
import { RoomSocket, type ServerFrame } from "../room-socket.js";
import { Scorebug } from "../scorebug.js";
import { anonymousSession } from "../session.js";
import { statusLine } from "../../player/watch-page.js";
import { ChatPanel, type ChatMessage } from "./chat.js";
import { applyGroupAction, type AppliedAction } from "./group-actions.js";
import { Overlay, Reactions, type EndedStats, type StreamStatus } from "./overlay.js";
import { EventStreams } from "./switcher.js";
import { WatchVideo, type TelemetrySample } from "./video.js";

const TELEMETRY_MS = 5_000;
const STATUS_POLL_MS = 2_000;
const IDLE_POLL_MS = 30_000;
const LOG_WINDOW_MS = 10 * 60_000;

export class WatchApp {
  streamId: string;
  status: StreamStatus;
  me: string | null = null;
  viewerCount: number | null = null;
  likes = 0;
  stats: EndedStats | null = null;
  readonly actions: AppliedAction[] = [];
  readonly telemetrySent: Array<TelemetrySample & { at: number }> = [];
  readonly scoreFrames: Array<{ seq: number; ts: number; changes: unknown }> = [];
  /** every overlay the page showed, in order (null: none, the stream is live), for tests that must not race a short state */
  readonly overlayHistory: Array<{ state: StreamStatus | null; at: number }> = [];
  socket: RoomSocket | null = null;
  private eventSocket: RoomSocket | null = null;
  private readonly video: WatchVideo;
  private readonly chat: ChatPanel;
  private readonly poll: PollCard;
  private readonly overlay: Overlay;
  private readonly reactions: Reactions;
  private readonly scorebug: Scorebug | null;
  private readonly switcher: EventStreams | null;
  private readonly statusLineEl: HTMLElement;
  private backfilled = false;

  constructor(private readonly root: HTMLElement) {
    this.streamId = root.dataset.streamId ?? "";
    this.status = (root.dataset.status as StreamStatus) || "created";
    this.overlayHistory.push({ state: this.status === "live" ? null : this.status, at: Date.now() });
    const eventId = root.dataset.eventId || null;
    this.statusLineEl = $("[data-role=status]", root);
    this.video = new WatchVideo(
      $("video", root) as HTMLVideoElement,
      $("#live", root) as HTMLButtonElement,
      new URLSearchParams(location.search).get("sync") !== "0",
      (state) => {
        this.statusLineEl.textContent = statusLine(state);
        this.scorebug?.render();
      },
    );
    this.chat = new ChatPanel($("#chat", root), (text) => this.send({ type: "chat", text }));
    this.poll = new PollCard($("#poll", root), (pollId, choice) => this.send({ type: "vote", pollId, choice }));
    this.overlay = new Overlay($("#overlay", root));
    this.reactions = new Reactions($("#floaters", root), $("#toasts", root));
    $("#like", root).addEventListener("click", () => {
      this.send({ type: "like" }).catch(() => this.reactions.toast("Like not sent: slow down a little.", "warn"));
    });
    $("#notice-close", root).addEventListener("click", () => this.notice(null));
    this.scorebug = eventId ? new Scorebug($("#scorebug", root)) : null;
    if (eventId) show($("#scorebug", root), true);
    if (eventId && this.status === "ended") {
      // an ended stream's page keeps no event socket open (it would keep the event room polling): the state once
      api<SportEvent>(`/api/events/${encodeURIComponent(eventId)}`).then(
        (event) => this.scorebug?.onFrame({ type: "event_snapshot", seq: 0, ts: Date.now(), event }),
        () => {},
      );
    } else if (eventId) {
      this.eventSocket = new RoomSocket({
        path: `/ws/events/${eventId}`,
        directTypes: ["event_snapshot"],
        token: async (fresh) => (await anonymousSession(fresh)).token,
        onFrame: (frame) => {
          if (frame.type === "event_update") this.scoreFrames.push({ seq: frame.seq, ts: frame.ts, changes: frame.changes });
          if (this.scoreFrames.length > 100) this.scoreFrames.shift();
          this.scorebug?.onFrame(frame);
        },
      });
    }
    this.switcher = eventId ? new EventStreams($("#also", root), eventId, (id) => void this.switchTo(id)) : null;
    this.openStream();
    setInterval(() => this.sendTelemetry(), TELEMETRY_MS);
    this.scheduleRefresh(IDLE_POLL_MS);
    // a stall may be the broadcaster dropping: ask at once rather than at the next period
    this.video.video.addEventListener("waiting", () => this.scheduleRefresh(500));
  }

  private refreshTimer: ReturnType<typeof setTimeout> | null = null;

  /**
   * The stream's row is the only source of `reconnecting` (the room is not told), so it is asked
   * when there is a reason: soon after a stall, every second while reconnecting, every 2 s while
   * the video is not playing, and otherwise only every 30 s as a safety net (thousands of
   * healthy viewers should not poll D1).
   */
  private scheduleRefresh(delay: number): void {
    if (this.refreshTimer !== null) clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(async () => {
      await this.refreshInfo();
      if (this.status === "ended") return;
      const stalled = this.status === "live" && this.video.player !== null && !this.video.player.state.playing;
      this.scheduleRefresh(this.status === "reconnecting" ? 1_000 : stalled ? STATUS_POLL_MS : IDLE_POLL_MS);
    }, delay);
  }

  private openStream(): void {
    this.backfilled = false;
    this.setStatus(this.status, null);
    this.socket = new RoomSocket({
      path: `/ws/streams/${this.streamId}`,
      token: async (fresh) => (await anonymousSession(fresh)).token,
      // a stream that has not started has a short log, and its frames have no offset for the log API yet: replay it all
      since: this.status === "created" ? 0 : null,
      onFrame: (frame) => this.onFrame(frame),
      onStatus: (status) =>
        this.chat.setEnabled(status === "open" && this.status !== "ended", status === "open" ? "Say something…" : "Reconnecting…"),
    });
  }

  private send(frame: { type: string; [k: string]: unknown }): Promise<ServerFrame> {
    if (!this.socket) return Promise.reject(new Error("not connected"));
    return this.socket.send(frame);
  }

  private onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case "hello": {
        const you = frame.you as { id: string } | undefined;
        this.me = you?.id ?? null;
        this.chat.me = this.me;
        this.setViewers(frame.viewerCount as number);
        this.poll.set((frame.poll as PollState | null) ?? null);
        if (typeof frame.status === "string" && frame.status !== this.status && this.status !== "ended")
          this.setStatus(frame.status as StreamStatus, null);
        if (!this.backfilled) void this.backfill(frame.seq, frame.startedAt as number | null);
        return;
      }
      case "chat":
        return this.chat.add(frame);
      case "poll_open":
        return this.poll.set(openedPoll(frame));
      case "poll_results":
        return this.poll.results(frame.pollId as string, frame.totals as number[], frame.total as number);
      case "poll_closed":
        return this.poll.results(frame.pollId as string, frame.totals as number[], frame.total as number, true);
      case "system":
        return this.onSystem(frame);
    }
  }

  private onSystem(frame: ServerFrame): void {
    const data = (frame.data as Record<string, unknown> | undefined) ?? {};
    switch (frame.event) {
      case "member_added":
      case "member_removed":
        return this.setViewers(frame.viewerCount as number);
      case "stream_started":
        if (this.status !== "ended") this.setStatus("live", null);
        return;
      case "stream_ended":
        return this.setStatus("ended", {
          durationMs: frame.durationMs as number | null,
          peakViewers: frame.peakViewers as number,
          joins: frame.joins as number,
          likes: frame.likes as number,
        });
      case "like":
        this.likes = frame.total as number;
        $("#likes", this.root).textContent = formatCount(this.likes);
        return this.reactions.hearts(frame.count as number);
      case "gift":
        this.reactions.hearts(3);
        return this.reactions.toast(
          `🎁 ${typeof data.from === "string" ? data.from : "Someone"} sent ${typeof data.name === "string" ? data.name : "a gift"}`,
          "gift",
        );
      case "new_follower":
        return this.reactions.toast("A new follower joined the broadcaster", "info");
      case "muted":
        if (frame.userId === this.me) this.chat.note("You have been muted by the broadcaster.");
        return;
      case "unmuted":
        if (frame.userId === this.me) this.chat.note("You can chat again.");
        return;
      case "group_action": {
        const applied = applyGroupAction(data, { renditions: this.video.renditions, notice: (text) => this.notice(text) });
        if (applied) this.actions.push(applied);
        // the effect shows in the aggregate as soon as hls.js has switched, not at the next period
        if (applied?.action.endsWith("cap_rendition")) this.video.onceLevelSwitched(() => this.sendTelemetry());
        return;
      }
    }
  }

  /** The last messages before this join: the log API up to the hello's seq, the socket after it. */
  private async backfill(seq: number, startedAt: number | null): Promise<void> {
    this.backfilled = true;
    if (startedAt === null || this.socket?.stats.replayed) return;
    const serverNow = this.video.player?.clock?.now() ?? Date.now();
    const to = Math.round(serverNow - startedAt + 60_000); // the log API takes integers
    try {
      const body = await api<{ frames: ServerFrame[] }>(`/api/streams/${this.streamId}/log?from=${to - LOG_WINDOW_MS}&to=${to}`);
      for (const frame of body.frames) if (frame.type === "chat" && frame.seq <= seq) this.chat.add(frame as unknown as ChatMessage);
    } catch {
      // history is a nicety: live chat works without it
    }
  }

  private setViewers(count: number | null | undefined): void {
    if (typeof count !== "number" || this.status === "ended") return;
    this.viewerCount = count;
    $("#viewers", document).textContent = `${formatCount(count)} watching`;
  }

  private setStatus(status: StreamStatus, stats: EndedStats | null): void {
    // only forward: created → live ⇄ reconnecting → ended (a late or stale answer never takes a stream back)
    if (this.status === "ended" && status !== "ended") return;
    if (status === "created" && this.status !== "created") return;
    const changed = status !== this.status;
    this.status = status;
    if (stats) this.stats = stats;
    document.body.dataset.streamStatus = status;
    const pill = $("#state-pill", document);
    pill.textContent = { created: "Starting soon", live: "Live", reconnecting: "Reconnecting", ended: "Ended" }[status];
    pill.className = `pill ${status}`;
    if (status === "live" || status === "reconnecting") void this.startVideo();
    else if (status === "ended") {
      this.video.stop();
      this.scorebug?.bind(null);
      this.chat.setEnabled(false, "Chat is closed");
      $("#viewers", document).textContent = "";
      // the scorebug keeps its last state; the event room need not keep polling for this page
      this.eventSocket?.close();
      if (!this.stats) void this.refreshInfo();
    }
    if (changed || status === "ended" || status === "created") this.overlay.render(status, this.streamId, this.stats);
    if (changed) {
      this.overlayHistory.push({ state: status === "live" ? null : status, at: Date.now() });
      if (this.overlayHistory.length > 50) this.overlayHistory.shift();
    }
  }

  private starting = false;

  private async startVideo(): Promise<void> {
    if (this.video.player || this.starting) return;
    this.starting = true;
    const streamId = this.streamId;
    const src = this.root.dataset.src ?? `/live/${streamId}/master.m3u8`;
    const ready = await whenPlayable(src, () => this.streamId !== streamId || this.status === "ended");
    this.starting = false;
    if (!ready || this.video.player) return;
    this.video.start(src, streamId);
    this.scorebug?.bind(this.video.player);
  }

  /** The stream's row: the only source of `reconnecting` (the room is not told), and final stats. */
  private async refreshInfo(): Promise<void> {
    if (document.hidden && this.status === "live") return;
    try {
      const info = await api<StreamInfo>(`/api/streams/${this.streamId}`);
      if (info.status === "ended" && info.stats && !this.stats) {
        this.stats = { durationMs: info.stats.durationMs, peakViewers: info.stats.peakViewers, joins: info.stats.joins };
        if (this.status === "ended") this.overlay.render("ended", this.streamId, this.stats);
      }
      if (info.status !== this.status) this.setStatus(info.status, null);
      if (this.socket?.status !== "open") this.setViewers(info.viewerCount);
    } catch {
      // the socket still carries the state; try again next period
    }
  }

  private sendTelemetry(): void {
    if (!this.socket?.open || this.status === "ended") return;
    const sample = this.video.telemetry();
    if (!sample) return;
    this.telemetrySent.push({ ...sample, at: Date.now() });
    if (this.telemetrySent.length > 20) this.telemetrySent.shift();
    this.send({ type: "telemetry", ...sample }).catch(() => {});
  }

  notice(text: string | null): void {
    const box = $("#notice", this.root);
    $("#notice-text", box).textContent = text ?? "";
    show(box, text !== null);
  }

  /** Another stream of the same event, without leaving the page: the scorebug and its socket stay. */
  async switchTo(streamId: string): Promise<void> {
    if (streamId === this.streamId) return;
    const info = await api<StreamInfo>(`/api/streams/${streamId}`);
    this.socket?.close();
    this.video.stop();
    this.streamId = streamId;
    this.stats = null;
    this.status = info.status;
    this.root.dataset.streamId = streamId;
    this.root.dataset.src = `/live/${streamId}/master.m3u8`;
    $("#title", document).textContent = info.title || "Live stream";
    document.title = `${info.title || "Live"} · Live`;
    history.pushState(null, "", `/watch/${streamId}${location.search}`);
    this.chat.clear();
    this.poll.set(null);
    this.switcher?.setCurrent(streamId);
    this.openStream();
  }

  snapshot() {
    return {
      streamId: this.streamId,
      status: this.status,
      me: this.me,
      viewerCount: this.viewerCount,
      likes: this.likes,
      stats: this.stats,
      chat: [...this.chat.messages.values()].map((m) => ({ seq: m.seq, text: m.text, from: m.from.id, mine: m.from.id === this.me })),
      chatErrors: this.chat.errors,
      chatSeqs: [...document.querySelectorAll<HTMLElement>("#chat .chat-msg")].map((li) => Number(li.dataset.seq)),
      poll: this.poll.poll,
      voted: this.poll.voted,
      overlay: $("#overlay", this.root).hidden ? null : ($("#overlay", this.root).dataset.state ?? null),
      overlayHistory: this.overlayHistory,
      score: this.scorebug
        ? { mode: this.scorebug.mode, shown: this.scorebug.shown, reveals: this.scorebug.reveals, fired: this.scorebug.fired }
        : null,
      scoreFrames: this.scoreFrames,
      actions: this.actions,
      telemetrySent: this.telemetrySent,
      socket: this.socket ? { status: this.socket.status, seq: this.socket.seq, ...this.socket.stats } : null,
      eventSocket: this.eventSocket ? { status: this.eventSocket.status, ...this.eventSocket.stats } : null,
      renditionCap: this.video.renditions.capIndex,
      level: this.video.player?.state.level ?? -1,
    };
  }

  dropSocket(): void {
    this.socket?.drop();
  }
}
