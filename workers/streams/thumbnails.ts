/** Latest-thumbnail pointer (streams.thumbnail_url) and the `thumbnail` system event. */
import type { Stream } from "../../schema/index.js";
import type { Env } from "../env.js";
import { streamRoom } from "../stubs.js";
import { setThumbnail } from "./repository.js";

export async function publishThumbnail(env: Env, stream: Stream, path: string, index: number, base: string): Promise<void> {
  await setThumbnail(env.DB, stream, path, Date.now());
  if (stream.status === "ended") return;
  try {
    await streamRoom(env, stream.id).postSystem("thumbnail", { url: `${base}${path}`, path, index });
  } catch (error) {
    console.warn(`stream ${stream.id}: thumbnail event not posted`, error);
  }
}
