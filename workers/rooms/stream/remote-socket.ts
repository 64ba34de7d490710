/**
 * A socket held by one of the stream's fan-out shards, as the StreamRoom's
 * frame handling sees it while it handles one of that socket's frames
 * (`shardFrame`): who it is (the shard's FrameworkState) and the room's
 * per-socket state, which the shard keeps in the socket's attachment and
 * sends along; a change comes back in the answer (`changed`).
 */
import type { ConnectionInfo, FrameworkState } from "../connections.js";
import type { StreamSocket, StreamSocketState } from "./telemetry-reports.js";

export class RemoteSocket implements StreamSocket {
  changed = false;

  constructor(
    private readonly framework: FrameworkState,
    private current: StreamSocketState | null,
  ) {}

  get id(): string {
    return this.framework.id;
  }

  get who(): ConnectionInfo {
    return this.framework.who;
  }

  get app(): StreamSocketState | null {
    return this.current;
  }

  setApp(app: StreamSocketState): void {
    this.current = app;
    this.changed = true;
  }
}
