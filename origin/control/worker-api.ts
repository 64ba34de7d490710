/**
 * Signed calls from the origin to the API Worker. Every request carries an
 * HMAC over timestamp, method, path and body (common/signing.ts); the secret
 * itself never leaves this process.
 */
import { signRequest } from "../../common/signing.js";

export class WorkerApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface OriginLoad {
  originId: string;
  baseUrl: string;
  rtmpUrl: string;
  capacity: number;
  activeStreams: number;
  pool: "standard" | "vip";
}

export type StreamStatus = "live" | "reconnecting" | "ended";

export class WorkerApi {
  constructor(
    private readonly workerUrl: string,
    private readonly secret: string,
    private readonly originId: string,
    private readonly timeoutMs = 5_000,
  ) {}

  async post<T>(path: string, payload: unknown): Promise<T> {
    const body = JSON.stringify(payload);
    const headers = await signRequest(this.secret, "POST", path, body);
    const response = await fetch(new URL(path, this.workerUrl), {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = {};
    }
    if (!response.ok) {
      const error = (json as { error?: { code?: string; message?: string } }).error;
      throw new WorkerApiError(
        response.status,
        error?.code ?? "http_error",
        error?.message ?? `HTTP ${response.status} from ${path}`,
      );
    }
    return json as T;
  }

  /** Asks whether a stream key may publish here; resolves to the stream id or throws. */
  async authorizePublish(streamKey: string): Promise<{ streamId: string }> {
    return this.post("/api/internal/publish", { originId: this.originId, streamKey });
  }

  async reportStatus(streamId: string, status: StreamStatus): Promise<void> {
    await this.post(`/api/internal/streams/${streamId}/status`, { originId: this.originId, status });
  }

  async heartbeat(load: OriginLoad): Promise<void> {
    await this.post("/api/internal/origins/heartbeat", load);
  }
}
