/**
 * System events posted to a stream room by the origin or the API
 * (`postSystem`): a group post goes to that group only as a direct frame;
 * a `group_action` without a group goes to every socket, also as a direct
 * frame (an action for the players connected now - cap a rendition, a
 * notice - not history: a socket reconnecting later must not replay it);
 * stream_started / stream_ended go through the announcer (once each);
 * muted / unmuted, like and the rest become log frames. With a request id
 * (signed posts) a post is applied once: the same id again answers what the
 * first one did (system-posts.ts).
 */
import type { StreamStatus } from "../../../schema/index.js";
import type { GroupFilter } from "../frames.js";
import type { PostableSystemEvent } from "../protocol.js";
import { ok, type RoomResult } from "../result.js";
import type { StreamAnnouncer } from "./announcer.js";
import { type Likes, likeCountOf } from "./likes.js";
import type { Mutes } from "./mutes.js";
import type { StreamRoomServices } from "./services.js";
import type { PostResult, SystemPosts } from "./system-posts.js";

/** The room as system events see it. */
export interface SystemEventRoom {
  parts: { announcer: StreamAnnouncer; mutes: Mutes; likes: Likes; systemPosts: SystemPosts };
  services: Pick<StreamRoomServices, "clock" | "record">;
  /** a group message to the sockets in `group` (every socket: `{}`), on the room and its shards; how many got it */
  sendToGroup(group: GroupFilter, event: PostableSystemEvent, data: Record<string, unknown>): Promise<number>;
  applyStatus(status: StreamStatus, at: number): Promise<RoomResult<{ seq?: number }>>;
  muteAddressOf(userId: unknown): Promise<string | null>;
}

export class SystemEvents {
  constructor(private readonly room: SystemEventRoom) {}

  async post(
    event: PostableSystemEvent,
    data: Record<string, unknown>,
    group: GroupFilter | undefined,
    requestId: string | undefined,
  ): Promise<RoomResult<PostResult>> {
    if (requestId === undefined) return this.apply(event, data, group);
    const { systemPosts } = this.room.parts;
    const earlier = systemPosts.claim(requestId);
    if (earlier !== null) return ok(earlier);
    let result: RoomResult<PostResult>;
    try {
      result = await this.apply(event, data, group);
    } catch (error) {
      systemPosts.failed(requestId);
      throw error;
    }
    if (result.ok) systemPosts.applied(requestId, result.value);
    else systemPosts.failed(requestId);
    return result;
  }

  private async apply(event: PostableSystemEvent, data: Record<string, unknown>, group?: GroupFilter): Promise<RoomResult<PostResult>> {
    const { room } = this;
    await room.parts.announcer.load();
    if (group !== undefined && Object.keys(group).length > 0) return ok({ recipients: await room.sendToGroup(group, event, data) });
    if (event === "group_action") return ok({ recipients: await room.sendToGroup({}, event, data) });
    const now = room.services.clock.now();
    switch (event) {
      case "stream_started":
        return room.applyStatus("live", typeof data.startedAt === "number" ? data.startedAt : now);
      case "stream_ended":
        return room.applyStatus("ended", typeof data.endedAt === "number" ? data.endedAt : now);
      case "muted":
      case "unmuted":
        return room.parts.mutes.fromPost(event, data, event === "muted" ? await room.muteAddressOf(data.userId) : null);
      case "like":
        await room.parts.likes.add(likeCountOf(data));
        return ok({});
      default:
        return ok({ seq: room.services.record({ type: "system", event, data }).seq });
    }
  }
}
