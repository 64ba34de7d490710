/** D1 queries about users (API keys are stored only as SHA-256 digests). */
import { and, count, eq, gte } from "drizzle-orm";
import type { User, UserRole } from "../../schema/index.js";
import { getDb, schema } from "./db.js";
import { hashSecret, newApiKey } from "./random.js";

export async function findUserByApiKey(db: D1Database, apiKey: string): Promise<User | undefined> {
  const [user] = await getDb(db)
    .select()
    .from(schema.users)
    .where(eq(schema.users.apiKeyHash, await hashSecret(apiKey)))
    .limit(1);
  return user;
}

export async function findUser(db: D1Database, userId: string): Promise<User | undefined> {
  const [user] = await getDb(db).select().from(schema.users).where(eq(schema.users.id, userId)).limit(1);
  return user;
}

/** A new user with a new (or the given) API key; the key is returned once and stored only as its digest. */
export async function createUser(
  db: D1Database,
  name: string,
  role: UserRole,
  apiKey = newApiKey(),
): Promise<{ userId: string; apiKey: string }> {
  const userId = crypto.randomUUID();
  await getDb(db)
    .insert(schema.users)
    .values({ id: userId, name, role, apiKeyHash: await hashSecret(apiKey), createdAt: Date.now() });
  return { userId, apiKey };
}

/**
 * Dev seeding, idempotent: the user of `apiKey`, created on the first call
 * (`created`). The key's digest is unique, so calls that race create one user.
 */
export async function seedUser(
  db: D1Database,
  name: string,
  role: UserRole,
  apiKey: string,
): Promise<{ userId: string; role: UserRole; created: boolean }> {
  const apiKeyHash = await hashSecret(apiKey);
  const [inserted] = await getDb(db)
    .insert(schema.users)
    .values({ id: crypto.randomUUID(), name, role, apiKeyHash, createdAt: Date.now() })
    .onConflictDoNothing({ target: schema.users.apiKeyHash })
    .returning({ id: schema.users.id });
  if (inserted !== undefined) return { userId: inserted.id, role, created: true };
  const existing = await findUserByApiKey(db, apiKey);
  if (existing === undefined) throw new Error("seedUser: the API key's user vanished");
  return { userId: existing.id, role: existing.role, created: false };
}

/** Compare-and-set on the current digest: null when another request rotated the key first. */
export async function rotateApiKey(db: D1Database, user: Pick<User, "id" | "apiKeyHash">): Promise<string | null> {
  const apiKey = newApiKey();
  const updated = await getDb(db)
    .update(schema.users)
    .set({ apiKeyHash: await hashSecret(apiKey) })
    .where(and(eq(schema.users.id, user.id), eq(schema.users.apiKeyHash, user.apiKeyHash)))
    .returning({ id: schema.users.id });
  return updated.length === 0 ? null : apiKey;
}

/** Anonymous accounts minted from this client fingerprint since `since`. */
export async function anonymousSessionsSince(db: D1Database, ipFingerprint: string, since: number): Promise<number> {
  const [recent] = await getDb(db)
    .select({ n: count() })
    .from(schema.anonymousViewers)
    .where(and(eq(schema.anonymousViewers.ipFingerprint, ipFingerprint), gte(schema.anonymousViewers.createdAt, since)));
  return recent?.n ?? 0;
}

/** The address fingerprint an anonymous account was minted from (undefined: no such account). */
export async function anonymousFingerprint(db: D1Database, userId: string): Promise<string | undefined> {
  const [row] = await getDb(db)
    .select({ fingerprint: schema.anonymousViewers.ipFingerprint })
    .from(schema.anonymousViewers)
    .where(eq(schema.anonymousViewers.id, userId))
    .limit(1);
  return row?.fingerprint;
}

/** A new anonymous viewer account: only a keyed fingerprint of the client's address is kept. */
export async function insertAnonymousViewer(db: D1Database, id: string, ipFingerprint: string, now: number): Promise<void> {
  await getDb(db).insert(schema.anonymousViewers).values({ id, ipFingerprint, createdAt: now });
}
