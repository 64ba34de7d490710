/**
 * Signed calls from the origin to the API Worker. Every request carries an
 * HMAC over timestamp, a fresh nonce (the request id: the Worker accepts each
 * request once), method, path and body (common/signing.ts); the secret
 * itself never leaves this process.
 */
import type {
  ErrorBody,
  HeartbeatRequest,
  HeartbeatResponse,
  OriginStreamStatus,
  PublishRequest,
  PublishResponse,
  StatusReport,
  StatusResponse,
} from "../../common/origin-contract.js";
import { signRequest, type SignedBody } from "../../common/signing.js";

class WorkerApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** What a heartbeat reports (common/origin-contract.ts); the origin always sends every field. */
export type OriginLoad = Required<HeartbeatRequest>;

export type StreamStatus = OriginStreamStatus;

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
      const error = (json as Partial<ErrorBody>).error;
      throw new WorkerApiError(response.status, error?.code ?? "http_error", error?.message ?? `HTTP ${response.status} from ${path}`);
    }
    return json as T;
  }

  /** Asks whether a stream key may publish here; resolves to the stream id or throws. */
  async authorizePublish(streamKey: string): Promise<PublishResponse> {
    const request: PublishRequest = { originId: this.originId, streamKey };
    return this.post("/api/internal/publish", request);
  }

  async reportStatus(streamId: string, status: StreamStatus, reason?: "start_failed"): Promise<void> {
    const report: StatusReport = { originId: this.originId, status, ...(reason ? { reason } : {}) };
    await this.post<StatusResponse>(`/api/internal/streams/${streamId}/status`, report);
  }

  /** Sends load and streams; the answer says which streams to end and which publishers to drop. */
  async heartbeat(load: OriginLoad): Promise<HeartbeatResponse> {
    const answer = await this.post<Partial<HeartbeatResponse>>("/api/internal/origins/heartbeat", load);
    return { ok: true, end: answer.end ?? [], dropPublisher: answer.dropPublisher ?? [] };
  }

  /** Stores a recording object (init, segment, playlist) in R2 through the Worker. */
  async putVodObject(streamId: string, name: string, bytes: Uint8Array<ArrayBuffer>, contentType: string): Promise<void> {
    await this.send("PUT", `/api/internal/streams/${streamId}/vod/${name}`, bytes, contentType);
  }

  async putThumbnail(streamId: string, index: number, jpeg: Uint8Array<ArrayBuffer>): Promise<void> {
    await this.send("PUT", `/api/internal/streams/${streamId}/thumbnails/${index}`, jpeg, "image/jpeg");
  }
}
