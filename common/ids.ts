/**
 * Id patterns shared by the Worker, the origin and the tests: one definition
 * each. Stream ids are also HLS path components, so their pattern lives with
 * the HLS names (common/hls-paths.ts) and is re-exported here.
 */
import { z } from "zod";

export { STREAM_ID_PATTERN, isValidStreamId } from "./hls-paths.js";

/** Origins, events, users, message refs: 1-64 characters of [A-Za-z0-9_.:-]. */
export const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
export const ID_RULE = "1-64 characters of [A-Za-z0-9_.:-]";
export const POLL_ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;
export const STREAM_KEY_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
export const COUNTRY_PATTERN = /^[A-Z]{2}$/;

export function isValidId(id: string): boolean {
  return ID_PATTERN.test(id);
}

/** zod: an id of this kind (`name` only shapes the message). */
export function idSchema(name: string) {
  return z.string().regex(ID_PATTERN, `${name} must be ${ID_RULE}`);
}

export const countrySchema = z.string().regex(COUNTRY_PATTERN, "country must be an ISO 3166-1 alpha-2 code");
