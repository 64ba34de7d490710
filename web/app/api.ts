/** JSON API calls with the server's `{ error: { code, message } }` turned into ApiError. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function api<T>(path: string, init: RequestInit & { apiKey?: string | null; json?: unknown } = {}): Promise<T> {
  const headers = new Headers(init.headers);
  if (init.apiKey) headers.set("Authorization", `Bearer ${init.apiKey}`);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set("Content-Type", "application/json");
    body = JSON.stringify(init.json);
  }
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers, body });
  } catch {
    throw new ApiError(0, "network", "the server cannot be reached");
  }
  const text = await response.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: reported below with the status
  }
  if (!response.ok) {
    const error = (data as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(response.status, error?.code ?? "http_error", error?.message ?? `HTTP ${response.status}`);
  }
  return data as T;
}

/** The shapes the pages read (workers/api/*, workers/streams/views.ts). */
export interface StreamInfo {
  streamId: string;
  status: "created" | "live" | "reconnecting" | "ended";
  title: string;
  eventId: string | null;
  createdAt: number;
  startedAt: number | null;
  endedAt: number | null;
  playbackUrl: string;
  ownerId?: string;
  thumbnailUrl: string | null;
  viewerCount?: number | null;
  endReason?: string | null;
  stats?: { durationMs: number | null; peakViewers: number; avgViewers: number; joins: number; leaves: number } | null;
}

export interface Team {
  name: string;
  abbr: string;
  score: number;
}

export interface SportEvent {
  eventId: string;
  sport: string;
  status: "scheduled" | "in_progress" | "final";
  startTime: string;
  home: Team;
  away: Team;
  period: number | string | null;
  clock: string | null;
  details?: Record<string, unknown>;
}

/**
 * Resolves once the stream's master playlist is served: a stream is `live` as
 * soon as its broadcaster connects, but the origin publishes the master
 * playlist only when every rendition has a segment (hls.js gives up on a 404
 * manifest). `cancelled()` stops the wait (the page moved on).
 */
export async function whenPlayable(src: string, cancelled: () => boolean = () => false): Promise<boolean> {
  for (let attempt = 0; !cancelled(); attempt++) {
    try {
      const response = await fetch(src, { cache: "no-store" });
      if (response.ok) return true;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, Math.min(3_000, 500 + attempt * 250)));
  }
  return false;
}
