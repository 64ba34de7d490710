/**
 * Chat panel: the last messages on join, live messages, sending with the
 * room's errors shown (rate limited, muted, too long, ended), own messages
 * marked. Messages are keyed by seq, so the join backfill (from the log API)
 * and the socket's frames never show one twice.
 */
import { el, replace, show } from "../dom.js";
import { SocketError, type ServerFrame } from "../room-socket.js";

export interface ChatMessage {
  seq: number;
  ts: number;
  text: string;
  from: { id: string; role: string; anon: boolean };
}

const KEEP = 200;
const MAX_CHARS = 500;

export const ERROR_TEXT: Record<string, string> = {
  rate_limited: "You are sending too fast: wait a moment.",
  muted: "You are muted in this chat.",
  stream_ended: "The stream has ended: chat is closed.",
  too_large: "That message is too long.",
  offline: "Not connected: reconnecting, try again in a moment.",
  timeout: "No answer from the chat: try again.",
};

/** A short, stable name for a user id ("viewer 3f9a" for anonymous ones). */
export function displayName(from: ChatMessage["from"]): string {
  if (from.role === "broadcaster" || from.role === "admin") return from.role === "admin" ? "moderator" : "broadcaster";
  const tail = from.id.replace(/^anon_/, "").slice(-4);
  return from.anon ? `viewer ${tail}` : `${from.role} ${tail}`;
}

export class ChatPanel {
  readonly messages = new Map<number, ChatMessage>();
  private readonly list: HTMLOListElement;
  private readonly input: HTMLInputElement;
  private readonly error: HTMLElement;
  private readonly counter: HTMLElement;
  private readonly button: HTMLButtonElement;
  me: string | null = null;
  /** errors shown, latest last (tests; a later success clears the line itself) */
  readonly errors: string[] = [];
  /** extra per-message controls (the studio's mute button) */
  decorate: ((item: HTMLLIElement, message: ChatMessage) => void) | null = null;

  constructor(
    root: HTMLElement,
    private readonly send: (text: string) => Promise<unknown>,
  ) {
    this.list = el("ol", { class: "chat-list", "aria-label": "Chat messages", "aria-live": "polite", tabindex: 0 });
    this.input = el("input", {
      type: "text",
      name: "chat",
      autocomplete: "off",
      maxlength: MAX_CHARS * 2,
      placeholder: "Say something…",
      "aria-label": "Chat message",
    });
    this.counter = el("span", { class: "chat-counter", "aria-hidden": "true" });
    this.button = el("button", { type: "submit" }, "Send");
    this.error = el("p", { class: "chat-error", role: "alert" });
    show(this.error, false);
    const form = el("form", { class: "chat-form" }, this.input, this.counter, this.button);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.submit();
    });
    this.input.addEventListener("input", () => this.updateCounter());
    replace(root, el("h2", { class: "panel-title" }, "Chat"), this.list, this.error, form);
  }

  private updateCounter(): void {
    const n = [...this.input.value].length;
    this.counter.textContent = n > MAX_CHARS - 50 ? `${n}/${MAX_CHARS}` : "";
    this.counter.classList.toggle("over", n > MAX_CHARS);
  }

  showError(text: string | null): void {
    if (text !== null) this.errors.push(text);
    if (this.errors.length > 20) this.errors.shift();
    // the error line takes room from the list: keep the newest message in view if it was
    const atBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 8;
    this.error.textContent = text ?? "";
    show(this.error, text !== null);
    if (atBottom) this.list.scrollTop = this.list.scrollHeight;
  }

  setEnabled(enabled: boolean, placeholder?: string): void {
    if (!enabled && this.input.disabled === false) this.showError(null);
    this.input.disabled = !enabled;
    this.button.disabled = !enabled;
    if (placeholder) this.input.placeholder = placeholder;
  }

  private async submit(): Promise<void> {
    const text = this.input.value.trim();
    if (!text) return;
    if ([...text].length > MAX_CHARS) return this.showError(`Too long: ${[...text].length} of ${MAX_CHARS} characters.`);
    this.button.disabled = true;
    try {
      await this.send(text);
      this.input.value = "";
      this.updateCounter();
      this.showError(null);
    } catch (error) {
      const code = error instanceof SocketError ? error.code : "error";
      this.showError(ERROR_TEXT[code] ?? (error instanceof Error ? error.message : "Could not send."));
    } finally {
      if (!this.input.disabled) this.button.disabled = false;
      this.input.focus();
    }
  }

  /** A chat frame (live or replayed) or a message from the log API. */
  add(frame: ServerFrame | ChatMessage): void {
    const message = frame as ChatMessage;
    if (typeof message.seq !== "number" || this.messages.has(message.seq)) return;
    this.messages.set(message.seq, message);
    const item = this.render(message);
    // keep seq order: backfilled history lands before live messages
    const after = [...this.list.children].find((li) => Number((li as HTMLElement).dataset.seq) > message.seq);
    this.list.insertBefore(item, after ?? null);
    while (this.list.children.length > KEEP) {
      const first = this.list.firstElementChild as HTMLElement;
      this.messages.delete(Number(first.dataset.seq));
      first.remove();
    }
    const nearBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 80;
    if (nearBottom || message.from.id === this.me) this.list.scrollTop = this.list.scrollHeight;
  }

  clear(): void {
    this.messages.clear();
    this.list.textContent = "";
    this.showError(null);
  }

  /** A line from the system (muted, ended) in the list. */
  note(text: string): void {
    this.list.appendChild(el("li", { class: "chat-note" }, text));
    this.list.scrollTop = this.list.scrollHeight;
  }

  private render(message: ChatMessage): HTMLLIElement {
    const mine = message.from.id === this.me;
    const item = el(
      "li",
      {
        class: `chat-msg${mine ? " mine" : ""}${message.from.role === "broadcaster" ? " host" : ""}`,
        "data-seq": message.seq,
        "data-user": message.from.id,
      },
      el("span", { class: "chat-from" }, mine ? "you" : displayName(message.from)),
      " ",
      el("span", { class: "chat-text" }, message.text),
    );
    this.decorate?.(item, message);
    return item;
  }
}
