/**
 * Socket tokens. Viewers get an anonymous session the first time a page
 * needs one (POST /api/session/anonymous), kept in localStorage until a
 * minute before it expires, so a reload keeps the same identity (own
 * messages, the vote). Broadcasters exchange their API key (POST
 * /api/session); the key itself lives only in sessionStorage (studio).
 */
import { api } from "./api.js";

export interface Session {
  token: string;
  userId: string;
  role: string;
  expiresAt: number;
}

const ANON_KEY = "edge.anonSession";
const EARLY_MS = 60_000;

function usable(session: Session | null): session is Session {
  return session !== null && typeof session.expiresAt === "number" && session.expiresAt - EARLY_MS > Date.now();
}

function read(storage: Storage, key: string): Session | null {
  try {
    const raw = storage.getItem(key);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

let pendingAnon: Promise<Session> | null = null;

/** The viewer's anonymous session; `fresh` mints a new one (the old token was refused). */
export function anonymousSession(fresh = false): Promise<Session> {
  const kept = fresh ? null : read(localStorage, ANON_KEY);
  if (usable(kept)) return Promise.resolve(kept);
  pendingAnon ??= api<Session>("/api/session/anonymous", { method: "POST" })
    .then((session) => {
      try {
        localStorage.setItem(ANON_KEY, JSON.stringify(session));
      } catch {
        // storage full or disabled: the session still works for this page
      }
      return session;
    })
    .finally(() => {
      pendingAnon = null;
    });
  return pendingAnon;
}

/** A session for a user's API key (broadcaster, admin). */
export function keySession(apiKey: string): Promise<Session> {
  return api<Session>("/api/session", { method: "POST", apiKey });
}
