/**
 * Bundle entry of the studio page (/studio): sign in with an API key (kept in
 * sessionStorage only), pick or create a stream for an event, publish with
 * the shown RTMP settings, and run it while live (studio/live.ts). Load after
 * /vendor/hls.min.js (the preview player).
 */
import "./boot.js";
import "./media-chrome.js";
import { api, ApiError, type SportEvent, type StreamInfo } from "./api.js";
import { $, el, replace, show } from "./dom.js";
import { keySession } from "./session.js";
import { StudioStream } from "./studio/live.js";
import { endedCard, rememberKey, setupCard, thumbnailsCard } from "./studio/setup.js";

const KEY = "edge.studio.apiKey";

declare global {
  interface Window {
    __studio?: Studio;
  }
}

class Studio {
  apiKey: string | null = sessionStorage.getItem(KEY);
  userId: string | null = null;
  streams: StreamInfo[] = [];
  selected: StudioStream | null = null;
  private readonly workspace = $("#workspace");
  private readonly message = el("p", { class: "error", role: "alert", hidden: true });

  constructor() {
    $("#signin-form").addEventListener("submit", (e) => {
      e.preventDefault();
      void this.signIn(($("#api-key") as HTMLInputElement).value.trim());
    });
    if (this.apiKey) void this.signIn(this.apiKey);
  }

  private async signIn(apiKey: string): Promise<void> {
    const error = $("#signin-error");
    try {
      const session = await keySession(apiKey);
      if (!["broadcaster", "vip", "admin"].includes(session.role))
        throw new ApiError(403, "forbidden", `a ${session.role} account cannot broadcast`);
      this.apiKey = apiKey;
      this.userId = session.userId;
      sessionStorage.setItem(KEY, apiKey);
      show($("#signin"), false);
      show(this.workspace, true);
      const out = el("button", { type: "button", class: "copy" }, "Sign out");
      out.addEventListener("click", () => this.signOut());
      replace($("#who"), `Signed in · ${session.role} `, out);
      await this.loadStreams();
    } catch (e) {
      sessionStorage.removeItem(KEY);
      error.textContent = e instanceof ApiError && e.status === 401 ? "Unknown API key." : `Could not sign in: ${(e as Error).message}`;
      show(error, true);
    }
  }

  private signOut(): void {
    sessionStorage.clear();
    location.reload();
  }

  private flash(text: string | null): void {
    this.message.textContent = text ?? "";
    show(this.message, text !== null);
  }

  async loadStreams(selectId?: string): Promise<void> {
    const page = await api<{ streams: StreamInfo[] }>(`/api/streams?broadcaster=${encodeURIComponent(this.userId!)}&status=all&limit=10`);
    this.streams = page.streams;
    const id =
      selectId ?? this.selected?.stream.streamId ?? this.streams.find((s) => s.status !== "ended")?.streamId ?? this.streams[0]?.streamId;
    await this.render(id ?? null);
  }

  private async render(selectedId: string | null): Promise<void> {
    const list = el(
      "ul",
      { class: "stream-list" },
      ...this.streams.map((s) => {
        const button = el(
          "button",
          {
            type: "button",
            class: `button${s.streamId === selectedId ? " primary" : ""}`,
            "aria-current": s.streamId === selectedId ? "true" : null,
          },
          `${s.title || "Untitled"} · ${s.status}`,
        );
        button.addEventListener("click", () => void this.render(s.streamId));
        return el("li", {}, button);
      }),
    );
    const side = el(
      "div",
      { class: "studio-col" },
      await this.createForm(),
      el(
        "section",
        { class: "card", "aria-label": "Your streams" },
        el("h2", { class: "panel-title" }, "Your streams"),
        this.streams.length ? list : el("p", { class: "muted" }, "No streams yet."),
      ),
    );
    this.selected?.destroy();
    this.selected = null;
    const info = selectedId ? await api<StreamInfo>(`/api/streams/${selectedId}`).catch(() => null) : null;
    const main = el("div", { class: "studio-col" }, this.message);
    if (info) this.mountStream(info, main, side);
    else main.append(el("section", { class: "card" }, el("p", { class: "muted" }, "Create a stream to get its RTMP settings.")));
    replace(this.workspace, el("div", { class: "studio-grid" }, main, side));
  }

