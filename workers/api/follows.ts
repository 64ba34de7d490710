/**
 * Follows and the caller's own account:
 *
 *   POST   /api/broadcasters/:userId/follow   (Bearer API key or session token) 201 new / 200 already
 *   DELETE /api/broadcasters/:userId/follow   → 200 { following: false }
 *   GET    /api/me/notifications[?limit=≤100] (Bearer API key or session token)
 *   POST   /api/me/api-key/rotate             (Bearer API key) → { userId, apiKey } (the old key stops working)
 *
 * A new follower produces a `new_follower` system event in the broadcaster's
 * live room(s); going live writes one `notifications` row per follower
 * (workers/control/lifecycle.ts).
 */
import { Hono } from "hono";
import { USER_ROLES } from "../../schema/index.js";
import type { AppEnv } from "../env.js";
import { addFollow, recentNotifications, removeFollow } from "../lib/follows.js";
import { HttpError } from "../lib/errors.js";
import { userIdParam } from "../lib/params.js";
import { findUser, rotateApiKey } from "../lib/users.js";
import { LIMIT_MESSAGE, LimitQuery, validQuery } from "../lib/validation.js";
import { onAirStreamsOf } from "../streams/repository.js";
import { streamRoom } from "../stubs.js";
import { requireApiKey } from "./auth.js";
import { requireIdentity } from "./identity.js";

export const broadcastersApi = new Hono<AppEnv>();

async function broadcaster(db: D1Database, userId: string | undefined) {
  const user = await findUser(db, userIdParam(userId));
  if (user === undefined || !["broadcaster", "vip", "admin"].includes(user.role))
    throw new HttpError(404, "unknown_broadcaster", "no such broadcaster");
  return user;
}

broadcastersApi.post("/:userId/follow", async (c) => {
  const me = await requireIdentity(c);
  const target = await broadcaster(c.env.DB, c.req.param("userId"));
  if (target.id === me.userId) throw new HttpError(400, "self_follow", "you cannot follow yourself");
  const isNew = await addFollow(c.env.DB, me.userId, target.id, Date.now());
  if (isNew) {
    const onAir = await onAirStreamsOf(c.env.DB, target.id);
    const posted = await Promise.allSettled(
      onAir.map((id) =>
        streamRoom(c.env, id).postSystem("new_follower", { followerId: me.userId, anon: me.anon, broadcasterId: target.id }),
      ),
    );
    // the follow is stored either way; a room that did not answer only misses the announcement
    for (const result of posted)
      if (result.status === "rejected") console.warn(`follow ${target.id}: new_follower not posted`, result.reason);
  }
  return c.json({ following: true, broadcasterId: target.id }, isNew ? 201 : 200, { "Cache-Control": "no-store" });
});

broadcastersApi.delete("/:userId/follow", async (c) => {
  const me = await requireIdentity(c);
  const target = await broadcaster(c.env.DB, c.req.param("userId"));
  await removeFollow(c.env.DB, me.userId, target.id);
  return c.json({ following: false, broadcasterId: target.id }, 200, { "Cache-Control": "no-store" });
});

export const meApi = new Hono<AppEnv>();

meApi.get("/notifications", validQuery(LimitQuery, LIMIT_MESSAGE), async (c) => {
  const me = await requireIdentity(c);
  const { limit } = c.req.valid("query");
  return c.json({ notifications: await recentNotifications(c.env.DB, me.userId, limit) }, 200, { "Cache-Control": "no-store" });
});

meApi.post("/api-key/rotate", requireApiKey(USER_ROLES), async (c) => {
  const user = c.get("user");
  const apiKey = await rotateApiKey(c.env.DB, user);
  if (apiKey === null) throw new HttpError(409, "rotated_concurrently", "the key was rotated by another request");
  return c.json({ userId: user.id, apiKey }, 200, { "Cache-Control": "no-store" });
});
