/**
 * Rate limits of a stream room. Chat and likes are limited per user, whatever
 * the number of sockets the user opens and however often they reconnect, and
 * anonymous sessions also per client address (a keyed fingerprint, never the
 * IP): minting new anonymous identities from one address does not multiply
 * the rate. Telemetry is limited per socket (each open player reports).
 *
 * The buckets live in memory. A bucket is only ever lost when the room is
 * evicted, which takes longer without any message than a bucket needs to
 * refill (2 s for chat), so a user's state survives everything but a restart
 * of the object, and a restart only errs on the lenient side.
 */
import { CHAT_BURST, CHAT_RATE_PER_S } from "../protocol.js";
import { KeyedBuckets, takeAll, TokenBucket } from "../rate-limit.js";

export const LIKE_RATE_PER_S = 5;
export const LIKE_BURST = 10;
/** What all anonymous sessions of one address share (a household or a NAT gets twice one user's rate). */
const ADDRESS_RATE_PER_S = 2 * CHAT_RATE_PER_S;
export const ADDRESS_BURST = 2 * CHAT_BURST;
const TELEMETRY_RATE_PER_S = 1;
const TELEMETRY_BURST = 3;

/** Who sends (connections.ts ConnectionInfo; no import, so unit tests stay free of Workers types). */
export interface Sender {
  userId: string;
  anon: boolean;
  /** keyed fingerprint of the client's address, null or absent when unknown */
  address?: string | null;
}

/** One action's limit for one sender: takes a token from each bucket that applies, or from none. */
interface Limit {
  take(now: number): boolean;
}

export interface SenderLimits {
  chat: Limit;
  like: Limit;
  telemetry: Limit;
}

export class RateLimits {
  private readonly chatByUser = new KeyedBuckets(CHAT_RATE_PER_S, CHAT_BURST);
  private readonly chatByAddress = new KeyedBuckets(ADDRESS_RATE_PER_S, ADDRESS_BURST);
  private readonly likeByUser = new KeyedBuckets(LIKE_RATE_PER_S, LIKE_BURST);
  private readonly likeByAddress = new KeyedBuckets(2 * LIKE_RATE_PER_S, 2 * LIKE_BURST);
  private readonly telemetryBySocket = new Map<string, TokenBucket>();

  /** The limits of what `who` sends on socket `connectionId`. */
  of(connectionId: string, who: Sender): SenderLimits {
    const address = who.anon ? (who.address ?? null) : null;
    const shared = (byUser: KeyedBuckets, byAddress: KeyedBuckets): Limit => ({
      take: (now) => {
        const buckets = [byUser.get(who.userId, now)];
        if (address !== null) buckets.push(byAddress.get(address, now));
        return takeAll(buckets, now);
      },
    });
    return {
      chat: shared(this.chatByUser, this.chatByAddress),
      like: shared(this.likeByUser, this.likeByAddress),
      telemetry: {
        take: (now) => {
          let bucket = this.telemetryBySocket.get(connectionId);
          if (bucket === undefined) {
            bucket = new TokenBucket(TELEMETRY_RATE_PER_S, TELEMETRY_BURST, now);
            this.telemetryBySocket.set(connectionId, bucket);
          }
          return bucket.take(now);
        },
      },
    };
  }

  /** The socket is gone (its user's and address's buckets stay: a reconnect finds them). */
  forget(connectionId: string): void {
    this.telemetryBySocket.delete(connectionId);
  }
}
