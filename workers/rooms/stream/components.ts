/**
 * The components a StreamRoom is made of, wired once (stream-room.ts is only
 * their facade): state components on the room's services, and the two that
 * act on the room itself, the frame handlers and the system events, on the
 * few room actions they need.
 */
import type { Env } from "../../env.js";
import type { FrameLog } from "../storage.js";
import { StreamAnnouncer } from "./announcer.js";
import { Audience } from "./audience.js";
import { type FrameHandlerRoom, streamFrameHandlers } from "./frame-handlers.js";
import { RateLimits } from "./limits.js";
import { Likes } from "./likes.js";
import { StreamMetadata } from "./metadata.js";
import { Mutes } from "./mutes.js";
import { Polls } from "./polls.js";
import { Presence } from "./presence.js";
import type { StreamRoomServices } from "./services.js";
import { type SystemEventRoom, SystemEvents } from "./system-events.js";
import { SystemPosts } from "./system-posts.js";
import { type StreamConnection, TelemetryReports } from "./telemetry-reports.js";

/** What the frame handlers and system events ask of the room (beyond the components and services). */
export type StreamRoomActions = Omit<FrameHandlerRoom, "parts" | "services"> & Omit<SystemEventRoom, "parts" | "services">;

export interface StreamRoomParts {
  services: StreamRoomServices;
  sql: SqlStorage;
  log: FrameLog;
  env: Pick<Env, "DB" | "EVENT_ROOM">;
  streamId: () => string;
  /** the room's own sockets (telemetry restores their state after hibernation) */
  sockets: () => StreamConnection[];
  /** sockets on the room and on its fan-out shards */
  viewerCount: () => number;
  waitUntil: (work: Promise<unknown>) => void;
}

function createStateComponents(room: StreamRoomParts) {
  const { services } = room;
  const metadata = new StreamMetadata(services);
  const polls = new Polls(services, room.sql);
  const likes = new Likes(services);
  const audience = new Audience(services);
  const announcer = new StreamAnnouncer({
    streamId: room.streamId,
    env: room.env,
    services,
    log: room.log,
    metadata,
    polls,
    likes,
    audience,
    viewerCount: room.viewerCount,
    waitUntil: room.waitUntil,
  });
  return {
    metadata,
    polls,
    mutes: new Mutes(services, room.sql),
    likes,
    audience,
    telemetry: new TelemetryReports(services.clock, room.sockets),
    limits: new RateLimits(),
    announcer,
    systemPosts: new SystemPosts(services, room.sql),
    presence: new Presence(services, room.viewerCount, () => metadata.ended),
  };
}

export function createStreamComponents(room: StreamRoomParts, actions: StreamRoomActions) {
  const parts = createStateComponents(room);
  const services = room.services;
  return {
    ...parts,
    services,
    handlers: streamFrameHandlers({ parts, services, ...actions }),
    systemEvents: new SystemEvents({ parts, services, ...actions }),
  };
}
