/** safeName: an attachment's file name, chosen by the sender, as the last segment of a blob name. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { safeName } from '../../../shared/drain/safeName.js';

/** What no blob name segment made by safeName may hold: a separator, a control character, a URL delimiter or escape. */
const UNSAFE = /[\\/\x00-\x1f\x7f-\x9f?#%]/;

function assertSafe(name: string, input: string): void {
  const why = JSON.stringify(input);
  assert.doesNotMatch(name, UNSAFE, why);
  assert.ok(name.length >= 1 && name.length <= 200, `${why}: ${name.length} units`);
  assert.ok(!name.startsWith('.'), why);
  assert.doesNotThrow(() => encodeURIComponent(name), why);
}

test('safeName keeps an ordinary file name as it is, in any script', () => {
  for (const name of ['invoice-1001.pdf', 'Rechnung März 2026.pdf', '請求書.xlsx', 'résumé (final) [v2].docx', 'photo 📷.jpg', 'a.b.c']) {
    assert.equal(safeName(name), name);
  }
});

test('safeName: path traversal stays inside the message\'s folder, with either slash', () => {
  assert.equal(safeName('../../etc/passwd'), '__.._etc_passwd');
  assert.equal(safeName('..\\..\\windows\\win.ini'), '__.._windows_win.ini');
  assert.equal(safeName('/absolute'), '_absolute');
  for (const input of ['..', '.', '...', '.hidden', '/', '\\\\server\\share']) assertSafe(safeName(input), input);
});

test('safeName: control characters, and "?", "#" and "%" that would cut or re-decode the URL, become one "_" per run', () => {
  assert.equal(safeName('a\r\nb'), 'a_b');
  assert.equal(safeName('a\x00b\x1bc\x7fd'), 'a_b_c_d');
  assert.equal(safeName('report?sig=x#frag%2F.pdf'), 'report_sig=x_frag_2F.pdf');
  assert.equal(safeName('\t'), '_');
});

test('safeName: a C1 control character (U+0080 to U+009F) became part of the blob name, which Azure refuses with 400', () => {
  // Azure Storage refuses control characters in blob names, "0x00 to 0x1F, \u0081, etc." (Naming and
  // Referencing Containers, Blobs, and Metadata). An RFC 2231 name such as filename*=utf-8''%C2%81.pdf
  // decodes to one; the hand-off failed as the message's own fault on every run until MAX_ATTEMPTS
  // quarantined a good message.
  assert.equal(safeName('a\u0081b\u008d\u009fc.pdf'), 'a_b_c.pdf');
  assert.equal(safeName('\u0080'), '_');
  assert.equal(safeName('\u00a0nbsp\u00a0.pdf'), '\u00a0nbsp\u00a0.pdf', 'U+00A0 is not a control character');
});

test('safeName: a very long name is cut to 200 UTF-16 units, never through an emoji', () => {
  assert.equal(safeName('a'.repeat(10_000)), 'a'.repeat(200));
  const emojiAcrossCut = `${'a'.repeat(199)}😀tail`;
  assert.equal(safeName(emojiAcrossCut), 'a'.repeat(199), 'the half emoji is dropped');
  const emojiBeforeCut = `${'a'.repeat(198)}😀tail`;
  assert.equal(safeName(emojiBeforeCut), `${'a'.repeat(198)}😀`, 'a whole emoji is kept');
  assertSafe(safeName('😀'.repeat(5_000)), '5,000 emoji');
});

test('safeName: an empty name, or one that is nothing but half an emoji, becomes "attachment"', () => {
  assert.equal(safeName(''), 'attachment');
  assert.equal(safeName('\uD83D'), 'attachment');
});

test('safeName: whatever a hostile sender writes, the result is one safe, non-empty URL segment', () => {
  const hostile = [
    '../'.repeat(100),
    '\x00'.repeat(300),
    '%00%2e%2e%2f',
    '?#%'.repeat(100),
    `.${'\u0085'.repeat(10)}`,
    'CON',
    `${'é'.repeat(199)}😀`,
    Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join(''),
  ];
  for (const input of hostile) assertSafe(safeName(input), input);
});
