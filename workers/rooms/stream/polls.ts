/**
 * Live polls of a stream room: the tables (`polls`, `poll_votes`), the open
 * poll's tally (poll.ts), and `poll_open` / `poll_results` (≤ 4/s) /
 * `poll_closed` frames. One poll is open at a time; a vote is persisted
 * before anything acknowledges it.
 */
import { randomString } from "../../lib/random.js";
import type { PollView } from "../frames.js";
import { PollTally, validatePoll, type PollSpec, type VoteOutcome } from "../poll.js";
import { fail, ok, type RoomResult } from "../result.js";
import type { StreamRoomServices } from "./services.js";
import { ThrottledTimer } from "./throttled-timer.js";

const RESULTS_INTERVAL_MS = 250;
export const RESULTS_TIMER = "poll-results";

interface PollRow extends Record<string, SqlStorageValue> {
  id: string;
  question: string;
  choices: string;
  opened_at: number;
  opened_by: string;
}

export type VoteResult =
  { ok: true; pollId: string } | { ok: false; outcome: Exclude<VoteOutcome, "ok"> | "unknown_poll"; choices: number };

export class Polls {
  /** undefined: not read from SQLite yet; null: no poll open */
  private open: PollTally | null | undefined;
  private readonly results: ThrottledTimer;

  constructor(
    private readonly room: StreamRoomServices,
    private readonly sql: SqlStorage,
  ) {
    this.results = new ThrottledTimer(room, RESULTS_TIMER, RESULTS_INTERVAL_MS, () => this.publishResults());
    sql.exec(`CREATE TABLE IF NOT EXISTS polls (
      id TEXT PRIMARY KEY, question TEXT NOT NULL, choices TEXT NOT NULL,
      opened_at INTEGER NOT NULL, opened_by TEXT NOT NULL, closed_at INTEGER, totals TEXT
    )`);
    sql.exec(`CREATE TABLE IF NOT EXISTS poll_votes (
      poll_id TEXT NOT NULL, voter TEXT NOT NULL, choice INTEGER NOT NULL, at INTEGER NOT NULL,
      PRIMARY KEY (poll_id, voter)
    )`);
  }

  /** The open poll, read back from SQLite after a restart. */
  current(): PollTally | null {
    if (this.open === undefined) {
      const row = this.sql
        .exec<PollRow>(
          "SELECT id, question, choices, opened_at, opened_by FROM polls WHERE closed_at IS NULL ORDER BY opened_at DESC LIMIT 1",
        )
        .toArray()[0];
      if (row === undefined) {
        this.open = null;
      } else {
        const spec: PollSpec = {
          id: row.id,
          question: row.question,
          choices: JSON.parse(row.choices) as string[],
          openedAt: row.opened_at,
          openedBy: row.opened_by,
        };
        const votes = this.sql
          .exec<{ voter: string; choice: number }>("SELECT voter, choice FROM poll_votes WHERE poll_id = ?", row.id)
          .toArray()
          .map((v) => [v.voter, v.choice] as const);
        this.open = new PollTally(spec, votes);
      }
    }
    return this.open;
  }

  view(): PollView | null {
    return this.current()?.view() ?? null;
  }

  private exists(pollId: string): boolean {
    return this.sql.exec("SELECT 1 FROM polls WHERE id = ?", pollId).toArray().length > 0;
  }

  /** Opens a poll (the caller checked who may). */
  async openPoll(openedBy: string, question: unknown, choices: unknown): Promise<RoomResult<PollView>> {
    const valid = validatePoll(question, choices);
    if (!valid.ok) return fail(400, "bad_frame", valid.message);
    if (this.current() !== null) return fail(409, "poll_already_open", "close the open poll first");
    const spec: PollSpec = {
      id: randomString(12, "0123456789abcdefghijklmnopqrstuvwxyz"),
      question: valid.question,
      choices: valid.choices,
      openedAt: this.room.clock.now(),
      openedBy,
    };
    this.sql.exec(
      "INSERT INTO polls (id, question, choices, opened_at, opened_by) VALUES (?, ?, ?, ?, ?)",
      spec.id,
      spec.question,
      JSON.stringify(spec.choices),
      spec.openedAt,
      spec.openedBy,
    );
    const tally = new PollTally(spec);
    this.open = tally;
    await this.results.cancel(false);
    this.room.record({ type: "poll_open", pollId: spec.id, question: spec.question, choices: spec.choices, openedBy });
    return ok(tally.view());
  }

  /** Closes the poll: totals frozen and persisted, `poll_closed` logged. */
  async closePoll(pollId: string): Promise<RoomResult<PollView>> {
    const poll = this.current();
    if (poll === null || poll.spec.id !== pollId) {
      return this.exists(pollId) ? fail(409, "poll_closed", "this poll is already closed") : fail(404, "unknown_poll", "no such poll");
    }
    const now = this.room.clock.now();
    poll.close(now);
    await this.results.cancel(true);
    const view = poll.view();
    this.sql.exec("UPDATE polls SET closed_at = ?, totals = ? WHERE id = ?", now, JSON.stringify(view.totals), pollId);
    this.open = null;
    this.room.record({
      type: "poll_closed",
      pollId,
      question: view.question,
      choices: view.choices,
      totals: view.totals,
      total: view.total,
    });
    return ok(view);
  }

  /** Closes whatever poll is open (the stream ended). */
  async closeOpenPoll(): Promise<void> {
    const poll = this.current();
    if (poll !== null) await this.closePoll(poll.spec.id);
  }

  /** One vote per voter, persisted before it is acknowledged; results follow (≤ 4/s). */
  async vote(voter: string, pollId: string, choice: number): Promise<VoteResult> {
    const poll = this.current();
    if (poll === null || poll.spec.id !== pollId) {
      return { ok: false, outcome: this.exists(pollId) ? "closed" : "unknown_poll", choices: 0 };
    }
    const outcome = poll.vote(voter, choice);
    if (outcome !== "ok") return { ok: false, outcome, choices: poll.spec.choices.length };
    this.sql.exec(
      "INSERT INTO poll_votes (poll_id, voter, choice, at) VALUES (?, ?, ?, ?)",
      poll.spec.id,
      voter,
      choice,
      this.room.clock.now(),
    );
    await this.results.request(); // poll_results now, or at the end of the current 250 ms window
    return { ok: true, pollId: poll.spec.id };
  }

  /** The deferred window ended (timer). */
  onTimer(): void {
    this.results.onTimer();
  }

  private publishResults(): void {
    const view = this.view();
    if (view === null) return;
    this.room.record({ type: "poll_results", pollId: view.pollId, totals: view.totals, total: view.total });
  }
}
