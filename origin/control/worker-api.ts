/**
 * Signed calls from the origin to the API Worker. Every request carries an
 * HMAC over timestamp, method, path and body (common/signing.ts); the secret
 * itself never leaves this process.
 */
import { signRequest, type SignedBody } from "../../common/signing.js";

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
  /** HLS egress since the previous heartbeat, bits per second. */
  egressBps: number;
  /** Machine CPU use since the previous heartbeat, 0..1. */
  cpu: number;
}

export type StreamStatus = "live" | "reconnecting" | "ended";

export class WorkerApi {
  constructor(
    private readonly workerUrl: string,
    private readonly secret: string,
    private readonly originId: string,
    private readonly timeoutMs = 5_000,
  ) {}

  post<T>(path: string, payload: unknown): Promise<T> {
    return this.send<T>("POST", path, JSON.stringify(payload), "application/json");
  }

  private async send<T>(method: string, path: string, body: SignedBody, contentType: string): Promise<T> {
    const headers = await signRequest(this.secret, method, path, body);
    const response = await fetch(new URL(path, this.workerUrl), {
      method,
      headers: { "content-type": contentType, ...headers },
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

  /** Stores a recording object (init, segment, playlist) in R2 through the Worker. */
  async putVodObject(streamId: string, name: string, bytes: Uint8Array<ArrayBuffer>, contentType: string): Promise<void> {
    await this.send("PUT", `/api/internal/streams/${streamId}/vod/${name}`, bytes, contentType);
  }

  async putThumbnail(streamId: string, index: number, jpeg: Uint8Array<ArrayBuffer>): Promise<void> {
    await this.send("PUT", `/api/internal/streams/${streamId}/thumbnails/${index}`, jpeg, "image/jpeg");
  }
}
