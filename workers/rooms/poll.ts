/**
 * Live polls (the broadcaster asks, everyone's aggregated answer is pushed
 * to everyone; docs/architecture.md "Socket protocol"). Pure: validation and the tally; the StreamRoom
 * persists votes and throttles the `poll_results` frames.
 */
import { checkDisplayText } from "../lib/display-text.js";

export const POLL_MIN_CHOICES = 2;
export const POLL_MAX_CHOICES = 6;
const POLL_QUESTION_MAX = 200;
const POLL_CHOICE_MAX = 80;

export interface PollSpec {
  id: string;
  question: string;
  choices: string[];
  openedAt: number;
  openedBy: string;
}

export type PollValidation = { ok: true; question: string; choices: string[] } | { ok: false; message: string };

/** Question and choices are text for people (lib/display-text.ts): NFC, trimmed, no control characters or markup. */
export function validatePoll(question: unknown, choices: unknown): PollValidation {
  if (typeof question !== "string") return { ok: false, message: "question must be a non-empty string" };
  const q = checkDisplayText(question, { min: 1, max: POLL_QUESTION_MAX });
  if (!q.ok) return { ok: false, message: `question ${q.message}` };
  if (!Array.isArray(choices)) return { ok: false, message: "choices must be an array" };
  if (choices.length < POLL_MIN_CHOICES || choices.length > POLL_MAX_CHOICES) {
    return { ok: false, message: `a poll has ${POLL_MIN_CHOICES} to ${POLL_MAX_CHOICES} choices` };
  }
  const out: string[] = [];
  const seen = new Set<string>();
  for (const choice of choices) {
    if (typeof choice !== "string") return { ok: false, message: "every choice must be a non-empty string" };
    const c = checkDisplayText(choice, { min: 1, max: POLL_CHOICE_MAX });
    if (!c.ok) return { ok: false, message: `choice ${c.message}` };
    const key = c.text.toLowerCase();
    if (seen.has(key)) return { ok: false, message: "choices must be distinct" };
    seen.add(key);
    out.push(c.text);
  }
  return { ok: true, question: q.text, choices: out };
}

export type VoteOutcome = "ok" | "duplicate" | "bad_choice" | "closed";

export class PollTally {
  private readonly voters = new Map<string, number>();
  private readonly counts: number[];
  private closedAt: number | null = null;

  constructor(
    readonly spec: PollSpec,
    votes: Iterable<readonly [voter: string, choice: number]> = [],
    closedAt: number | null = null,
  ) {
    this.counts = new Array<number>(spec.choices.length).fill(0);
    for (const [voter, choice] of votes) this.record(voter, choice);
    this.closedAt = closedAt;
  }

  /** One vote per voter; the first one counts. */
  vote(voter: string, choice: number): VoteOutcome {
    if (this.closedAt !== null) return "closed";
    if (!Number.isInteger(choice) || choice < 0 || choice >= this.counts.length) return "bad_choice";
    if (this.voters.has(voter)) return "duplicate";
    this.record(voter, choice);
    return "ok";
  }

  close(now: number): void {
    if (this.closedAt === null) this.closedAt = now;
  }

  get isOpen(): boolean {
    return this.closedAt === null;
  }

  get closedTime(): number | null {
    return this.closedAt;
  }

  totals(): number[] {
    return [...this.counts];
  }

  get total(): number {
    return this.voters.size;
  }

  hasVoted(voter: string): boolean {
    return this.voters.has(voter);
  }

  /** The public view (poll_open / poll_results / poll_closed frames, hello). */
  view() {
    return {
      pollId: this.spec.id,
      question: this.spec.question,
      choices: [...this.spec.choices],
      totals: this.totals(),
      total: this.total,
      open: this.isOpen,
    };
  }

  private record(voter: string, choice: number): void {
    if (this.voters.has(voter) || choice < 0 || choice >= this.counts.length) return;
    this.voters.set(voter, choice);
    this.counts[choice]!++;
  }
}
