/**
 * ISO-BMFF (MP4) for the packager, in one import: the box splitter, child
 * walking, init and fragment reading, and the CMAF writers.
 *
 * Only the fields the packager needs are read; everything else is carried
 * through as opaque bytes, so this never has to understand a full MP4.
 */
export * from "./box-splitter.js";
export * from "./box-walk.js";
export * from "./init-info.js";
export * from "./fragment.js";
