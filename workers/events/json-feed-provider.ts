/**
 * Adapter for the generic JSON feed:
 *
 *   GET {base}/events?from=<iso>&to=<iso>  → [event, ...]  (or { events: [...] })
 *   GET {base}/events/<id>                 → event
 *   event = { id, sport, status: scheduled|in_progress|final, startTime,
 *             home: { name, abbr, score }, away: {...}, period, clock, details }
 *
 * Every answer is validated (zod) and normalized to StandardEvent; anything
 * else is a ProviderError("malformed"), so a bad payload never replaces a
 * good state.
 */
import { FeedEventSchema, type FeedEvent } from "../../common/event-feed.js";
import { formatIssues } from "../lib/zod-issues.js";
import { ProviderError, type EventList, type EventProvider } from "./provider.js";
import type { StandardEvent } from "./standard-event.js";

function normalizeFeedEvent(feed: FeedEvent, provider: string): StandardEvent {
  return {
    eventId: feed.id,
    provider,
    sport: feed.sport,
    status: feed.status,
    startTime: new Date(feed.startTime).toISOString(),
    home: { name: feed.home.name, abbr: feed.home.abbr, score: feed.home.score },
    away: { name: feed.away.name, abbr: feed.away.abbr, score: feed.away.score },
    period: feed.period ?? null,
    clock: feed.clock ?? null,
    details: feed.details ?? {},
  };
}

/** Validates one feed event; throws ProviderError("malformed") with the first issues. */
export function parseFeedEvent(data: unknown, provider: string): StandardEvent {
  const result = FeedEventSchema.safeParse(data);
  if (!result.success) {
    throw new ProviderError("malformed", `invalid event: ${formatIssues(result.error, "event", 3)}`);
  }
  return normalizeFeedEvent(result.data, provider);
}

/** Validates a list answer; invalid entries are skipped and counted. */
export function parseFeedList(data: unknown, provider: string): EventList {
  const list = Array.isArray(data)
    ? data
    : data !== null && typeof data === "object" && Array.isArray((data as { events?: unknown }).events)
      ? (data as { events: unknown[] }).events
      : null;
  if (list === null) throw new ProviderError("malformed", "event list is not an array");
  const events: StandardEvent[] = [];
  let skipped = 0;
  for (const entry of list) {
    const parsed = FeedEventSchema.safeParse(entry);
    if (parsed.success) events.push(normalizeFeedEvent(parsed.data, provider));
    else skipped++;
  }
  return { events, skipped };
}

export interface JsonFeedOptions {
  timeoutMs?: number;
  /** Largest answer read, bytes (default 1 MiB). */
  maxBytes?: number;
  fetch?: typeof fetch;
  name?: string;
}

export class JsonFeedProvider implements EventProvider {
  readonly name: string;
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly fetchImpl: typeof fetch;

  constructor(baseUrl: string, options: JsonFeedOptions = {}) {
    this.base = baseUrl.replace(/\/+$/, "");
    this.timeoutMs = options.timeoutMs ?? 2_000;
    this.maxBytes = options.maxBytes ?? 1024 * 1024;
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.name = options.name ?? "json-feed";
  }

  async listEvents(from: Date, to: Date): Promise<EventList> {
    const url = `${this.base}/events?from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}`;
    const body = await this.getJson(url, false);
    return parseFeedList(body, this.name);
  }

  async getEvent(eventId: string): Promise<StandardEvent | null> {
    const body = await this.getJson(`${this.base}/events/${encodeURIComponent(eventId)}`, true);
    if (body === undefined) return null;
    const event = parseFeedEvent(body, this.name);
    if (event.eventId !== eventId) throw new ProviderError("malformed", `asked for ${eventId}, got ${event.eventId}`);
    return event;
  }

  /** GET + JSON.parse; undefined for a 404 when `allow404`. */
  private async getJson(url: string, allow404: boolean): Promise<unknown> {
    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        headers: { accept: "application/json" },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const name = (error as Error)?.name;
      if (name === "TimeoutError" || name === "AbortError") {
        throw new ProviderError("timeout", `no answer within ${this.timeoutMs} ms`);
      }
      throw new ProviderError("network", `request failed: ${(error as Error)?.message ?? String(error)}`);
    }
    if (response.status === 404 && allow404) {
      await response.body?.cancel();
      return undefined;
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new ProviderError("http", `HTTP ${response.status}`, response.status);
    }
    let text: string;
    try {
      text = await readLimited(response, this.maxBytes);
    } catch (error) {
      if (error instanceof ProviderError) throw error;
      const name = (error as Error)?.name;
      if (name === "TimeoutError" || name === "AbortError") {
        throw new ProviderError("timeout", `body not read within ${this.timeoutMs} ms`);
      }
      throw new ProviderError("network", `reading the answer failed: ${(error as Error)?.message ?? String(error)}`);
    }
    try {
      return JSON.parse(text);
    } catch {
      throw new ProviderError("malformed", "answer is not JSON");
    }
  }
}

async function readLimited(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    throw new ProviderError("malformed", `answer larger than ${maxBytes} bytes`);
  }
  const buffer = await response.arrayBuffer();
  if (buffer.byteLength > maxBytes) throw new ProviderError("malformed", `answer larger than ${maxBytes} bytes`);
  return new TextDecoder().decode(buffer);
}
