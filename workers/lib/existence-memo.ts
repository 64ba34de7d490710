/**
 * Per-isolate memo of "does this id exist?" (streams for the edge tier and
 * the sockets, events for the event sockets), so cache hits and socket
 * upgrades do not query D1 each time. Positive answers are kept longer than
 * negative ones (a stream created a moment ago becomes playable quickly).
 *
 * Requests of one isolate share a lookup, and the runtime judges each
 * request on its own, which shapes this code:
 * - an expired answer is still given at once while one lookup refreshes it
 *   in the background: no request waits on another's lookup then;
 * - with no answer at all, concurrent requests share one lookup (a burst of
 *   requests for one id makes one query), but each waits with a timer of its
 *   own pending (a request with nothing pending in its own context is
 *   cancelled as hung, a 500) and, after SHARED_WAIT_MS, does its own
 *   lookup: the request that started the shared one may have been cancelled
 *   (its client left), and then its query never settles;
 * - a lookup still pending after STUCK_MS is forgotten, for the same reason.
 */
const KNOWN_TTL_MS = 10_000;
const UNKNOWN_TTL_MS = 2_000;
const MAX_ENTRIES = 10_000;
const SHARED_WAIT_MS = 2_000;
const STUCK_MS = 5_000;

interface Lookup {
  promise: Promise<boolean>;
  startedAt: number;
}

export class ExistenceMemo<Db> {
  private readonly memo = new Map<string, { exists: boolean; expiresAt: number }>();
  private readonly pending = new Map<string, Lookup>();

  constructor(private readonly lookup: (db: Db, id: string) => Promise<boolean>) {}

  async exists(db: Db, id: string): Promise<boolean> {
    const now = Date.now();
    const known = this.memo.get(id);
    if (known !== undefined && now < known.expiresAt) return known.exists;
    if (known !== undefined) {
      // stale: answered now, refreshed once (a failed refresh keeps the old answer until the next)
      this.shared(db, id, now).promise.catch((error: unknown) => console.error(`existence lookup of ${id} failed`, error));
      return known.exists;
    }
    // nothing known: share the lookup under way, but not past SHARED_WAIT_MS (the pending timer is also this request's own event)
    const shared = this.shared(db, id, now);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), SHARED_WAIT_MS);
    });
    try {
      const settled = await Promise.race([shared.promise, late]);
      return settled ?? (await this.start(db, id, Date.now()).promise);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  /** The lookup under way for `id`, or a new one (also when the one under way looks stuck). */
  private shared(db: Db, id: string, now: number): Lookup {
    const current = this.pending.get(id);
    if (current !== undefined && now - current.startedAt < STUCK_MS) return current;
    return this.start(db, id, now);
  }

  private start(db: Db, id: string, now: number): Lookup {
    const entry: Lookup = { promise: Promise.resolve(false), startedAt: now };
    entry.promise = (async () => {
      const exists = await this.lookup(db, id);
      if (this.memo.size >= MAX_ENTRIES) this.memo.clear();
      this.memo.set(id, { exists, expiresAt: Date.now() + (exists ? KNOWN_TTL_MS : UNKNOWN_TTL_MS) });
      return exists;
    })().finally(() => {
      if (this.pending.get(id) === entry) this.pending.delete(id);
    });
    this.pending.set(id, entry);
    return entry;
  }

  forget(id: string): void {
    this.memo.delete(id);
  }
}
