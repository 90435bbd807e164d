/**
 * Text made safe for the operator's terminal. Much of what the command line
 * prints is chosen by others: a sender picks the subject (an RFC 2047 encoded
 * word decodes to any character), a server picks folder names and response
 * texts. Printed raw, a control character in them clears the screen, moves the
 * cursor or ends the line and forges the next one, and a bidi override reorders
 * what the operator reads. Each such character is shown as a visible escape.
 */

/**
 * C0 (tab, line feed and carriage return too: a value prints on one line), DEL,
 * C1 (U+009B is a one-character CSI to many terminals), the Unicode line and
 * paragraph separators, and the bidi embeddings, overrides and isolates.
 */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** What JSON.stringify leaves raw inside a string: all of UNPRINTABLE above U+001F. */
const RAW_IN_JSON = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `text` with every control character, line break and bidi control written as an escape: `\x1b`, `\r`, `\n`, `\u202e`. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => NAMED[c] ?? (c.charCodeAt(0) <= 0xff ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`));
}

/**
 * `value` as indented JSON that is also safe to print. Outside its strings
 * JSON.stringify writes only ASCII, so the characters it leaves raw are inside
 * strings, where a `\u` escape reads back as the same character.
 */
export function printableJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(RAW_IN_JSON, (c) => `\\u${hex(c, 4)}`);
}

function hex(c: string, digits: number): string {
  return c.charCodeAt(0).toString(16).padStart(digits, '0');
}
