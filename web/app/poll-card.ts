/**
 * The poll card: question, one button per choice (one vote per viewer), a
 * results bar per choice updated live (`poll_results`, ≤ 4/s), and the closed
 * state with the final totals. The studio uses it read-only (no vote buttons).
 */
import { el, replace, show } from "./dom.js";
import { SocketError, type ServerFrame } from "./room-socket.js";

export interface PollState {
  pollId: string;
  question: string;
  choices: string[];
  totals: number[];
  total: number;
  open: boolean;
}

/** A `poll_open` frame as the card's state: no votes yet. */
export function openedPoll(frame: ServerFrame): PollState {
  const choices = frame.choices as string[];
  return {
    pollId: frame.pollId as string,
    question: frame.question as string,
    choices,
    totals: choices.map(() => 0),
    total: 0,
    open: true,
  };
}

export class PollCard {
  poll: PollState | null = null;
  /** the choice this viewer voted for, per poll */
  voted: number | null = null;
  private readonly error = el("p", { class: "poll-error", role: "alert" });

  constructor(
    private readonly root: HTMLElement,
    private readonly vote: ((pollId: string, choice: number) => Promise<unknown>) | null,
  ) {
    show(root, false);
  }

  set(poll: PollState | null): void {
    if (poll?.pollId !== this.poll?.pollId) this.voted = poll ? readVote(poll.pollId) : null;
    this.poll = poll;
    this.render();
  }

  results(pollId: string, totals: number[], total: number, closed = false): void {
    if (!this.poll || this.poll.pollId !== pollId) return;
    this.poll = { ...this.poll, totals, total, open: this.poll.open && !closed };
    this.render();
  }

  private async cast(choice: number): Promise<void> {
    const poll = this.poll;
    if (!poll || !this.vote) return;
    try {
      await this.vote(poll.pollId, choice);
      this.remember(poll.pollId, choice);
      this.error.textContent = "";
    } catch (error) {
      const code = error instanceof SocketError ? error.code : "";
      if (code === "already_voted") this.remember(poll.pollId, -1);
      this.error.textContent =
        code === "already_voted"
          ? "You have already voted in this poll."
          : code === "poll_closed"
            ? "This poll is closed."
            : `Vote not counted: ${(error as Error).message}`;
    }
    this.render();
  }

  private remember(pollId: string, choice: number): void {
    this.voted = choice;
    try {
      localStorage.setItem(`edge.vote.${pollId}`, String(choice));
    } catch {
      // not kept across reloads; the room still refuses a second vote
    }
  }

  private render(): void {
    const poll = this.poll;
    show(this.root, poll !== null);
    if (!poll) return;
    const canVote = this.vote !== null && poll.open && this.voted === null;
    const rows = poll.choices.map((choice, i) => {
      const count = poll.totals[i] ?? 0;
      const pct = poll.total > 0 ? Math.round((count / poll.total) * 100) : 0;
      const bar = el("span", { class: "poll-bar", "aria-hidden": "true" });
      bar.style.width = `${pct}%`; // CSSOM, allowed by the CSP (no style attribute)
      const label = el("span", { class: "poll-choice" }, choice, this.voted === i ? " ✓" : "");
      const numbers = el("span", { class: "poll-count" }, `${pct}% · ${count}`);
      const body = [bar, label, numbers];
      const row = canVote
        ? el("button", { type: "button", class: "poll-row vote", "data-choice": i, "aria-label": `Vote ${choice}` }, ...body)
        : el("div", { class: `poll-row${this.voted === i ? " mine" : ""}`, "data-choice": i }, ...body);
      if (canVote) row.addEventListener("click", () => void this.cast(i));
      return row;
    });
    const status = poll.open
      ? this.voted !== null
        ? "Thanks for voting · live results"
        : this.vote
          ? "Tap a choice to vote"
          : "Open · live results"
      : "Poll closed · final results";
    replace(
      this.root,
      el("h2", { class: "panel-title" }, "Poll"),
      el("p", { class: "poll-question" }, poll.question),
      el("div", { class: "poll-rows" }, ...rows),
      el("p", { class: "poll-status" }, `${status} · ${poll.total} vote${poll.total === 1 ? "" : "s"}`),
      this.error,
    );
    this.root.classList.toggle("closed", !poll.open);
  }
}

function readVote(pollId: string): number | null {
  try {
    const v = localStorage.getItem(`edge.vote.${pollId}`);
    return v === null ? null : Number(v);
  } catch {
    return null;
  }
}
