/**
 * The only way to get a Durable Object stub. Every object is addressed by
 * name (`idFromName`), so inside the object `ctx.id.name` is its identity
 * (the StreamID or EventID) and no RPC needs to carry it.
 */
import type { Env } from "./env.js";

export function streamRoom(env: Pick<Env, "STREAM_ROOM">, streamId: string) {
  return env.STREAM_ROOM.get(env.STREAM_ROOM.idFromName(streamId));
}

export function eventRoom(env: Pick<Env, "EVENT_ROOM">, eventId: string) {
  return env.EVENT_ROOM.get(env.EVENT_ROOM.idFromName(eventId));
}

/** Fan-out shard `index` of an event (`<eventId>#<index>`, workers/rooms/fanout/). */
export function eventShard(env: Pick<Env, "EVENT_SHARD">, eventId: string, index: number) {
  return env.EVENT_SHARD.get(env.EVENT_SHARD.idFromName(shardName(eventId, index)));
}

/** Fan-out shard `index` of a stream (`<streamId>#<index>`, workers/rooms/fanout/stream-shard.ts). */
export function streamShard(env: Pick<Env, "STREAM_SHARD">, streamId: string, index: number) {
  return env.STREAM_SHARD.get(env.STREAM_SHARD.idFromName(shardName(streamId, index)));
}

/** `<roomId>#<index>`: event and stream ids never contain `#` (common/ids.ts). */
function shardName(roomId: string, index: number): string {
  return `${roomId}#${index}`;
}

export function hlsMother(env: Pick<Env, "HLS_MOTHER">, streamId: string) {
  return env.HLS_MOTHER.get(env.HLS_MOTHER.idFromName(streamId));
}

/** The stream's relay in `region` (`<streamId>@<region>`), placed near it in production. */
export function hlsRelay(env: Pick<Env, "HLS_RELAY">, streamId: string, region: string, locationHint?: DurableObjectLocationHint) {
  const id = env.HLS_RELAY.idFromName(`${streamId}@${region}`);
  return locationHint ? env.HLS_RELAY.get(id, { locationHint }) : env.HLS_RELAY.get(id);
}
