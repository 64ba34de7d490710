/**
 * The watch page in Chromium (web/app/watch): plays and shows the scorebug, a
 * provider score change shows when the playhead reaches it (at once in real
 * time mode), chat between two viewers (own messages marked, errors shown, a
 * dropped socket comes back with no gap or duplicate), likes, a poll with one
 * vote each and live results, sound from the controls (unmute, volume), the
 * reconnecting overlay when the broadcaster drops, the ended state with final
 * stats and the replay link. Screenshots of each state at phone and desktop
 * sizes go to SCREENSHOT_DIR.
 *
 * Under load (CI: two shared cores) nothing here waits a fixed time or
 * asserts how fast something happened: every wait is on the page's or the
 * stack's behaviour, with limits generous enough for a busy machine (they
 * only cost time when something is broken).
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startTestSource, type TestSource } from "../../origin/tools/test-source.js";
import { createStream, eventually, fetchText, sleep, type CreatedStream } from "./helpers.js";
import {
  asBroadcaster,
  controlsSettled,
  edge,
  internal,
  launchChromium,
  MOBILE_UA,
  newGame,
  openPage,
  DESKTOP,
  PHONE,
  providerControl,
  screenshot,
  startLagMonitor,
  tabStops,
  unlabelledControls,
  watchState,
  type WatchSnapshot,
} from "./web-helpers.js";

const home = (s: WatchSnapshot) => (s.score?.shown.event as { home?: { score?: number } } | null)?.home?.score;
const media = (page: Page) =>
  page.evaluate(() => {
    const video = document.querySelector("video")!;
    return { muted: video.muted, volume: video.volume, paused: video.paused };
  });

describe("watch page (web app) in Chromium", () => {
  let browser: Browser;
  let stream: CreatedStream;
  let source: TestSource;
  let gameId: string;
  let a: Page; // playhead mode (default)
  let b: Page; // real time mode, another viewer
  const errors: string[][] = [];

  beforeAll(async () => {
    gameId = await newGame(40, 37);
    stream = await createStream("Herons v Peaks, courtside", { eventId: gameId });
    source = startTestSource({ rtmpUrl: stream.ingestUrl, width: 320, height: 180 });
    browser = await launchChromium();
    await eventually(
      async () => ((await fetchText(stream.playbackUrl)).status === 200 ? true : undefined),
      40_000,
      "the stream to be playable",
    );
    const first = await openPage(browser, stream.watchUrl);
    const second = await openPage(browser, stream.watchUrl, {
      init: (context) => context.addInitScript(() => localStorage.setItem("edge.scoreMode", "realtime")),
    });
    a = first.page;
    b = second.page;
    errors.push(first.errors, second.errors);
  });
  afterAll(async () => {
    await browser?.close();
    await source?.stop();
  });

  it("plays, with controls, the LIVE badge and the scorebug", async () => {
    for (const page of [a, b]) {
      await eventually(
        async () => ((await page.evaluate(() => window.__player?.currentTime ?? 0)) > 1 ? true : undefined),
        60_000,
        "playback",
      ).catch(async (error) => {
        const s = await watchState(page);
        throw new Error(
          `${error}: ${JSON.stringify({ status: s.status, overlay: s.overlay, socket: s.socket, player: await page.evaluate(() => window.__player ?? null) })}`,
        );
      });
      await eventually(async () => (home(await watchState(page)) === 40 ? true : undefined), 30_000, "the scorebug");
    }
    expect(await a.locator("#scorebug").innerText()).toMatch(/HCH\s*40\s*–\s*SUM\s*37/);
    expect(await a.getAttribute(".score-mode", "aria-pressed")).toBe("false");
    expect(await b.getAttribute(".score-mode", "aria-pressed")).toBe("true");
    for (const tag of ["media-play-button", "media-mute-button", "media-fullscreen-button", "media-rendition-menu-button"]) {
      expect(await a.locator(tag).count(), tag).toBe(1);
    }
    await eventually(async () => ((await a.locator("#live").innerText()) === "LIVE" ? true : undefined), 30_000, "the LIVE badge");
    // quality menu: automatic plus every rendition of the ladder
    const levels = await a.evaluate(
      () => (document.querySelector("video") as HTMLVideoElement & { videoRenditions: { length: number } }).videoRenditions.length,
    );
    expect(levels).toBe(2); // the e2e ladder: 180p, 90p
    // the quality menu: opened from the keyboard, 90p picked; hls.js switches to it
    await a.hover(".video-wrap");
    await a.focus("media-rendition-menu-button");
    await a.keyboard.press("Enter");
    // by exact name: "Auto (90p)" also contains "90p" once ABR is on the low rendition (a busy machine)
    const item = (name: string) => a.locator("media-rendition-menu").getByRole("menuitemradio", { name, exact: name !== "Auto" });
    await item("90p").waitFor({ timeout: 15_000 });
    await controlsSettled(a); // the menu's opening transition
    await screenshot(a, "watch-quality-menu-desktop");
    const selected = () =>
      a.evaluate(
        () =>
          (document.querySelector("video") as HTMLVideoElement & { videoRenditions: { selectedIndex: number } }).videoRenditions
            .selectedIndex,
      );
    // media-chrome redraws the items when hls.js switches level (the "Auto (…)" label) and closes the menu when
    // the controls hide: a click that lost its item is made again, the menu reopened if it closed
    const choose = (name: string, index: number) =>
      eventually(
        async () => {
          if (!(await item(name).isVisible())) {
            await a.hover(".video-wrap");
            await a.click("media-rendition-menu-button");
          }
          await item(name).click({ timeout: 5_000 });
          return (await selected()) === index ? true : undefined;
        },
        45_000,
        `"${name}" from the quality menu`,
      );
    await choose("90p", 0);
    await eventually(async () => ((await a.evaluate(() => window.__player!.level)) === 0 ? true : undefined), 30_000, "the switch to 90p");
    // and back to automatic
    await choose("Auto", -1);
    expect((await watchState(a)).status).toBe("live");
    expect((await watchState(a)).viewerCount).toBeGreaterThanOrEqual(2);
    expect(await a.locator("#viewers").innerText()).toMatch(/^\d+ watching$/);
    expect((await a.locator("#state-pill").innerText()).toLowerCase()).toBe("live");
    await screenshot(a, "watch-desktop");
  });

  it("sound: the mute button unmutes, the volume range sets the volume", async () => {
    expect(await media(a)).toMatchObject({ muted: true, paused: false }); // autoplay starts muted
    await a.hover(".video-wrap");
    await a.click("media-mute-button");
    await expect.poll(async () => (await media(a)).muted, { timeout: 15_000 }).toBe(false);
    // media-chrome reflects the media's state on its controls after the media's event: wait for it
    await expect.poll(() => a.getAttribute("media-mute-button", "mediavolumelevel"), { timeout: 5_000 }).not.toBe("off");
    // a click a quarter of the way along the volume range
    await a.hover(".video-wrap");
    const box = (await a.locator("media-volume-range").boundingBox())!;
    expect(box.width).toBeGreaterThan(20);
    await a.mouse.click(box.x + box.width * 0.25, box.y + box.height / 2);
    await expect.poll(async () => (await media(a)).volume, { timeout: 15_000 }).toBeLessThan(0.5);
    const lowered = (await media(a)).volume;
    expect(lowered).toBeGreaterThan(0);
    // and from the keyboard: the range takes the arrow keys
    await a.focus("media-volume-range");
    await a.keyboard.press("ArrowRight");
    await a.keyboard.press("ArrowRight");
    await expect.poll(async () => (await media(a)).volume, { timeout: 15_000 }).toBeGreaterThan(lowered);
    expect(await media(a)).toMatchObject({ muted: false, paused: false });
    // muted again from the same button
    await a.hover(".video-wrap");
    await a.click("media-mute-button");
    await expect.poll(async () => (await media(a)).muted, { timeout: 15_000 }).toBe(true);
  });

  it("a score change shows when the playhead reaches it, and at once in real time mode", async () => {
    await startLagMonitor(a);
    await providerControl({ set: { id: gameId, home: { score: 52 }, clock: "05:10" } });
    const seenA = await eventually(
      async () => {
        const s = await watchState(a);
        return home(s) === 52 ? s : undefined;
      },
      30_000,
      "the change in playhead mode",
    );
    const seenB = await eventually(
      async () => {
        const s = await watchState(b);
        return home(s) === 52 ? s : undefined;
      },
      30_000,
      "the change in real time mode",
    );
    const frame = seenA.scoreFrames.find((f) => (f.changes as { home?: { score?: number } }).home?.score === 52)!;
    expect(frame).toBeDefined();
    // playhead mode: shown once the video's program time reached the moment of the change (and promptly)
    const shownA = seenA.score!.shown;
    expect(shownA.programTime).not.toBeNull();
    expect(shownA.programTime!).toBeGreaterThanOrEqual(frame.ts);
    // on time: the reveal fires as the playhead reaches the stamp (a seek over it fires it late, by design),
    // not a sync tick or an event later; what the busy machine held the page's timers back is not the page's doing
    const reveal = seenA.score!.fired.find((r) => r.ts === frame.ts)!;
    expect(reveal).toBeDefined();
    const timerLag = await a.evaluate(() => window.__lag!.max);
    expect(reveal.late).toBeLessThan((reveal.seeked ? 5_000 : 300) + timerLag);
    // real time: shown while its playhead was still before the change (about the target delay ahead)
    const shownB = seenB.score!.shown;
    expect(shownB.programTime === null || shownB.programTime < frame.ts).toBe(true);
    expect(shownA.at).toBeGreaterThan(shownB.at);
    // the toggle switches a page to real time
    await a.click(".score-mode");
    expect(await a.getAttribute(".score-mode", "aria-pressed")).toBe("true");
    await a.click(".score-mode");
  });

  it("chat: a round trip between two viewers, own messages marked, text never HTML", async () => {
    await a.fill("#chat input", "hello from A <b>not bold</b>");
    await a.press("#chat input", "Enter");
    await eventually(
      async () => ((await watchState(b)).chat.some((m) => m.text === "hello from A <b>not bold</b>") ? true : undefined),
      20_000,
      "B to see A's message",
    );
    const mineA = await eventually(
      async () => (await watchState(a)).chat.find((m) => m.text.startsWith("hello from A")),
      20_000,
      "A to see its own message",
    );
    const onB = (await watchState(b)).chat.find((m) => m.text.startsWith("hello from A"))!;
    expect(mineA.mine).toBe(true);
    expect(onB.mine).toBe(false);
    expect(await a.locator(".chat-msg.mine .chat-from").first().innerText()).toBe("you");
    expect(await b.locator(".chat-msg b").count()).toBe(0);
    await b.fill("#chat input", "That three was something!");
    await b.press("#chat input", "Enter");
    await eventually(async () => ((await watchState(a)).chat.length >= 2 ? true : undefined), 20_000, "A to see B's answer");
  });

  it("poll: one vote each, live results, closed", async () => {
    const opened = await asBroadcaster<{ pollId: string }>("POST", `/api/streams/${stream.streamId}/polls`, {
      question: "Who wins the 3rd?",
      choices: ["Herons", "Peaks"],
    });
    expect(opened.status).toBe(201);
    for (const page of [a, b]) await page.locator("#poll button.vote").first().waitFor({ timeout: 20_000 });
    await a.click('#poll button.vote[data-choice="0"]');
    await b.click('#poll button.vote[data-choice="1"]');
    for (const page of [a, b]) {
      await eventually(async () => ((await watchState(page)).poll?.total === 2 ? true : undefined), 20_000, "both votes in the results");
    }
    expect((await watchState(a)).poll!.totals).toEqual([1, 1]);
    expect(await a.locator("#poll button.vote").count()).toBe(0); // voted: no second vote
    expect((await watchState(a)).voted).toBe(0);
    await b.hover(".video-wrap"); // media-chrome shows its control bar
    await controlsSettled(b);
    await screenshot(b, "watch-poll-desktop");
    await b.setViewportSize(PHONE);
    await controlsSettled(b);
    await screenshot(b, "watch-poll-phone");
    expect(await b.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    await b.setViewportSize(DESKTOP);
    await asBroadcaster("POST", `/api/streams/${stream.streamId}/polls/${opened.body.pollId}/close`);
    await expect.poll(async () => (await watchState(b)).poll?.open, { timeout: 20_000 }).toBe(false);
    expect(await b.locator("#poll .poll-status").innerText()).toContain("closed");
  });

  it("chat after a dropped socket: replayed with since, no gap, no duplicate", async () => {
    const before = (await watchState(b)).socket!.connects;
    await b.evaluate(() => window.__watch!.dropSocket());
    // one after the other: each send waits for the room to have it (A sees its own message)
    for (let i = 0; i < 3; i++) {
      await a.fill("#chat input", `while B was away ${i}`);
      await a.press("#chat input", "Enter");
      await eventually(
        async () => ((await watchState(a)).chat.some((m) => m.text === `while B was away ${i}`) ? true : undefined),
        20_000,
        `A's message ${i}`,
      );
    }
    const s = await eventually(
      async () => {
        const state = await watchState(b);
        return state.chat.filter((m) => m.text.startsWith("while B was away")).length === 3 ? state : undefined;
      },
      30_000,
      "B to catch up",
    ).catch(async (error) => {
      throw new Error(
        `${error}: ${JSON.stringify({ b: (await watchState(b)).socket, chat: (await watchState(b)).chat.slice(-5), a: (await watchState(a)).chatErrors })}`,
      );
    });
    expect(s.socket!.connects).toBe(before + 1);
    expect(new Set(s.chatSeqs).size).toBe(s.chatSeqs.length);
    expect([...s.chatSeqs].sort((x, y) => x - y)).toEqual(s.chatSeqs);
    // what A sent and B missed, all there, in order
    const fromA = (await watchState(a)).chat.map((m) => m.seq);
    expect(fromA.every((seq) => s.chatSeqs.includes(seq))).toBe(true);
  });

  it("chat errors: too long, too fast", async () => {
    // too long: refused before sending
    await a.fill("#chat input", "x".repeat(501));
    await a.press("#chat input", "Enter");
    await expect.poll(() => a.locator(".chat-error").innerText(), { timeout: 10_000 }).toContain("Too long");
    // too fast: the room's rate limit, shown
    // twenty sends in one go through the form (the button is disabled while a send waits for its ack)
    await a.evaluate(() => {
      const input = document.querySelector<HTMLInputElement>("#chat input")!;
      const form = document.querySelector<HTMLFormElement>("#chat form")!;
      for (let i = 0; i < 20; i++) {
        input.value = `burst ${i}`;
        form.requestSubmit();
      }
    });
    await expect.poll(async () => (await watchState(a)).chatErrors.join(" | "), { timeout: 20_000 }).toContain("too fast");
  });

  it("likes and gifts: a tap on one page counts on the other, a gift shows", async () => {
    const before = (await watchState(b)).likes;
    await a.click("#like");
    await eventually(async () => ((await watchState(b)).likes > before ? true : undefined), 20_000, "the like on B");
    expect(await b.locator("#likes").innerText()).toBe(String(before + 1));
    await internal("POST", `/api/internal/streams/${stream.streamId}/system`, {
      event: "gift",
      data: { from: "Ana", name: "a golden ball" },
    });
    // a toast lives 5 s: watched for inside the page (no round trip per look), then its text
    await b.waitForFunction(
      () => [...document.querySelectorAll(".toast.gift")].some((t) => t.textContent?.includes("Ana sent a golden ball")),
      null,
      { timeout: 20_000 },
    );
    await screenshot(b, "watch-gift-desktop");
  });

  it("keyboard reachable, labelled controls", async () => {
    expect(await unlabelledControls(b)).toEqual([]);
    const stops = (await tabStops(b, 25)).join(" | ");
    // the player's controls, the LIVE badge, the scorebug's toggle, likes, the chat: all on the Tab path
    for (const tag of [
      "media-play-button",
      "media-mute-button",
      "media-rendition-menu-button",
      "media-fullscreen-button",
      "button#live",
      "button#like",
      "input",
      "button",
    ]) {
      expect(stops, tag).toContain(tag);
    }
    expect(stops).toMatch(/button[^|]*\[[^\]]*[Rr]eal time/);
    // the toggle works from the keyboard too
    await b.focus(".score-mode");
    const before = await b.getAttribute(".score-mode", "aria-pressed");
    await b.keyboard.press("Enter");
    expect(await b.getAttribute(".score-mode", "aria-pressed")).not.toBe(before);
    await b.keyboard.press("Enter");
    expect(await b.getAttribute(".score-mode", "aria-pressed")).toBe(before);
  });

  it("phone layout", async () => {
    const phone = await openPage(browser, stream.watchUrl, { viewport: PHONE, userAgent: MOBILE_UA });
    await eventually(
      async () => ((await phone.page.evaluate(() => window.__player?.currentTime ?? 0)) > 1 ? true : undefined),
      60_000,
      "playback on the phone",
    );
    await eventually(
      async () => (home(await watchState(phone.page)) !== undefined ? true : undefined),
      30_000,
      "the scorebug on the phone",
    );
    await screenshot(phone.page, "watch-phone");
    // nothing wider than the screen
    expect(await phone.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    await phone.context.close();
  });

  it("another stream of the same game, switched to in place: the scorebug keeps its state and socket", async () => {
    const second = await createStream("Second camera", { eventId: gameId });
    const source2 = startTestSource({ rtmpUrl: second.ingestUrl, width: 320, height: 180, durationSec: 40 });
    try {
      await eventually(async () => ((await fetchText(second.playbackUrl)).status === 200 ? true : undefined), 60_000, "the second stream");
      const c = await openPage(browser, stream.watchUrl);
      await eventually(async () => (home(await watchState(c.page)) === 52 ? true : undefined), 30_000, "the scorebug on C");
      // a late joiner gets the last messages (the log API up to its hello, the socket after)
      await eventually(
        async () => ((await watchState(c.page)).chat.some((m) => m.text.startsWith("hello from A")) ? true : undefined),
        20_000,
        "the chat history on C",
      );
      const framesBefore = (await watchState(c.page)).scoreFrames.length;
      const chip = c.page.locator("#also button", { hasText: "Second camera" });
      await chip.waitFor({ timeout: 20_000 });
      await chip.click();
      await eventually(async () => ((await watchState(c.page)).streamId === second.streamId ? true : undefined), 20_000, "the switch");
      // the scorebug kept its state through the switch: no reload, no new event socket, no blank in between
      const switched = await watchState(c.page);
      expect(home(switched)).toBe(52);
      expect(switched.eventSocket!.connects).toBe(1);
      await eventually(
        async () => {
          const p = await c.page.evaluate(() => window.__player ?? null);
          return p?.streamId === second.streamId && p.currentTime > 1 ? true : undefined;
        },
        60_000,
        "the second stream to play",
      );
      const s = await watchState(c.page);
      expect(s.streamId).toBe(second.streamId);
      expect(c.page.url()).toContain(`/watch/${second.streamId}`);
      expect(home(s)).toBe(52);
      expect(s.eventSocket!.connects).toBe(1);
      expect(s.scoreFrames.length).toBeGreaterThanOrEqual(framesBefore);
      expect(await c.page.locator("#title").innerText()).toBe("Second camera");
      // and it goes on with the new video: the next change shows when the second stream's playhead reaches it
      await providerControl({ set: { id: gameId, home: { score: 55 }, clock: "04:40" } });
      const after = await eventually(
        async () => {
          const state = await watchState(c.page);
          return home(state) === 55 ? state : undefined;
        },
        30_000,
        "the next change on the second stream",
      );
      const change = after.scoreFrames.find((f) => (f.changes as { home?: { score?: number } }).home?.score === 55)!;
      expect(change).toBeDefined();
      expect(after.score!.mode).toBe("playhead");
      expect(after.score!.shown.programTime!).toBeGreaterThanOrEqual(change.ts);
      expect(after.eventSocket!.connects).toBe(1);
      await c.context.close();
    } finally {
      await source2.stop();
    }
  });

  it("the broadcaster drops: reconnecting overlay, then playback resumes by itself", async () => {
    const streamStatus = async () => (await asBroadcaster<{ status: string }>("GET", `/api/streams/${stream.streamId}`)).body.status;
    const shown = (s: WatchSnapshot) => s.overlayHistory.map((h) => h.state);
    const historyBefore = (await watchState(a)).overlayHistory.length;
    await source.stop();
    // the origin holds the stream for its grace period only, from the moment it reports the broadcaster gone
    const reconnectingAt = await eventually(
      async () => ((await streamStatus()) === "reconnecting" ? Date.now() : undefined),
      30_000,
      "the Worker to see the broadcaster gone",
    );
    // the broadcaster comes back once the page shows the overlay, and at the latest half-way through the grace
    // (its publish must land inside it; the new run's first segment takes a while, so the state lasts beyond that)
    let shot = false;
    const shoot = async (s: WatchSnapshot) => {
      if (shot || s.overlay !== "reconnecting") return;
      shot = true;
      await screenshot(a, "watch-reconnecting-desktop");
    };
    while (!shot && Date.now() < reconnectingAt + inject("reconnectGraceMs") / 2) {
      await shoot(await watchState(a));
      if (!shot) await sleep(100);
    }
    source = startTestSource({ rtmpUrl: stream.ingestUrl, width: 320, height: 180 });
    // the page's own record of what it showed: reconnecting, then nothing (live) again, never ended
    const back = await eventually(
      async () => {
        const s = await watchState(a);
        await shoot(s);
        return s.overlay === null && shown(s).slice(historyBefore).includes("reconnecting") ? s : undefined;
      },
      60_000,
      "the overlay, then its end",
    ).catch(async (error) => {
      const s = await watchState(a);
      throw new Error(`${error}: ${JSON.stringify({ history: s.overlayHistory, status: s.status, worker: await streamStatus() })}`);
    });
    expect(shown(back).slice(historyBefore)).toEqual(["reconnecting", null]);
    expect(await a.locator("#state-pill").innerText()).toMatch(/live/i);
    const t0 = await a.evaluate(() => window.__player!.currentTime);
    await eventually(
      async () => ((await a.evaluate(() => window.__player!.currentTime)) > t0 + 1 ? true : undefined),
      60_000,
      "playback to resume",
    );
  });

  it("ended: final stats and the replay link", async () => {
    await source.stop();
    const s = await eventually(
      async () => {
        const state = await watchState(a);
        return state.overlay === "ended" ? state : undefined;
      },
      60_000,
      "the ended state",
    );
    expect(s.status).toBe("ended");
    expect(s.stats?.peakViewers).toBeGreaterThanOrEqual(2);
    expect(s.stats?.likes).toBeGreaterThanOrEqual(1);
    // the final statistics, as the viewer reads them
    const facts = await a.locator("#overlay dl.stats").innerText();
    expect(facts).toMatch(/Duration\s+\d/);
    expect(facts).toMatch(new RegExp(`Peak viewers\\s+${s.stats!.peakViewers}\\b`));
    expect(facts).toMatch(/Likes\s+[1-9]/);
    const link = a.locator('#overlay a[href^="/replay/"]');
    await link.waitFor({ timeout: 60_000 });
    expect(await link.getAttribute("href")).toBe(`/replay/${stream.streamId}`);
    expect(await a.locator("#chat input").isDisabled()).toBe(true);
    expect(await a.locator("#viewers").innerText()).toBe("");
    await screenshot(a, "watch-ended-desktop");
    await a.setViewportSize(PHONE);
    await screenshot(a, "watch-ended-phone");
    // the link leads to the recording
    const replay = await fetchText(`${edge()}/replay/${stream.streamId}`);
    expect(replay.status).toBe(200);
    // (the recording's index is a master playlist: its first rendition is complete)
    const index = `${edge()}/vod/${stream.streamId}/index.m3u8`;
    const master = (await fetchText(index)).text;
    const variant = master.split("\n").find((line) => line.trim() !== "" && !line.startsWith("#"));
    expect(variant).toBeDefined();
    expect((await fetchText(new URL(variant!, index).href)).text).toContain("#EXT-X-ENDLIST");
    expect(errors.flat().filter((e) => !/WebSocket/.test(e))).toEqual([]);
  });
});
