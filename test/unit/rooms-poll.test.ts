/** The poll tally and poll validation (workers/rooms/poll.ts). */
import { describe, expect, it } from "vitest";
import { PollTally, validatePoll } from "../../workers/rooms/poll.js";

describe("poll tally", () => {
  const spec = { id: "p1", question: "Who?", choices: ["A", "B", "C"], openedAt: 0, openedBy: "u" };

  it("one vote per voter; totals; closed polls take no votes", () => {
    const poll = new PollTally(spec);
    expect(poll.vote("u1", 0)).toBe("ok");
    expect(poll.vote("u1", 1)).toBe("duplicate");
    expect(poll.vote("u2", 3)).toBe("bad_choice");
    expect(poll.vote("u2", -1)).toBe("bad_choice");
    expect(poll.vote("u2", 1.5)).toBe("bad_choice");
    expect(poll.vote("u2", 2)).toBe("ok");
    expect(poll.totals()).toEqual([1, 0, 1]);
    expect(poll.total).toBe(2);
    poll.close(10);
    expect(poll.vote("u3", 0)).toBe("closed");
    expect(poll.view()).toMatchObject({ pollId: "p1", totals: [1, 0, 1], total: 2, open: false });
  });

  it("rebuilt from persisted votes (first vote of a voter wins)", () => {
    const poll = new PollTally(spec, [
      ["a", 0],
      ["b", 1],
      ["a", 2],
      ["c", 1],
    ]);
    expect(poll.totals()).toEqual([1, 2, 0]);
    expect(poll.vote("b", 0)).toBe("duplicate");
  });

  it("many voters in any order give exact totals", () => {
    const poll = new PollTally(spec);
    const votes = Array.from({ length: 3_000 }, (_, i) => [`v${i % 1_000}`, i % 3] as const);
    for (const [voter, choice] of votes) poll.vote(voter, choice);
    expect(poll.total).toBe(1_000);
    expect(poll.totals().reduce((a, b) => a + b, 0)).toBe(1_000);
  });

  it("validation: 2..6 distinct non-empty choices, bounded lengths", () => {
    expect(validatePoll("Q", ["a", "b"])).toEqual({ ok: true, question: "Q", choices: ["a", "b"] });
    expect(validatePoll(" Q ", [" a ", "b"])).toMatchObject({ ok: true, question: "Q", choices: ["a", "b"] });
    expect(validatePoll("Q", ["a"]).ok).toBe(false);
    expect(validatePoll("Q", ["1", "2", "3", "4", "5", "6", "7"]).ok).toBe(false);
    expect(validatePoll("Q", ["a", "A"]).ok).toBe(false);
    expect(validatePoll("Q", ["a", ""]).ok).toBe(false);
    expect(validatePoll("", ["a", "b"]).ok).toBe(false);
    expect(validatePoll("Q".repeat(201), ["a", "b"]).ok).toBe(false);
    expect(validatePoll("Q", ["a".repeat(81), "b"]).ok).toBe(false);
    // text for people: no control characters (ANSI), bidi overrides or HTML markup; NFC
    expect(validatePoll("\u001b[31mWho wins?", ["a", "b"])).toEqual({
      ok: false,
      message: "question contains control characters (ANSI escapes, line breaks, tabs ...)",
    });
    expect(validatePoll("Who\nwins?", ["a", "b"]).ok).toBe(false);
    expect(validatePoll("Q", ["<img src=x onerror=alert(1)>", "b"]).ok).toBe(false);
    expect(validatePoll("Q", ["\u202Eb", "a"]).ok).toBe(false);
    expect(validatePoll("Reds <3 or Blues?", ["Cafe\u0301", "b"])).toEqual({
      ok: true,
      question: "Reds <3 or Blues?",
      choices: ["Café", "b"],
    });
    expect(validatePoll("Q", "a,b").ok).toBe(false);
  });
});
