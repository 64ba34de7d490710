/** What the e2e global setup (global-setup.ts) provides to the test files through vitest's `inject`. */
export {};

declare module "vitest" {
  export interface ProvidedContext {
    edgeUrl: string;
    originUrl: string;
    rtmpBaseUrl: string;
    apiKey: string;
    secret: string;
    reconnectGraceMs: number;
    /** the event provider simulator the Worker polls (scripts/provider-simulator.ts) */
    providerUrl: string;
    /** id of the stack's origin box (for signed status calls) */
    originId: string;
    /** the Worker's backoff cap while the provider fails, ms */
    providerBackoffMs: number;
  }
}
