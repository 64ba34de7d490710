/**
 * Connection manager: hides the WebSocket Hibernation API from the rooms.
 * Sockets are accepted with `ctx.acceptWebSocket(ws, tags)` so the room may
 * be evicted from memory while they stay open; what a room must know about a
 * connection survives in its attachment (`serializeAttachment`), and tags
 * (`ctx.getWebSockets(tag)`) address groups: `conn:<id>`, `user:<id>`,
 * `role:<role>`, `country:<CC>`, `device:<type>`, plus the room's own.
 *
 * The attachment keeps the framework's state apart from the room's own
 * (`__room` / `__app`, as partyserver does with `__pk` / `__user`): a room
 * can replace its app state without touching who the socket is, and the
 * framework never reads app fields.
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
  /**
   * Keyed fingerprint of the client's address (lib/client-info.ts
   * ipFingerprint, never the IP), null when unknown; sockets accepted by an
   * older build have none.
   */
  address?: string | null;
}

/** What the room framework keeps about a socket. */
export interface FrameworkState {
  id: string;
  joinedAt: number;
  tags: string[];
  who: ConnectionInfo;
  /** set once the room has handled this socket's departure */
  closed?: boolean;
}

interface Attachment<App> {
  __room: FrameworkState;
  __app: App | null;
}

const OPEN = 1;
const MAX_TAGS = 10;

export class Connection<App = unknown> {
  constructor(
    readonly ws: WebSocket,
    private readonly attachment: Attachment<App>,
  ) {}

  get id(): string {
    return this.attachment.__room.id;
  }

  get who(): ConnectionInfo {
    return this.attachment.__room.who;
  }

  get framework(): FrameworkState {
    return this.attachment.__room;
  }

  get open(): boolean {
    return this.ws.readyState === OPEN && this.attachment.__room.closed !== true;
  }

  /** The room's own state of this socket (null until the room sets it). */
  get app(): App | null {
    return this.attachment.__app;
  }

  /** Replaces the room's state of this socket; kept in the attachment, so it survives hibernation. */
  setApp(app: App): void {
    this.attachment.__app = app;
    this.persist();
  }

  markClosed(): void {
    this.attachment.__room.closed = true;
    this.persist();
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
      // already closed by the peer: nothing left to close
    }
  }

  persist(): void {
    try {
      this.ws.serializeAttachment(this.attachment);
    } catch {
      // socket already gone: the in-memory state is all anyone will read
    }
  }
}

export function baseTags(state: Pick<FrameworkState, "id" | "who">): string[] {
  const { who } = state;
  const tags = [`conn:${state.id}`, `user:${who.userId}`, `role:${who.role}`, `device:${who.device}`];
  if (who.country !== null) tags.push(`country:${who.country}`);
  return tags;
}

function isAttachment(value: unknown): value is Attachment<unknown> {
  if (value === null || typeof value !== "object" || !("__room" in value)) return false;
  const room = (value as { __room: unknown }).__room;
  return room !== null && typeof room === "object" && typeof (room as FrameworkState).id === "string";
}

export class ConnectionManager<App = unknown> {
  private readonly cache = new WeakMap<WebSocket, Connection<App>>();

  constructor(private readonly ctx: DurableObjectState) {}

  /** Hibernatable accept; `state.tags` become the socket's tags (at most 10). */
  accept(ws: WebSocket, state: FrameworkState): Connection<App> {
    state.tags = state.tags.slice(0, MAX_TAGS);
    this.ctx.acceptWebSocket(ws, state.tags);
    const connection = new Connection<App>(ws, { __room: state, __app: null });
    connection.persist();
    this.cache.set(ws, connection);
    return connection;
  }

  /** The connection of a socket (restored from its attachment after hibernation). */
  get(ws: WebSocket): Connection<App> | null {
    const cached = this.cache.get(ws);
    if (cached !== undefined) return cached;
    let attachment: unknown;
    try {
      attachment = ws.deserializeAttachment();
    } catch {
      return null;
    }
    // sockets accepted by an older build (or by anything but this manager) are not ours
    if (!isAttachment(attachment)) return null;
    const connection = new Connection<App>(ws, attachment as Attachment<App>);
    this.cache.set(ws, connection);
    return connection;
  }

  /** Open connections, optionally only those with `tag`. */
  all(tag?: string): Connection<App>[] {
    const out: Connection<App>[] = [];
    for (const ws of this.ctx.getWebSockets(tag)) {
      const connection = this.get(ws);
      if (connection !== null && connection.open) out.push(connection);
    }
    return out;
  }

  count(): number {
    return this.all().length;
  }
}
