/** Text chosen by senders and servers, made safe for the operator's terminal. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { printable, printableJson } from '../../../shared/operate/printable.js';

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String.fromCharCode(from + i));
const C0 = range(0x00, 0x1f);
const C1 = range(0x80, 0x9f);
const BIDI = [...range(0x202a, 0x202e), ...range(0x2066, 0x2069)];
const UNPRINTABLE = [...C0, '\x7f', ...C1, '\u2028', '\u2029', ...BIDI];
const RAW = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

test('printable leaves ordinary text alone, in any script', () => {
  for (const text of ['Invoice 1001', 'Rechnung für März', '請求書 📎', 'a\u00a0b', 'quote " and \\ backslash', '']) assert.equal(printable(text), text);
});

test('printable: line breaks and tabs are named escapes, so a value prints on one line and cannot forge the next', () => {
  assert.equal(printable('Invoice\r\n2026-01-01 ERROR forged line\tx'), 'Invoice\\r\\n2026-01-01 ERROR forged line\\tx');
});

test('printable: the rest of C0, and DEL, are \\x escapes', () => {
  assert.equal(printable('\x1b[2J\x1b]0;title\x07'), '\\x1b[2J\\x1b]0;title\\x07');
  assert.equal(printable('\x00\x01\x1f\x7f'), '\\x00\\x01\\x1f\\x7f');
});

test('printable: C1 is escaped too, U+009B above all (a one-character CSI to many terminals)', () => {
  assert.equal(printable('\u009b2J'), '\\x9b2J');
  assert.equal(printable('\u0085next line'), '\\x85next line');
  assert.equal(printable('\u0080\u009f'), '\\x80\\x9f');
});

test('printable: the Unicode line and paragraph separators and the bidi controls are \\u escapes', () => {
  assert.equal(printable('a\u2028b\u2029c'), 'a\\u2028b\\u2029c');
  assert.equal(printable('invoice\u202egpj.exe'), 'invoice\\u202egpj.exe', 'a right-to-left override cannot disguise the name');
  assert.equal(printable('\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069'), '\\u202a\\u202b\\u202c\\u202d\\u2066\\u2067\\u2068\\u2069');
});

test('printable escapes every character of those classes, and leaves their neighbours', () => {
  for (const c of UNPRINTABLE) {
    const shown = printable(c);
    assert.doesNotMatch(shown, RAW, `U+${c.charCodeAt(0).toString(16)}`);
    assert.match(shown, /^\\/, `U+${c.charCodeAt(0).toString(16)} is an escape`);
  }
  for (const c of [' ', '~', '\u00a0', '\u2027', '\u202f', '\u2065', '\u206a']) assert.equal(printable(c), c, `U+${c.charCodeAt(0).toString(16)}`);
});

test('printableJson: nothing unprintable left raw, in values or in keys, and the JSON reads back as the same value', () => {
  const value = {
    subject: `x${UNPRINTABLE.join('')}y`,
    [`key\u202e`]: ['\u009b', '\n', { nested: '\u2028' }],
    plain: 'Rechnung für März 📎',
    count: 3,
  };
  const json = printableJson(value);
  // Outside strings the JSON has only its own indentation: the line breaks between lines of it.
  for (const line of json.split('\n')) assert.doesNotMatch(line, RAW, line);
  assert.deepEqual(JSON.parse(json), value);
});

test('printableJson indents by two spaces, as JSON.stringify would, where nothing needs escaping', () => {
  const value = { a: 1, b: ['c'] };
  assert.equal(printableJson(value), JSON.stringify(value, null, 2));
});
