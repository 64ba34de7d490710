/**
 * Event information providers (the control server's single
 * point of entry for event information). An adapter talks to one provider and
 * normalizes its answers to StandardEvent; EventRooms and the cron only see
 * this interface.
 */
import type { StandardEvent } from "./standard-event.js";

export type ProviderErrorKind = "network" | "timeout" | "http" | "malformed" | "not_configured";

export class ProviderError extends Error {
  constructor(
    readonly kind: ProviderErrorKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "ProviderError";
  }
}

export interface EventList {
  events: StandardEvent[];
  /** entries of the list that failed validation and were left out */
  skipped: number;
}

export interface EventProvider {
  readonly name: string;
  /** Events whose start time is within [from, to]. Throws ProviderError. */
  listEvents(from: Date, to: Date): Promise<EventList>;
  /** One event; null when the provider does not know it (404). Throws ProviderError. */
  getEvent(eventId: string): Promise<StandardEvent | null>;
}
