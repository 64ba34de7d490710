/**
 * Text the system shows to people (stream titles, tags, poll questions and
 * choices): refused rather than cleaned up when it carries anything but text.
 * Pure, shared by the API's body schemas and the rooms.
 *
 * - well-formed Unicode (no lone surrogates);
 * - no control characters: C0 (tab and newline too: these are one-line
 *   fields; ESC starts every ANSI escape sequence), DEL, C1 (CSI, OSC ...);
 * - no bidi overrides or isolates (U+202A-U+202E, U+2066-U+2069), which
 *   make text display as something else; LRM/RLM marks stay allowed;
 * - no HTML markup: `<` followed by a letter, `/`, `!` or `?` (a tag, an end
 *   tag, a comment, a declaration); "<3" or "3 < 4" are fine, and so is `&`.
 *
 * What passes is NFC-normalized and trimmed; lengths count code points.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/;
const BIDI_OVERRIDE = /[\u202A-\u202E\u2066-\u2069]/;
const HTML_MARKUP = /<\s*[A-Za-z!/?]/;

export type DisplayTextCheck = { ok: true; text: string } | { ok: false; message: string };

export function checkDisplayText(value: string, { min = 0, max }: { min?: number; max: number }): DisplayTextCheck {
  if (LONE_SURROGATE.test(value)) return { ok: false, message: "is not valid Unicode" };
  if (CONTROL.test(value)) return { ok: false, message: "contains control characters (ANSI escapes, line breaks, tabs ...)" };
  if (BIDI_OVERRIDE.test(value)) return { ok: false, message: "contains bidirectional override characters" };
  if (HTML_MARKUP.test(value)) return { ok: false, message: "contains HTML markup" };
  const text = value.normalize("NFC").trim();
  const length = [...text].length;
  if (length < min) return { ok: false, message: min === 1 ? "is empty" : `is shorter than ${min} characters` };
  if (length > max) return { ok: false, message: `is longer than ${max} characters` };
  return { ok: true, text };
}