  private mountStream(info: StreamInfo, main: HTMLElement, side: HTMLElement): void {
    const pill = el("span", { class: `pill ${info.status}`, "data-role": "status" }, info.status);
    const head = el(
      "div",
      { class: "row" },
      el("h2", { class: "section-title" }, info.title || "Untitled stream"),
      pill,
      el("a", { href: `/watch/${info.streamId}`, target: "_blank", rel: "noopener" }, "Open the watch page"),
    );
    const parts = {
      thumbs: thumbnailsCard(info.thumbnailUrl ? [info.thumbnailUrl] : []),
      preview: el("div", { hidden: true }),
      chart: el("section", { class: "card", "aria-label": "Viewers" }, el("h2", { class: "panel-title" }, "Viewers")),
      qoe: el("section", { class: "card" }),
      poll: el("section", { class: "card", "aria-label": "Poll" }),
      chat: el("section", { class: "card chat", "aria-label": "Chat" }),
    };
    main.append(head);
    if (info.status === "ended") {
      main.append(endedCard(info), parts.thumbs);
      side.prepend(parts.chat);
    } else {
      main.append(
        setupCard(
          info,
          this.apiKey!,
          () => void this.loadStreams(info.streamId),
          (m) => this.flash(m),
        ),
        parts.preview,
        parts.chart,
        parts.qoe,
      );
      side.prepend(parts.poll, parts.chat);
    }
    this.selected = new StudioStream(info, this.apiKey!, parts, (status) => {
      pill.textContent = status;
      pill.className = `pill ${status}`;
      const entry = this.streams.find((s) => s.streamId === info.streamId);
      if (entry) entry.status = status;
      const current = side.querySelector('.stream-list [aria-current="true"]');
      if (current) current.textContent = `${info.title || "Untitled"} · ${status}`;
      // an end changes the whole panel (stats, thumbnails, replay link)
      if (status === "ended") setTimeout(() => void this.loadStreams(info.streamId), 1500);
    });
  }

  private async createForm(): Promise<HTMLElement> {
    const title = el("input", { type: "text", name: "title", maxlength: 200, placeholder: "Title", "aria-label": "Stream title" });
    const select = el("select", { name: "eventId", "aria-label": "Event" }, el("option", { value: "" }, "No event"));
    try {
      const [live, scheduled] = await Promise.all(
        ["in_progress", "scheduled"].map((s) => api<{ events: SportEvent[] }>(`/api/events?status=${s}&limit=50`)),
      );
      for (const e of [...live!.events, ...scheduled!.events]) {
        const label = e.home && e.away ? `${e.home.name} v ${e.away.name}${e.status === "in_progress" ? " (live)" : ""}` : e.eventId;
        select.append(el("option", { value: e.eventId }, label));
      }
    } catch {
      // streams without an event still work
    }
    const error = el("p", { class: "error", role: "alert" });
    const form = el(
      "form",
      { class: "stack", id: "create-form" },
      el("label", { for: "new-title" }, "Title"),
      title,
      el("label", {}, "Event"),
      select,
      el("button", { type: "submit", class: "button primary" }, "Create stream"),
      error,
    );
    title.id = "new-title";
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        const created = await api<{ streamId: string; streamKey: string; ingestUrl: string }>("/api/streams", {
          method: "POST",
          apiKey: this.apiKey,
          json: { title: title.value.trim() || undefined, eventId: select.value || undefined },
        });
        rememberKey(created.streamId, { streamKey: created.streamKey, ingestUrl: created.ingestUrl });
        await this.loadStreams(created.streamId);
      } catch (err) {
        error.textContent = `Could not create the stream: ${(err as Error).message}`;
      }
    });
    return el("section", { class: "card", "aria-label": "New stream" }, el("h2", { class: "panel-title" }, "New stream"), form);
  }
}

window.__studio = new Studio();
