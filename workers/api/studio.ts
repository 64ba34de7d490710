/**
 * The broadcaster's studio API (mounted at /api/studio), for what the studio
 * page needs beyond /api/streams: every route takes the Bearer API key of the
 * stream's owner (or an admin), never an origin signature.
 *
 *   POST /api/studio/streams/:id/end        end the stream now → { streamId, status: "ended" }; 409 if it had ended
 *   GET  /api/studio/streams/:id/telemetry  the room's QoE aggregate per group (as the HMAC route answers it)
 *   POST /api/studio/streams/:id/actions    a group action to the viewers matching `group` (all viewers without it):
 *        { action: "cap_rendition", maxHeight } | { action: "uncap_rendition" } | { action: "notice", text }, group?: { country?, device?, role? }
 *        → { ok, recipients? } (the room delivers it as a `system` frame, event `group_action`)
 */
import { Hono, type Context } from "hono";
import { z } from "zod";
import { countrySchema } from "../../common/ids.js";
import type { Stream } from "../../schema/index.js";
import type { AppEnv } from "../env.js";
import { parseJsonBody } from "../lib/body.js";
import { DEVICE_TYPES } from "../lib/client-info.js";
import { HttpError } from "../lib/errors.js";
import { streamIdParam } from "../lib/params.js";
import { TOKEN_ROLES } from "../lib/session-token.js";
import { unwrap } from "../rooms/result.js";
import { endStream } from "../streams/lifecycle.js";
import { requireStream } from "../streams/repository.js";
import { streamRoom } from "../stubs.js";
import { readBody, requireApiKey } from "./auth.js";

const ActionBody = z
  .object({
    action: z.enum(["cap_rendition", "uncap_rendition", "notice"]),
    maxHeight: z.number().int().min(1).max(4320).optional(),
    text: z.string().min(1).max(280).optional(),
    group: z
      .object({ country: countrySchema.optional(), device: z.enum(DEVICE_TYPES).optional(), role: z.enum(TOKEN_ROLES).optional() })
      .strict()
      .optional(),
  })
  .strict()
  .refine((b) => b.action !== "cap_rendition" || b.maxHeight !== undefined, "cap_rendition needs maxHeight")
  .refine((b) => b.action !== "notice" || b.text !== undefined, "notice needs text");

const NO_STORE = { "Cache-Control": "no-store" };

async function ownedStream(c: Context<AppEnv>, action: string): Promise<Stream> {
  const stream = await requireStream(c.env.DB, streamIdParam(c.req.param("id")));
  const user = c.get("user");
  if (user.role !== "admin" && stream.ownerId !== user.id)
    throw new HttpError(403, "forbidden", `only the stream's broadcaster may ${action}`);
  return stream;
}

export const studioApi = new Hono<AppEnv>();

studioApi.use("*", requireApiKey(["broadcaster", "vip", "admin"]));

studioApi.post("/streams/:id/end", async (c) => {
  const stream = await ownedStream(c, "end it");
  if (stream.status === "ended" || !(await endStream(c.env, stream.id, "broadcaster"))) {
    throw new HttpError(409, "stream_ended", "this stream has already ended");
  }
  return c.json({ streamId: stream.id, status: "ended" }, 200, NO_STORE);
});

studioApi.get("/streams/:id/telemetry", async (c) => {
  const stream = await ownedStream(c, "read its telemetry");
  return c.json(await streamRoom(c.env, stream.id).telemetrySummary(), 200, NO_STORE);
});

studioApi.post("/streams/:id/actions", readBody, async (c) => {
  const body = parseJsonBody(c.get("rawBody"), ActionBody);
  const stream = await ownedStream(c, "send actions to its viewers");
  if (stream.status === "ended") throw new HttpError(409, "stream_ended", "this stream has ended");
  const { group, action, maxHeight, text } = body;
  const data = { action, ...(maxHeight !== undefined ? { maxHeight } : {}), ...(text !== undefined ? { text } : {}) };
  const result = unwrap(await streamRoom(c.env, stream.id).postSystem("group_action", data, group));
  return c.json({ ok: true, ...result }, 200, NO_STORE);
});
