/**
 * Connection manager: hides the WebSocket Hibernation API from the rooms.
 * Sockets are accepted with `ctx.acceptWebSocket(ws, tags)` so the room may
 * be evicted from memory while they stay open; what a room must know about a
 * connection survives in its attachment (`serializeAttachment`), and tags
 * (`ctx.getWebSockets(tag)`) address groups: `conn:<id>`, `user:<id>`,
 * `role:<role>`, `country:<CC>`, `device:<type>`, plus the room's own.
 */
import type { DeviceType } from "../lib/client-info.js";
import type { TokenRole } from "../lib/session-token.js";

/** Who is connecting, as the Worker established it (token + request). */
export interface ConnectionInfo {
  userId: string;
  role: TokenRole;
  anon: boolean;
  /** token expiry, ms since the epoch */
  exp: number;
  country: string | null;
  device: DeviceType;
}

export interface ConnectionState extends ConnectionInfo {
  id: string;
  joinedAt: number;
  tags: string[];
  /** set once the room has handled this socket's departure */
  closed?: boolean;
  /** the player's latest telemetry (merged) and how many reports it sent */
  telemetry?: { sample: Record<string, number>; reports: number };
}

const OPEN = 1;
const MAX_TAGS = 10;

export class Connection {
  constructor(
    readonly ws: WebSocket,
    readonly state: ConnectionState,
  ) {}

  get id(): string {
    return this.state.id;
  }

  get open(): boolean {
    return this.ws.readyState === OPEN && this.state.closed !== true;
  }

  /** Sends a text frame; false if the socket is gone. */
  send(text: string): boolean {
    try {
      this.ws.send(text);
      return true;
    } catch {
      return false;
    }
  }

  close(code: number, reason: string): void {
    try {
      this.ws.close(code, reason.slice(0, 120));
    } catch {
      // already closed
    }
  }
}

export function baseTags(state: Pick<ConnectionState, "id" | "userId" | "role" | "country" | "device">): string[] {
  const tags = [`conn:${state.id}`, `user:${state.userId}`, `role:${state.role}`, `device:${state.device}`];
  if (state.country !== null) tags.push(`country:${state.country}`);
  return tags;
}

export class ConnectionManager {
  private readonly cache = new WeakMap<WebSocket, Connection>();

  constructor(private readonly ctx: DurableObjectState) {}

  /** Hibernatable accept; `state.tags` become the socket's tags (at most 10). */
  accept(ws: WebSocket, state: ConnectionState): Connection {
    state.tags = state.tags.slice(0, MAX_TAGS);
    this.ctx.acceptWebSocket(ws, state.tags);
    ws.serializeAttachment(state);
    const connection = new Connection(ws, state);
    this.cache.set(ws, connection);
    return connection;
  }

  /** The connection of a socket (restored from its attachment after hibernation). */
  get(ws: WebSocket): Connection | null {
    const cached = this.cache.get(ws);
    if (cached !== undefined) return cached;
    let state: unknown;
    try {
      state = ws.deserializeAttachment();
    } catch {
      return null;
    }
    if (state === null || typeof state !== "object" || typeof (state as ConnectionState).id !== "string") return null;
    const connection = new Connection(ws, state as ConnectionState);
    this.cache.set(ws, connection);
    return connection;
  }

  /** Open connections, optionally only those with `tag`. */
  all(tag?: string): Connection[] {
    const out: Connection[] = [];
    for (const ws of this.ctx.getWebSockets(tag)) {
      const connection = this.get(ws);
      if (connection !== null && connection.open) out.push(connection);
    }
    return out;
  }

  count(): number {
    return this.all().length;
  }

  /** Marks the connection handled (kept in the attachment, so it survives hibernation). */
  markClosed(connection: Connection): void {
    connection.state.closed = true;
    this.save(connection);
  }

  /** Persists a changed connection state into its attachment (survives hibernation). */
  save(connection: Connection): void {
    try {
      connection.ws.serializeAttachment(connection.state);
    } catch {
      // socket already gone: the in-memory state is enough
    }
  }
}
