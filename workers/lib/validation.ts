/**
 * Query validation of every route: @hono/zod-validator with a 400
 * `bad_query` worded like every other validation error (zod-issues.ts).
 */
import { zValidator } from "@hono/zod-validator";
import { z } from "zod";
import { checkDisplayText } from "./display-text.js";
import { HttpError } from "./errors.js";
import { formatIssues } from "./zod-issues.js";

/** Validates `c.req.query()`; 400 bad_query with the issues (or `message`) otherwise. */
export function validQuery<S extends z.ZodTypeAny>(schema: S, message?: string) {
  return zValidator("query", schema, (result) => {
    if (!result.success) throw new HttpError(400, "bad_query", message ?? formatIssues(result.error as z.ZodError, "query"));
  });
}

/** `?limit=1..100` (default 50) of the admin and notification lists. */
export const LimitQuery = z.object({ limit: z.coerce.number().int().min(1).max(100).default(50) });
export const LIMIT_MESSAGE = "limit must be 1-100";

/** A body field of text for people (display-text.ts): refused with its reason, else NFC and trimmed. */
export function displayText({ min = 0, max }: { min?: number; max: number }) {
  return z.string().transform((value, ctx) => {
    const checked = checkDisplayText(value, { min, max });
    if (checked.ok) return checked.text;
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: checked.message });
    return z.NEVER;
  });
}
