/**
 * StreamShard: one fan-out shard of a stream's room (Durable Object named
 * `<streamId>#<index>`, stubs.ts), for audiences larger than one object's
 * sockets. docs/architecture.md, "Stream fan-out shards".
 *
 * The StreamRoom stays the single point of entry: one seq, one log, and
 * every decision (chat limits per user and address, mutes, roles, polls,
 * likes, telemetry aggregate, presence). The shard holds sockets and moves
 * frames, with the shared shard machinery (fanout-shard.ts) for the log:
 *
 * - room → sockets: every log frame is pushed to every shard (`deliver`),
 *   direct frames for some sockets (the owner's telemetry summary, group
 *   messages) go to every shard with a tag and group (`sendDirect`);
 * - sockets → room: each client frame goes to the room by RPC
 *   (`shardFrame`) with the socket's identity (its FrameworkState) and the
 *   room's per-socket state; what the room answers that socket (ack, error)
 *   comes back in the result and is sent once the shard has delivered the
 *   log frames the room wrote for it, so an ack never overtakes its chat;
 * - joins and leaves go to the room coalesced (`shardMembers`, one call in
 *   flight per shard, the changes meanwhile in the next), with the shard's
 *   count: the room's presence, audience statistics and viewer counts cover
 *   every shard.
 *
 * What stays here: the socket-level rules of room.ts (frame size, flood →
 * 1008, token expiry → 4001), and `hello` from the room's state as of the
 * shard's last frame (`shard` says which one).
 */
import { streamRoom } from "../../stubs.js";
import type { FrameworkState } from "../connections.js";
import type { PollView, PublicUser } from "../frames.js";
import type { Envelope } from "../protocol.js";
import { isBroadcaster, isOwner, publicUser } from "../stream/roles.js";
import type { StreamConnection, StreamSocketState } from "../stream/telemetry-reports.js";
import { FanoutShard } from "./fanout-shard.js";
import type { ShardMembers, ShardRoomCalls } from "./shard-protocol.js";

/** What a stream's shard needs to greet a socket as the room would (the room's `hello` fields). */
export interface StreamShardView {
  status: string | null;
  startedAt: number | null;
  eventId: string | null;
  viewerCount: number;
  poll: PollView | null;
  /** the stream's broadcaster: their sockets get the `owner` tag (telemetry summaries) */
  ownerId: string | null;
}

export class StreamShard extends FanoutShard<StreamShardView, StreamSocketState> {
  protected readonly kind = "stream" as const;
  /** a socket counts from its accept on (the room's viewer count and presence read the reports) */
  protected override readonly reportsJoining = false;
  /** one stub for every call: calls on one stub arrive in order (a socket's frames stay in order) */
  private roomStub: ReturnType<typeof streamRoom> | null = null;
  private joined: PublicUser[] = [];
  private left: ShardMembers["left"] = [];
  private membersInFlight = false;
  /** frames of each socket on their way to the room, in the order received */
  private readonly outbox = new Map<string, { connection: StreamConnection; frames: Envelope[] }>();

  private room() {
    this.roomStub ??= streamRoom(this.env, this.roomId);
    return this.roomStub;
  }

  protected roomCalls(): ShardRoomCalls<StreamShardView> {
    return this.room();
  }

  protected override connectionTags(state: FrameworkState): string[] {
    return isBroadcaster(state.who, this.state?.snapshot.ownerId ?? null) ? ["owner"] : [];
  }

  protected override helloFields(connection: StreamConnection): Record<string, unknown> {
    const view = this.state?.snapshot;
    return {
      streamId: this.roomId,
      status: view?.status ?? null,
      startedAt: view?.startedAt ?? null,
      eventId: view?.eventId ?? null,
      // the room's count as of the shard's state; never fewer than the sockets here
      viewerCount: Math.max(view?.viewerCount ?? 0, this.connections.count()),
      you: { ...publicUser(connection.who), owner: isOwner(connection.who, view?.ownerId ?? null) },
      poll: view?.poll ?? null,
    };
  }

  // ================================================================ sockets → room

  /**
   * Queued per socket and sent one at a time: the room handles a socket's
   * frames in the order the shard received them, and the handler returns at
   * once, so the runtime hands the shard the socket's next frames meanwhile.
   */
  protected override onMessage(connection: StreamConnection, frame: Envelope): void {
    const queued = this.outbox.get(connection.id);
    if (queued !== undefined) {
      queued.frames.push(frame);
      return;
    }
    const queue = { connection, frames: [frame] };
    this.outbox.set(connection.id, queue);
    void this.drain(queue);
  }

  private async drain(queue: { connection: StreamConnection; frames: Envelope[] }): Promise<void> {
    try {
      for (let frame = queue.frames.shift(); frame !== undefined; frame = queue.frames.shift()) {
        await this.forward(queue.connection, frame);
      }
    } finally {
      this.outbox.delete(queue.connection.id);
    }
  }

  private async forward(connection: StreamConnection, frame: Envelope): Promise<void> {
    let answer;
    try {
      answer = await this.room().shardFrame({ index: this.index, connection: connection.framework, app: connection.app, frame });
    } catch (error) {
      // a broken stub stays broken: the next call takes a new one
      this.roomStub = null;
      console.warn(`stream shard ${this.name}: frame '${frame.type}' not handled by the room`, error);
      this.sendError(connection, "internal_error", "the stream room did not answer; try again", frame.ref);
      return;
    }
    if (answer.app !== undefined) connection.setApp(answer.app);
    await this.delivered(answer.lastSeq);
    if (connection.open) for (const text of answer.replies) connection.send(text);
  }

  // ================================================================ presence → room

  protected override onConnect(connection: StreamConnection): void {
    this.joined.push(publicUser(connection.who));
  }

  /** After the accept's turn: the report goes out with the joins of this turn and of any upgrade meanwhile. */
  protected override upgradeDone(): void {
    this.sendMembers();
  }

  protected override onClose(connection: StreamConnection): void {
    this.left.push({ user: publicUser(connection.who), connectionId: connection.id });
    this.sendMembers();
  }

  /** One report in flight at a time; the changes that come meanwhile go in the next one. */
  private sendMembers(): void {
    if (this.membersInFlight || (this.joined.length === 0 && this.left.length === 0)) return;
    const members: ShardMembers = { ...this.report(), joined: this.joined, left: this.left };
    this.joined = [];
    this.left = [];
    this.membersInFlight = true;
    this.room()
      .shardMembers(members)
      .catch((error: unknown) => {
        // the count comes back with the next push's answer; these joins and leaves are not announced
        this.roomStub = null;
        console.warn(`stream shard ${this.name}: joins and leaves not reported to the room`, error);
      })
      .finally(() => {
        this.membersInFlight = false;
        this.sendMembers();
      });
  }
}
