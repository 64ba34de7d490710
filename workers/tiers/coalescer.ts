/**
 * At most one upstream call per key: every concurrent request for the same
 * object waits on the call already under way. Waiters that can tell when
 * their client left (a `signal`) are counted; when the last one leaves, the
 * upstream call is cancelled, so a held LL-HLS request nobody waits for any
 * more stops costing the tiers above. Used by the edge (per isolate) and
 * the regional relay (per Durable Object).
 *
 * A waiter that did not start the call keeps a timer of its own pending
 * while it waits (KEEPALIVE_MS). The runtime judges each request on its own:
 * one that has not answered and has nothing pending in its own context (no
 * fetch, no timer) is cancelled as hung ("your Worker's code had hung and
 * would never generate a response", a 500), even though the call it waits
 * on, which belongs to another request, is about to settle. Measured: 10,953
 * such 500s among 100 LL-HLS viewers in one bench run before this timer.
 */

/** How often a waiter's own timer fires while it waits on another request's call. */
const KEEPALIVE_MS = 1_000;

interface Flight<T> {
  promise: Promise<T>;
  waiters: number;
  /** A waiter that cannot say when it leaves keeps the call alive. */
  pinned: boolean;
  controller: AbortController;
}

export type Joined<T> = { kind: "value"; value: T; leader: boolean } | { kind: "gone" } | { kind: "failed"; error: unknown };

export class Coalescer<T> {
  private readonly flights = new Map<string, Flight<T>>();

  /** Calls under way (for stats and tests). */
  get inflight(): number {
    return this.flights.size;
  }

  /**
   * Joins the call for `key`, starting it with `start` when there is none.
   * `leader` is true for the request that started it (it stores the answer).
   */
  async join(key: string, start: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<Joined<T>> {
    let flight = this.flights.get(key);
    const leader = flight === undefined;
    if (flight === undefined) {
      const controller = new AbortController();
      const started: Flight<T> = { promise: Promise.resolve() as Promise<T>, waiters: 0, pinned: false, controller };
      started.promise = start(controller.signal).finally(() => {
        if (this.flights.get(key) === started) this.flights.delete(key);
      });
      flight = started;
      this.flights.set(key, flight);
    }
    const current = flight;
    if (signal === undefined) current.pinned = true;
    else current.waiters++;

    let left = false;
    let onAbort: (() => void) | undefined;
    const gone = new Promise<"gone">((resolve) => {
      if (signal === undefined) return;
      onAbort = () => {
        left = true;
        current.waiters--;
        if (current.waiters === 0 && !current.pinned) {
          current.controller.abort(new Error("every waiter left"));
          if (this.flights.get(key) === current) this.flights.delete(key);
        }
        resolve("gone");
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    });
    // a pending event in this request's own context while it waits on another's call (see above)
    const keepAlive = leader ? undefined : setInterval(() => {}, KEEPALIVE_MS);
    try {
      const outcome = await Promise.race([current.promise, gone]);
      if (outcome === "gone") return { kind: "gone" };
      return { kind: "value", value: outcome as T, leader };
    } catch (error) {
      return left ? { kind: "gone" } : { kind: "failed", error };
    } finally {
      if (keepAlive !== undefined) clearInterval(keepAlive);
      if (onAbort) signal?.removeEventListener("abort", onAbort);
      if (signal !== undefined && !left) current.waiters--;
    }
  }
}
