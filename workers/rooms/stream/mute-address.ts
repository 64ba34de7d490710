/**
 * The address fingerprint a mute also covers (mutes.ts): anonymous sessions
 * from that address stay muted under a new anonymous identity.
 */
import { anonymousFingerprint } from "../../lib/users.js";
import type { ConnectionInfo } from "../connections.js";

export interface MuteAddressSources {
  /** the user's open sockets in this room */
  socketsOf(userId: string): { who: ConnectionInfo }[];
  /** the address of one of the user's sockets on the room's fan-out shards, if any */
  onShards(userId: string): Promise<string | null>;
  db: D1Database;
  /** for the log line when D1 fails */
  roomName: () => string;
}

/**
 * From one of the user's open sockets (the room's, else its shards'), else
 * the one their anonymous account was minted from (D1); null when none is
 * known or `userId` is not a string.
 */
export async function muteAddressOf(sources: MuteAddressSources, userId: unknown): Promise<string | null> {
  if (typeof userId !== "string") return null;
  for (const connection of sources.socketsOf(userId)) if (connection.who.address) return connection.who.address;
  try {
    const onShards = await sources.onShards(userId);
    if (onShards !== null) return onShards;
  } catch (error) {
    console.warn(`stream room ${sources.roomName()}: the shards were not asked for the muted user's address`, error);
  }
  try {
    return (await anonymousFingerprint(sources.db, userId)) ?? null;
  } catch (error) {
    console.error(`stream room ${sources.roomName()}: the muted user's address could not be looked up`, error);
    return null;
  }
}
