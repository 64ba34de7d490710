/**
 * One way to word zod validation issues, wherever input is validated: HTTP
 * bodies and queries, socket frames, provider answers.
 */
import type { z } from "zod";

/** "path: message; path: message" for the first `max` issues (`what` names the root). */
export function formatIssues(error: z.ZodError, what: string, max = 5): string {
  return error.issues
    .slice(0, max)
    .map((issue) => `${issue.path.length ? issue.path.join(".") : what}: ${issue.message}`)
    .join("; ");
}
