/**
 * Who a stream room's sockets are: the stream's owner (its broadcaster, or an
 * admin) may run the owner-only frames and gets the `owner` tag (the
 * telemetry summaries go to that tag); everyone is shown to others as a
 * PublicUser, never with their address or token details.
 */
import type { ConnectionInfo } from "../connections.js";
import type { PublicUser } from "../frames.js";

/** What others see of a socket's user. */
export function publicUser(who: ConnectionInfo): PublicUser {
  return { id: who.userId, role: who.role, anon: who.anon };
}

/** The stream's own broadcaster (`ownerId` from its row; null while unknown). */
export function isBroadcaster(who: ConnectionInfo, ownerId: string | null): boolean {
  return who.role === "broadcaster" && ownerId !== null && who.userId === ownerId;
}

/** May run owner-only frames: the stream's broadcaster, or an admin. */
export function isOwner(who: ConnectionInfo, ownerId: string | null): boolean {
  return who.role === "admin" || isBroadcaster(who, ownerId);
}
