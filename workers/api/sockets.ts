/**
 * WebSocket entry points (mounted at /ws):
 *
 *   GET /ws/streams/<streamId>?token=<session token>[&since=<seq>]  → StreamRoom
 *   GET /ws/events/<eventId>?token=<session token>[&since=<seq>]    → EventRoom
 *
 * The Worker checks the upgrade, the token (401 JSON before any upgrade:
 * `unauthorized` or `token_expired`), `since` (400) and that the stream or
 * event exists (404), then hands the upgrade to the room with a description
 * of the connection (user, role, token expiry, country, device, a keyed
 * fingerprint of the address) - never the token itself, which is not logged
 * anywhere, nor the IP. An event socket goes to one of
 * the event's fan-out shards (rooms/fanout/placement.ts picks one with room
 * left, EVENT_SHARD_SOCKETS each), or to the EventRoom itself when that is 0;
 * a stream socket likewise to a stream shard (STREAM_SHARD_SOCKETS each) or,
 * with the default 0, to the StreamRoom itself.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { parseConfig } from "../config.js";
import type { AppEnv } from "../env.js";
import { clientCountry, clientIp, deviceType, ipFingerprint } from "../lib/client-info.js";
import { HttpError } from "../lib/errors.js";
import { eventIdParam, streamIdParam } from "../lib/params.js";
import { verifySessionToken } from "../lib/session-token.js";
import { eventExists, streamExists } from "../lib/stream-directory.js";
import { upgradeOnShard } from "../rooms/fanout/placement.js";
import { CONNECT_HEADER, type ConnectRequest } from "../rooms/room.js";
import { eventRoom, streamRoom } from "../stubs.js";

const TOKEN_MESSAGES = {
  missing: "a session token is required: ?token=<token> (POST /api/session/anonymous)",
  malformed: "the session token is malformed",
  bad_signature: "the session token is not valid",
  expired: "the session token has expired",
} as const;

async function upgrade(c: Context<AppEnv>, kind: "stream" | "event"): Promise<Response> {
  const id = kind === "stream" ? streamIdParam(c.req.param("id")) : eventIdParam(c.req.param("id"));
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
    throw new HttpError(426, "upgrade_required", "this URL takes a WebSocket upgrade", { Upgrade: "websocket" });
  }
  const url = new URL(c.req.url);
  const tokenSecret = parseConfig(c.env).tokenSecret;
  const verified = await verifySessionToken(tokenSecret ?? undefined, url.searchParams.get("token"));
  if (!verified.ok) {
    throw new HttpError(401, verified.reason === "expired" ? "token_expired" : "unauthorized", TOKEN_MESSAGES[verified.reason], {
      "WWW-Authenticate": 'Bearer realm="sockets"',
    });
  }
  const sinceParam = url.searchParams.get("since");
  let since: number | null = null;
  if (sinceParam !== null) {
    if (!/^\d{1,15}$/.test(sinceParam)) throw new HttpError(400, "bad_since", "since must be a non-negative integer (a seq)");
    since = Number(sinceParam);
  }
  const exists = kind === "stream" ? await streamExists(c.env.DB, id) : await eventExists(c.env.DB, id);
  if (!exists) throw new HttpError(404, kind === "stream" ? "unknown_stream" : "unknown_event", `no such ${kind}`);

  const { claims } = verified;
  // the address as the rooms know it: the same keyed fingerprint as D1's anonymous accounts
  const ip = clientIp(c.req.raw);
  const address = ip === "unknown" || tokenSecret === null ? null : await ipFingerprint(tokenSecret, ip);
  const connect: ConnectRequest = {
    since,
    info: {
      userId: claims.sub,
      role: claims.role,
      anon: claims.anon,
      exp: claims.exp * 1000,
      country: clientCountry(c.req.raw),
      device: deviceType(c.req.header("User-Agent")),
      address,
    },
  };
  const config = parseConfig(c.env);
  const shardSockets = kind === "event" ? config.events.shardSockets : config.streams.shardSockets;
  if (shardSockets > 0) return upgradeOnShard(c.env, kind, id, connect, shardSockets, (p) => c.executionCtx.waitUntil(p));
  const stub = kind === "stream" ? streamRoom(c.env, id) : eventRoom(c.env, id);
  return stub.fetch(`https://rooms.internal/${kind}/${id}`, {
    headers: { Upgrade: "websocket", [CONNECT_HEADER]: JSON.stringify(connect) },
  });
}

export const socketsApi = new Hono<AppEnv>();
socketsApi.get("/streams/:id", (c) => upgrade(c, "stream"));
socketsApi.get("/events/:id", (c) => upgrade(c, "event"));
