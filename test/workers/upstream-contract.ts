/**
 * What the Workers tests and their Node test origin (node/upstream.ts) agree
 * on, without Node imports (the tests run in workerd).
 */

/** Parts numbered at or above this are "the hinted part": the test origin holds them holdMs before they exist. */
export const HINTED_PART = 500;
