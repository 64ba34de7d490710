/** Latest-thumbnail pointer (streams.thumbnail_url) and the `thumbnail` system event. */
import { eq } from "drizzle-orm";
import type { Stream } from "../../schema/index.js";
import type { Env } from "../env.js";
import { getDb, schema } from "../lib/db.js";
import { streamRoom } from "../stubs.js";

export async function publishThumbnail(env: Env, stream: Stream, path: string, index: number, base: string): Promise<void> {
  const now = Date.now();
  await getDb(env.DB)
    .update(schema.streams)
    .set({ thumbnailUrl: path, ...(stream.status === "ended" ? {} : { lastActivityAt: now }) })
    .where(eq(schema.streams.id, stream.id));
  if (stream.status === "ended") return;
  try {
    await streamRoom(env, stream.id).postSystem("thumbnail", { url: `${base}${path}`, path, index });
  } catch (error) {
    console.warn(`stream ${stream.id}: thumbnail event not posted`, error);
  }
}
