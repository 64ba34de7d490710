/**
 * Per-socket rate limits of a stream room (in memory: a room that wakes from
 * hibernation starts every socket with a full bucket, which only errs on the
 * lenient side).
 */
import { CHAT_BURST, CHAT_RATE_PER_S } from "../protocol.js";
import { TokenBucket } from "../rate-limit.js";

export const LIKE_RATE_PER_S = 5;
export const LIKE_BURST = 10;
const TELEMETRY_RATE_PER_S = 1;
const TELEMETRY_BURST = 3;

export interface SocketLimits {
  chat: TokenBucket;
  like: TokenBucket;
  telemetry: TokenBucket;
}

export class RateLimits {
  private readonly bySocket = new Map<string, SocketLimits>();

  of(connectionId: string, now: number): SocketLimits {
    let limits = this.bySocket.get(connectionId);
    if (limits === undefined) {
      limits = {
        chat: new TokenBucket(CHAT_RATE_PER_S, CHAT_BURST, now),
        like: new TokenBucket(LIKE_RATE_PER_S, LIKE_BURST, now),
        telemetry: new TokenBucket(TELEMETRY_RATE_PER_S, TELEMETRY_BURST, now),
      };
      this.bySocket.set(connectionId, limits);
    }
    return limits;
  }

  forget(connectionId: string): void {
    this.bySocket.delete(connectionId);
  }
}
