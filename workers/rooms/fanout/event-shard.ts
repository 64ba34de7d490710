/**
 * EventShard: one fan-out shard of an event (Durable Object named
 * `<eventId>#<index>`, stubs.ts). It holds sockets of `/ws/events/<eventId>`
 * and nothing else: the EventRoom stays the single point of entry (one
 * poller, one seq, one log) and pushes every log frame to every shard it
 * knows. Everything but the event's own frames is the shared shard
 * machinery (fanout-shard.ts); docs/architecture.md, "Event fan-out shards".
 *
 * What is the event's: the state a shard keeps is the room's
 * `event_snapshot`, sent after `hello` to a joining socket and on a
 * `snapshot` frame (asked again of the room when older than the shard's
 * state TTL); the room is told when the shard's last socket leaves (it
 * stops polling once no socket anywhere needs it).
 */
import { eventRoom } from "../../stubs.js";
import type { Connection } from "../connections.js";
import type { EventSnapshotFrame } from "../frames.js";
import type { Envelope } from "../protocol.js";
import { FanoutShard } from "./fanout-shard.js";
import type { ShardRoomCalls } from "./shard-protocol.js";

export class EventShard extends FanoutShard<EventSnapshotFrame> {
  protected readonly kind = "event" as const;

  protected roomCalls(): ShardRoomCalls<EventSnapshotFrame> {
    return eventRoom(this.env, this.roomId);
  }

  protected override helloFields(): Record<string, unknown> {
    return { eventId: this.roomId };
  }

  /** Right after hello: the snapshot, as the room sends it. */
  protected override onConnect(connection: Connection): void {
    this.sendSnapshot(connection);
  }

  private sendSnapshot(connection: Connection): void {
    const snapshot = this.state?.snapshot ?? { type: "event_snapshot" as const, eventId: this.roomId, event: null };
    this.send(connection, snapshot);
  }

  protected override async onMessage(connection: Connection, frame: Envelope): Promise<void> {
    if (frame.type === "snapshot") {
      await this.freshState();
      this.sendSnapshot(connection);
      return;
    }
    this.sendError(connection, "unknown_type", `event rooms take no '${frame.type.slice(0, 32)}' frames (only snapshot)`, frame.ref);
  }

  protected override onClose(): void {
    // the room counts sockets for its polling and the Worker's placement: tell it when the last one leaves
    if (this.connections.count() > 0) return;
    this.reportToRoom();
  }
}
