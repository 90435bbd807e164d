/**
 * Malformed and adversarial mail, generated deterministically from a seed, for
 * the hostile-input tests (test/hostile/): every one must leave the mailbox as a
 * queue message or as a quarantined message with its raw bytes kept, and never
 * crash, hang or block the messages behind it.
 *
 * Messages are built as bytes (strings here are latin1: one char, one byte), so
 * that 8-bit, NUL and bare CR bytes land exactly where a hostile sender puts them.
 */
import { prng } from './prng.js';

/** The seed of the committed set: change it and the set changes, byte for byte. */
export const HOSTILE_SEED = 0x5eed_2026;

export type HostileCategory =
  | 'boundaries'
  | 'nesting'
  | 'many-parts'
  | 'headers'
  | 'charsets'
  | 'transfer-encodings'
  | '8bit-and-nul'
  | 'truncated'
  | 'degenerate'
  | 'line-endings'
  | 'long-lines'
  | 'recipients'
  | 'encoded-words'
  | 'rfc2231'
  | 'content-types'
  | 'mutations';

export interface HostileMessage {
  /** Unique: `<category>/<variant>`. */
  name: string;
  category: HostileCategory;
  raw: Buffer;
}

/** Bytes from latin1 strings (one char, one byte) and buffers. */
function bytes(...parts: (string | Buffer)[]): Buffer {
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
}

/** UTF-8 text as a latin1 string of its bytes, for building messages with 8-bit headers. */
const utf8 = (text: string) => Buffer.from(text, 'utf8').toString('latin1');

const CRLF = '\r\n';
const lines = (...ls: string[]) => ls.join(CRLF);

function envelope(name: string, extra: string[] = []): string[] {
  return [
    'From: Hostile Sender <hostile@attacker.example>',
    'To: Invoices <invoices@contoso.example>',
    `Subject: hostile ${name}`,
    'Date: Fri, 20 Nov 2026 08:00:00 +0000',
    `Message-ID: <${name.replace(/[^a-z0-9.-]/gi, '.')}@attacker.example>`,
    'MIME-Version: 1.0',
    ...extra,
  ];
}

/** A message: the envelope headers of `name`, then `headers`, a blank line and `body`. */
function message(name: string, headers: string[], body: string | Buffer = ''): Buffer {
  return bytes(lines(...envelope(name, headers)), CRLF + CRLF, body);
}

/** A multipart body: each part is [headers, body]; `close` false leaves out the close delimiter. */
function multipart(boundary: string, parts: [string[], string][], close = true): string {
  const out = ['This is a multi-part message in MIME format.'];
  for (const [headers, body] of parts) out.push(`--${boundary}`, ...headers, '', body);
  if (close) out.push(`--${boundary}--`, '');
  return lines(...out);
}

const textPart = (text: string): [string[], string] => [['Content-Type: text/plain; charset=utf-8'], text];
const htmlPart = (html: string): [string[], string] => [['Content-Type: text/html; charset=utf-8'], html];

/** base64 with 76-character lines, as MIME writes it. */
function base64Lines(data: Buffer): string {
  return (data.toString('base64').match(/.{1,76}/g) ?? []).join(CRLF);
}

function randomBytes(random: () => number, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256);
  return out;
}

function attachmentPart(filename: string, data: Buffer, contentType = 'application/octet-stream'): [string[], string] {
  return [[`Content-Type: ${contentType}; name="${filename}"`, 'Content-Transfer-Encoding: base64', `Content-Disposition: attachment; filename="${filename}"`], base64Lines(data)];
}

/** A well-formed message with most of what MIME has: the base the line-ending and mutation variants start from. */
function richMessage(name: string, random: () => number): Buffer {
  const inner = lines(
    'From: Forwarded <fwd@example.org>',
    'Subject: =?utf-8?Q?Vorg=C3=A4nger?=',
    'Content-Type: text/plain; charset=iso-8859-1',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    'Gr=FC=DFe aus K=F6ln, eine sehr lange Zeile die mit einem weichen Zeilenumbruch=',
    ' weitergeht.',
  );
  const alternative = multipart('alt-7f3a', [
    [['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit'], utf8('Grüße, the invoice is attached.\r\nLine two.')],
    [['Content-Type: text/html; charset=utf-8', 'Content-Transfer-Encoding: quoted-printable'], '<p>Gr=C3=BC=C3=9Fe, the <b>invoice</b> is attached.</p>'],
  ]);
  return message(
    name,
    ['Content-Type: multipart/mixed; boundary="mix-91c2"'],
    multipart('mix-91c2', [
      [['Content-Type: multipart/alternative; boundary="alt-7f3a"'], alternative],
      attachmentPart('invoice.pdf', randomBytes(random, 1500), 'application/pdf'),
      [['Content-Type: message/rfc822', 'Content-Disposition: attachment; filename="forwarded.eml"'], inner],
      [['Content-Type: image/png', 'Content-Transfer-Encoding: base64', 'Content-ID: <logo@x>', 'Content-Disposition: inline'], base64Lines(randomBytes(random, 300))],
    ]),
  );
}

type Variant = [variant: string, raw: Buffer];

function boundaries(): Variant[] {
  const two: [string[], string][] = [textPart('first part'), attachmentPart('a.bin', Buffer.from('attachment bytes'))];
  const m = (variant: string, contentType: string, body: string) => [variant, message(`boundaries/${variant}`, [`Content-Type: ${contentType}`], body)] as Variant;
  const nestedSame = (depth: number) => {
    let body = multipart('X', [textPart('innermost')]);
    for (let i = 0; i < depth; i++) body = multipart('X', [[['Content-Type: multipart/mixed; boundary="X"'], body], textPart(`level ${i}`)]);
    return body;
  };
  return [
    m('missing-close', 'multipart/mixed; boundary="b1"', multipart('b1', two, false)),
    m('missing-close-inside-part-headers', 'multipart/mixed; boundary="b1"', lines('--b1', 'Content-Type: text/plain', '', 'one', '--b1', 'Content-Type: application/octet-stream', 'Content-Transfer-Enc')),
    m('declared-never-used', 'multipart/mixed; boundary="never"', lines('Just text, no delimiter lines at all.', 'More text.')),
    m('nested-same-boundary', 'multipart/mixed; boundary="X"', nestedSame(1)),
    m('nested-same-boundary-5', 'multipart/mixed; boundary="X"', nestedSame(5)),
    m('boundary-prefix-of-inner', 'multipart/mixed; boundary="b"', multipart('b', [[['Content-Type: multipart/alternative; boundary="b-inner"'], multipart('b-inner', [textPart('inner a'), htmlPart('<p>inner b</p>')])], textPart('outer')])),
    m('inner-boundary-prefix-of-outer', 'multipart/mixed; boundary="outer-long"', multipart('outer-long', [[['Content-Type: multipart/alternative; boundary="outer"'], multipart('outer', [textPart('a'), textPart('b')])]])),
    m('empty-boundary', 'multipart/mixed; boundary=""', lines('--', 'Content-Type: text/plain', '', 'x', '----', '')),
    m('no-boundary-parameter', 'multipart/mixed', multipart('lost', two)),
    m('boundary-200-chars', `multipart/mixed; boundary="${'b'.repeat(200)}"`, multipart('b'.repeat(200), two)),
    m('boundary-20k-chars', `multipart/mixed; boundary="${'q'.repeat(20_000)}"`, multipart('q'.repeat(20_000), two)),
    m('boundary-spaces-quotes', 'multipart/mixed; boundary="a b \\"c\\" d"', multipart('a b "c" d', two)),
    m('boundary-8bit', 'multipart/mixed; boundary="\xff\xfe\x80b"', multipart('\xff\xfe\x80b', two)),
    m('delimiter-transport-padding', 'multipart/mixed; boundary="pad"', lines('--pad   \t', 'Content-Type: text/plain', '', 'padded', '--pad--  ', '')),
    m('delimiter-trailing-garbage', 'multipart/mixed; boundary="g"', lines('--gGARBAGE', 'Content-Type: text/plain', '', 'x', '--g', 'Content-Type: text/plain', '', 'y', '--g--junk', '')),
    m('close-before-parts', 'multipart/mixed; boundary="c"', lines('--c--', '--c', 'Content-Type: text/plain', '', 'after close', '--c--', '')),
    m('parts-after-close', 'multipart/mixed; boundary="e"', `${multipart('e', two)}${multipart('e', [textPart('epilogue part')])}`),
    m('part-without-blank-line', 'multipart/mixed; boundary="n"', lines('--n', 'Content-Type: text/plain', '--n', 'Content-Type: text/plain', 'Still-A-Header: yes', '--n--', '')),
    m('part-without-headers', 'multipart/mixed; boundary="h"', lines('--h', '', 'no headers here', '--h', '', '', '--h--', '')),
    m('boundary-case-mismatch', 'multipart/mixed; boundary="abc"', multipart('ABC', two)),
    m('delimiters-without-dashes', 'multipart/mixed; boundary="d"', lines('d', 'Content-Type: text/plain', '', 'x', 'd--', '')),
    m('preamble-only-100k', 'multipart/mixed; boundary="p"', `${'preamble line that never ends in a part\r\n'.repeat(2500)}`),
    m('999-empty-parts', 'multipart/mixed; boundary="e9"', `${'--e9\r\n\r\n'.repeat(999)}--e9--\r\n`),
    m('boundary-inside-base64', 'multipart/mixed; boundary="QUJD"', lines('--QUJD', 'Content-Type: application/octet-stream', 'Content-Transfer-Encoding: base64', '', 'QUJDREVG', '--QUJD', 'QUJD', '--QUJD--', '')),
    m('delimiter-mid-line', 'multipart/mixed; boundary="mid"', lines('text before--mid', 'Content-Type: text/plain', '', 'x--mid--', '')),
    ['boundary-folded-parameter', message('boundaries/boundary-folded-parameter', ['Content-Type: multipart/mixed;', '\tboundary=', ' "folded"'], multipart('folded', two))],
  ];
}

function nesting(): Variant[] {
  const deepMultipart = (depth: number, sameBoundary: boolean, close: boolean) => {
    let body = textPart('at the bottom');
    for (let i = depth - 1; i >= 0; i--) {
      const b = sameBoundary ? 'same' : `lvl${i}`;
      body = [[`Content-Type: multipart/mixed; boundary="${b}"`], multipart(b, [body, textPart(`level ${i}`)], close)];
    }
    return body;
  };
  const deepRfc822 = (depth: number, attach: boolean) => {
    let inner = lines('From: bottom@example.org', 'Subject: bottom', 'Content-Type: text/plain', '', 'the innermost message');
    for (let i = depth - 1; i >= 0; i--) {
      const headers = [`From: level${i}@example.org`, `Subject: level ${i}`];
      inner = attach
        ? lines(...headers, `Content-Type: multipart/mixed; boundary="r${i}"`, '', multipart(`r${i}`, [textPart(`level ${i}`), [['Content-Type: message/rfc822'], inner]]))
        : lines(...headers, 'Content-Type: message/rfc822', '', inner);
    }
    return inner;
  };
  const wrap = (variant: string, [headers, body]: [string[], string]) => [variant, message(`nesting/${variant}`, headers, body)] as Variant;
  return [
    wrap('multipart-100-deep', deepMultipart(100, false, true)),
    wrap('multipart-100-deep-same-boundary', deepMultipart(100, true, true)),
    wrap('multipart-100-deep-never-closed', deepMultipart(100, false, false)),
    wrap('multipart-400-deep', deepMultipart(400, false, true)),
    wrap('multipart-1200-deep', deepMultipart(1200, false, true)),
    ['message-rfc822-50-deep', message('nesting/message-rfc822-50-deep', ['Content-Type: message/rfc822'], deepRfc822(50, false))],
    ['message-rfc822-50-deep-in-multiparts', message('nesting/message-rfc822-50-deep-in-multiparts', ['Content-Type: message/rfc822'], deepRfc822(50, true))],
    ['message-rfc822-200-deep', message('nesting/message-rfc822-200-deep', ['Content-Type: message/rfc822'], deepRfc822(200, false))],
  ];
}

function manyParts(random: () => number): Variant[] {
  const parts = (n: number, make: (i: number) => [string[], string]) => Array.from({ length: n }, (_, i) => make(i));
  const m = (variant: string, n: number, make: (i: number) => [string[], string]) =>
    [variant, message(`many-parts/${variant}`, ['Content-Type: multipart/mixed; boundary="many"'], multipart('many', parts(n, make)))] as Variant;
  return [
    m('5000-attachments', 5000, (i) => attachmentPart(`part-${i}.bin`, randomBytes(random, 16))),
    m('5000-text-parts', 5000, (i) => textPart(`text part ${i}`)),
    m('900-attachments', 900, (i) => attachmentPart(`p${i}.bin`, randomBytes(random, 8))),
    m('900-inline-images-same-content-id', 900, () => [['Content-Type: image/gif', 'Content-Transfer-Encoding: base64', 'Content-ID: <same@x>', 'Content-Disposition: inline'], 'R0lGODlhAQABAAAAACw=']),
  ];
}

function headers(): Variant[] {
  const MB = 1024 * 1024;
  const m = (variant: string, extra: string[], body = 'body\r\n') => [variant, message(`headers/${variant}`, extra, body)] as Variant;
  const raw = (variant: string, text: string) => [variant, bytes(text)] as Variant;
  return [
    m('subject-1mb-one-line', [`Subject: ${'S'.repeat(MB)}`]),
    m('custom-header-1mb-one-line', [`X-Hostile: ${'h'.repeat(MB)}`]),
    m('subject-1mb-folded', [`Subject: ${Array.from({ length: 1100 }, () => 'w'.repeat(960)).join('\r\n ')}`]),
    m('subject-900k-one-line', [`Subject: ${'s'.repeat(900 * 1024)}`]),
    m('custom-header-1mb-in-a-part', ['Content-Type: multipart/mixed; boundary="hp"'], multipart('hp', [[[`X-Part-Junk: ${'j'.repeat(MB)}`, 'Content-Type: text/plain'], 'part'], textPart('next part')])),
    m('10000-header-fields', Array.from({ length: 10_000 }, (_, i) => `X-Field-${i}: value ${i}`)),
    m('1000-subjects', Array.from({ length: 1000 }, (_, i) => `Subject: duplicate subject ${i}`)),
    m('header-name-10k', [`X-${'N'.repeat(10_000)}: value`]),
    m('header-without-colon', ['This line has no colon at all', 'Another: fine']),
    m('header-empty-name', [': value with empty name']),
    m('header-name-with-spaces', ['Bad Header Name: value', 'Subject : spaced colon']),
    m('subject-empty', ['Subject:']),
    m('message-id-1mb-minus', [`Message-ID: <${'i'.repeat(1000 * 1000)}@x>`]),
    m('references-50k-ids', [`References: ${Array.from({ length: 50_000 }, (_, i) => `<${i}@r>`).join(' ').slice(0, 1000 * 1000)}`]),
    m('date-garbage', ['Date: Thu, 99 Foo 99999 99:99:99 +9999', 'Date: ']),
    raw('continuation-before-first-header', lines(' folded line with nothing before it', '\tand another', 'Subject: after the fold', '', 'body', '')),
    raw('headers-2mb-in-many-fields', `${lines(...Array.from({ length: 2100 }, (_, i) => `X-Filler-${i}: ${'f'.repeat(1000)}`))}\r\n\r\nbody\r\n`),
  ];
}

function charsets(): Variant[] {
  const t = (variant: string, contentType: string, body: string | Buffer, cte = '8bit') =>
    [variant, message(`charsets/${variant}`, [`Content-Type: ${contentType}`, `Content-Transfer-Encoding: ${cte}`], body)] as Variant;
  return [
    t('unknown-charset', 'text/plain; charset=x-no-such-charset', 'caf\xe9'),
    t('charset-utf-99', 'text/plain; charset="utf-99"', 'caf\xc3\xa9'),
    t('charset-empty', 'text/plain; charset=""', 'caf\xe9'),
    t('charset-nul', 'text/plain; charset="utf\x00-8"', 'caf\xc3\xa9'),
    t('charset-path', 'text/plain; charset="../../../../etc/passwd"', 'caf\xe9'),
    t('charset-10k-name', `text/plain; charset="${'x'.repeat(10_000)}"`, 'caf\xe9'),
    t('utf-7', 'text/plain; charset=utf-7', '+AGEAYgBj- and broken +AGE +////-'),
    t('utf-16-odd-length', 'text/plain; charset=utf-16', '\xff\xfeh\x00i\x00\x00'),
    t('utf-16be-lone-surrogate', 'text/plain; charset=utf-16be', '\xd8\x00\x00a\xdc\x00'),
    t('utf-32-garbage', 'text/plain; charset=utf-32', '\x00\x00\x11\x00\xff\xff\xff\xff'),
    t('iso-2022-jp-broken-escapes', 'text/plain; charset=iso-2022-jp', '\x1b$B$3$s\x1b(\x1b$\x1b$B\x1b'),
    t('shift-jis-truncated', 'text/plain; charset=shift_jis', '\x82\xa0\x82'),
    t('big5-invalid', 'text/plain; charset=big5', '\xa4\x40\xff\xff\xa4'),
    t('gb18030-invalid', 'text/plain; charset=gb18030', '\x81\x30\x81\xff\x84'),
    t('utf-8-invalid-sequences', 'text/plain; charset=utf-8', '\xc0\xaf \xed\xa0\x80 \xf8\x88\x80\x80\x80 \xff\xfe \xe2\x82'),
    t('us-ascii-with-8bit', 'text/plain; charset=us-ascii', 'caf\xe9 na\xefve \x80\x81'),
    t('html-meta-charset-conflict', 'text/html; charset=utf-8', '<meta charset="x-bogus"><meta http-equiv="Content-Type" content="text/html; charset=utf-32">\xe9'),
  ];
}

function transferEncodings(random: () => number): Variant[] {
  const t = (variant: string, cte: string, body: string, contentType = 'text/plain; charset=utf-8') =>
    [variant, message(`transfer-encodings/${variant}`, [`Content-Type: ${contentType}`, `Content-Transfer-Encoding: ${cte}`], body)] as Variant;
  const pdf = base64Lines(randomBytes(random, 600));
  return [
    t('qp-invalid-escapes', 'quoted-printable', 'bad =ZZ escape =G1 and =\xff and =0'),
    t('qp-equals-at-end', 'quoted-printable', 'ends with an equals sign ='),
    t('qp-soft-break-at-eof', 'quoted-printable', 'soft break at the very end=\r\n'),
    t('qp-lines-over-76', 'quoted-printable', `${'=41'.repeat(5000)}`),
    t('qp-of-binary', 'quoted-printable', randomBytes(random, 400).toString('latin1')),
    t('base64-truncated-1', 'base64', 'SGVsbG8gd29ybGQ', 'application/octet-stream'),
    t('base64-truncated-2', 'base64', 'SGVsbG8gd29ybG', 'application/octet-stream'),
    t('base64-truncated-3', 'base64', 'SGVsbG8gd29yb', 'application/octet-stream'),
    t('base64-garbage', 'base64', '!!@@##$$%%^^&&**(())__++\r\n~~~~', 'application/octet-stream'),
    t('base64-padding-in-middle', 'base64', 'SGVs==bG8g==d29y=bGQ=', 'application/octet-stream'),
    t('base64-only-padding', 'base64', '========\r\n====', 'application/octet-stream'),
    t('base64-whitespace-everywhere', 'base64', 'S G V s\tb G 8 g\r\n d 2 9 y b G Q =', 'application/octet-stream'),
    t('base64-text-declared', 'base64', 'This is not base64 at all, it is plain text.'),
    t('unknown-transfer-encoding', 'x-hostile-encoding', 'whatever this is'),
    t('transfer-encoding-casing-and-spaces', '  BaSe64  ', 'SGVsbG8=', 'application/octet-stream'),
    t('binary-with-nul', 'binary', 'binary\x00body\x00with\x00nuls'),
    t('7bit-with-8bit-data', '7bit', 'caf\xc3\xa9 \xff\x80'),
    t('x-uuencode-broken', 'x-uuencode', lines('begin 644 file.txt', 'M9F]O8F%R', '`', 'no end line')),
    ['base64-encoded-multipart', message('transfer-encodings/base64-encoded-multipart', ['Content-Type: multipart/mixed; boundary="b64"', 'Content-Transfer-Encoding: base64'], Buffer.from(multipart('b64', [textPart('hidden')])).toString('base64'))],
    ['base64-encoded-rfc822', message('transfer-encodings/base64-encoded-rfc822', ['Content-Type: multipart/mixed; boundary="r"'], multipart('r', [[['Content-Type: message/rfc822', 'Content-Transfer-Encoding: base64'], base64Lines(Buffer.from('Subject: inner\r\n\r\ninner body\r\n'))]]))],
    ['conflicting-transfer-encodings', message('transfer-encodings/conflicting-transfer-encodings', ['Content-Type: text/plain', 'Content-Transfer-Encoding: base64', 'Content-Transfer-Encoding: quoted-printable'], 'SGVsbG8=3D')],
    ['mixed-encodings-some-broken', message('transfer-encodings/mixed-encodings-some-broken', ['Content-Type: multipart/mixed; boundary="mx"'], multipart('mx', [
      [['Content-Type: text/plain', 'Content-Transfer-Encoding: quoted-printable'], 'ok =3D and bad =Q'],
      [['Content-Type: application/pdf', 'Content-Transfer-Encoding: base64'], pdf.slice(0, pdf.length - 7)],
      [['Content-Type: text/plain', 'Content-Transfer-Encoding: 8bit'], 'eight \xe9 bit'],
      [['Content-Type: text/plain', 'Content-Transfer-Encoding: base64'], '%%%not base64%%%'],
      [['Content-Type: text/plain', 'Content-Transfer-Encoding: x-unknown'], 'unknown'],
    ]))],
  ];
}

function eightBitAndNul(): Variant[] {
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const m = (variant: string, extra: string[], body: string | Buffer = 'body\r\n') => [variant, message(`8bit-and-nul/${variant}`, extra, body)] as Variant;
  return [
    m('nul-in-subject', ['Subject: before\x00after']),
    m('nul-in-header-name', ['X-Nul\x00Name: value']),
    m('nul-in-from', ['From: "Nul\x00Name" <nul\x00@example.org>']),
    m('nul-in-body', ['Content-Type: text/plain'], 'line\x00with\x00nuls\r\n\x00\x00\x00\r\n'),
    m('nul-in-boundary', ['Content-Type: multipart/mixed; boundary="a\x00b"'], multipart('a\x00b', [textPart('nul boundary')])),
    m('all-256-bytes-in-body', ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit'], bytes(all, '\r\n', all, '\r\n')),
    m('all-256-bytes-in-header', [`X-All-Bytes: ${all.toString('latin1').replace(/[\r\n]/g, '')}`]),
    m('all-256-bytes-as-attachment', ['Content-Type: multipart/mixed; boundary="all"'], multipart('all', [[['Content-Type: application/octet-stream', 'Content-Transfer-Encoding: binary', 'Content-Disposition: attachment; filename="all.bin"'], all.toString('latin1')]])),
    m('latin1-subject-unencoded', ['Subject: Gr\xfc\xdfe aus K\xf6ln']),
    m('utf8-headers-unencoded', [utf8('Subject: Grüße 日本語 ✔'), utf8('From: Jürgen <jürgen@bücher.example>')]),
    m('invalid-utf8-headers', ['Subject: \xc3\x28 \xa0\xa1 \xe2\x28\xa1 \xf0\x28\x8c\xbc']),
    m('nul-between-headers-and-body', [], '\x00\r\nbody after nul line\r\n'),
    m('c0-controls-in-headers', ['Subject: \x01\x02\x03\x07\x08\x0b\x0c\x1b[31mred\x1b[0m\x7f']),
    ['only-nul-bytes', Buffer.alloc(1000)],
    ['utf8-bom-at-start', bytes('\xef\xbb\xbf', lines(...envelope('8bit-and-nul/utf8-bom-at-start')), '\r\n\r\nbody\r\n')],
    ['utf16-bom-at-start', bytes('\xff\xfe', Buffer.from(lines('Subject: utf16', '', 'body'), 'utf16le'))],
  ];
}

function truncated(random: () => number): Variant[] {
  const attachment = base64Lines(randomBytes(random, 4000));
  const start = message('truncated/attachment', ['Content-Type: multipart/mixed; boundary="t"'], lines('--t', 'Content-Type: text/plain', '', 'see attachment', '--t', 'Content-Type: application/pdf; name="t.pdf"', 'Content-Transfer-Encoding: base64', 'Content-Disposition: attachment; filename="t.pdf"', '', attachment, '--t--', ''));
  const cutAt = (needle: string, delta: number) => start.subarray(0, start.indexOf(needle) + delta);
  const mid = start.indexOf('base64\r\n\r\n') + 10;
  return [
    ['base64-attachment-cut-mid-line', start.subarray(0, mid + 1000 + 37)],
    ['base64-attachment-cut-mid-quartet', start.subarray(0, mid + 78 * 10 + 2)],
    ['base64-attachment-cut-at-line-end', start.subarray(0, mid + 78 * 20)],
    ['cut-inside-part-headers', cutAt('Content-Transfer-Encoding: base64', 12)],
    ['cut-right-after-delimiter', cutAt('--t\r\nContent-Type: application/pdf', 5)],
    ['cut-inside-encoded-word', bytes(lines('From: a@b.example', 'Subject: =?utf-8?B?SGVsbG8gd29y'))],
    ['cut-after-boundary-equals', bytes(lines(...envelope('truncated/cut-after-boundary-equals'), 'Content-Type: multipart/mixed; boundary='))],
    ['cut-inside-rfc822', bytes(lines(...envelope('truncated/cut-inside-rfc822'), 'Content-Type: message/rfc822', '', 'From: inner@example.org', 'Subject: inner', 'Content-Type: multipart/mixed; boundary="i"', '', '--i', 'Content-Type: text/pl'))],
    ['cut-mid-crlf', bytes(lines(...envelope('truncated/cut-mid-crlf')), '\r\n\r')],
  ];
}

function degenerate(): Variant[] {
  return [
    ['empty', Buffer.alloc(0)],
    ['single-crlf', bytes('\r\n')],
    ['single-lf', bytes('\n')],
    ['single-byte', bytes('x')],
    ['only-whitespace', bytes(' \t \r\n \r\n\t\r\n')],
    ['only-headers-no-blank-line', bytes(lines(...envelope('degenerate/only-headers-no-blank-line')))],
    ['only-headers-with-blank-line', bytes(lines(...envelope('degenerate/only-headers-with-blank-line')), '\r\n\r\n')],
    ['no-headers-text-body', bytes('This message has no headers at all.\r\nJust a body.\r\n')],
    ['no-headers-starts-with-blank-line', bytes('\r\nBody after an empty header section.\r\n')],
    ['no-headers-multipart-looking', bytes(multipart('nohdr', [textPart('a'), textPart('b')]))],
    ['mbox-from-line-first', bytes('From nobody Fri Nov 20 08:00:00 2026\r\n', lines(...envelope('degenerate/mbox-from-line-first')), '\r\n\r\nbody\r\n')],
    ['100k-blank-lines', bytes(lines(...envelope('degenerate/100k-blank-lines')), '\r\n'.repeat(100_000))],
    ['header-only-colon', bytes(':\r\n\r\n')],
  ];
}

function lineEndings(random: () => number): Variant[] {
  const base = richMessage('line-endings', random).toString('latin1');
  const split = base.indexOf('\r\n\r\n');
  const [head, body] = [base.slice(0, split), base.slice(split + 4)];
  const v = (variant: string, text: string) => [variant, bytes(text)] as Variant;
  return [
    v('crlf', base),
    v('bare-lf', base.replace(/\r\n/g, '\n')),
    v('bare-cr', base.replace(/\r\n/g, '\r')),
    v('lf-cr', base.replace(/\r\n/g, '\n\r')),
    v('cr-cr-lf', base.replace(/\r\n/g, '\r\r\n')),
    v('mixed-crlf-lf', base.replace(/\r\n/g, () => (random() < 0.5 ? '\r\n' : '\n'))),
    v('mixed-cr-lf-crlf', base.replace(/\r\n/g, () => ['\r', '\n', '\r\n'][Math.floor(random() * 3)]!)),
    v('headers-crlf-body-lf', `${head}\r\n\r\n${body.replace(/\r\n/g, '\n')}`),
    v('headers-lf-body-crlf', `${head.replace(/\r\n/g, '\n')}\n\n${body}`),
    v('bare-cr-in-body-only', `${head}\r\n\r\n${body.replace(/\r\n/g, '\r')}`),
  ];
}

function longLines(random: () => number): Variant[] {
  const MB = 1024 * 1024;
  const m = (variant: string, extra: string[], body: string) => [variant, message(`long-lines/${variant}`, extra, body)] as Variant;
  return [
    m('text-1mb-one-line', ['Content-Type: text/plain'], 'x'.repeat(MB)),
    m('text-5mb-one-line', ['Content-Type: text/plain'], 'y'.repeat(5 * MB)),
    m('base64-1mb-one-line', ['Content-Type: application/octet-stream', 'Content-Transfer-Encoding: base64', 'Content-Disposition: attachment; filename="one-line.bin"'], randomBytes(random, (3 * MB) / 4).toString('base64')),
    m('html-1mb-one-line', ['Content-Type: text/html'], `<p>${'<b>z</b>'.repeat(MB / 8)}</p>`),
    m('qp-1mb-no-soft-breaks', ['Content-Type: text/plain', 'Content-Transfer-Encoding: quoted-printable'], '=C3=A9'.repeat(MB / 6)),
    m('line-around-64k', ['Content-Type: multipart/mixed; boundary="l"'], multipart('l', [textPart('a'.repeat(64 * 1024 - 1)), textPart('b'.repeat(64 * 1024 + 1)), textPart('c'.repeat(64 * 1024))])),
    m('boundary-after-10mb-line', ['Content-Type: multipart/mixed; boundary="l10"'], multipart('l10', [textPart('l'.repeat(10 * MB)), textPart('after the long line')])),
  ];
}

function recipients(): Variant[] {
  const list = (n: number, make: (i: number) => string) => Array.from({ length: n }, (_, i) => make(i)).join(',\r\n ');
  const m = (variant: string, extra: string[]) => [variant, message(`recipients/${variant}`, extra, 'body\r\n')] as Variant;
  return [
    m('10000-to', [`To: ${list(10_000, (i) => `r${i}@example.org`)}`]),
    m('10000-each-to-cc-bcc-reply-to', ['To', 'Cc', 'Bcc', 'Reply-To'].map((h) => `${h}: ${list(10_000, (i) => `${h.toLowerCase()}${i}@x.example`)}`)),
    m('50000-to-unfolded', [`To: ${Array.from({ length: 50_000 }, (_, i) => `${i}@x`).join(',')}`]),
    m('group-5000-members', [`To: big-group: ${list(5000, (i) => `g${i}@example.org`)};`]),
    m('unterminated-group', ['To: group: a@example.org, b@example.org', 'Cc: other: ;;;; : : ;']),
    m('nested-groups', ['To: a: b: c: d@example.org;;;']),
    m('angle-brackets-1000', [`To: ${'<'.repeat(1000)}x@example.org${'>'.repeat(1000)}`]),
    m('comments-1000-deep', [`From: ${'('.repeat(1000)}comment${')'.repeat(1000)} a@example.org`]),
    m('unbalanced-comments-and-quotes', ['From: "unterminated <a@example.org> (open comment', 'To: ))) a@b ((( "x']),
    m('empty-addresses-100k', [`To: ${','.repeat(100_000)}`]),
    m('10000-encoded-display-names', [`To: ${list(10_000, (i) => `=?utf-8?B?${Buffer.from(`Empfänger ${i}`).toString('base64')}?= <e${i}@example.org>`)}`]),
  ];
}

function encodedWords(): Variant[] {
  const s = (variant: string, subject: string, extra: string[] = []) => [variant, message(`encoded-words/${variant}`, [`Subject: ${subject}`, ...extra], 'body\r\n')] as Variant;
  const many = Array.from({ length: 10_000 }, (_, i) => `=?utf-8?B?${Buffer.from(`w${i}`).toString('base64')}?=`).join(' ');
  // "é" is C3 A9: each encoded word carries half of a character.
  const split = Array.from({ length: 5000 }, () => '=?utf-8?Q?=C3?= =?utf-8?Q?=A9?=').join(' ');
  return [
    s('unterminated', '=?utf-8?B?SGVsbG8'),
    s('unknown-charset', '=?x-hostile?Q?caf=E9?= and =?utf-99?B?SGk=?='),
    s('invalid-base64', '=?utf-8?B?!!!***???=?='),
    s('invalid-q', '=?utf-8?Q?=ZZ=G=?='),
    s('10000-adjacent', many),
    s('characters-split-across-words', split),
    s('decodes-to-encoded-word', `=?utf-8?B?${Buffer.from('=?utf-8?B?SGVsbG8=?=').toString('base64')}?=`),
    s('nul-and-crlf-injection', '=?utf-8?Q?a=00b=0D=0ABcc:_evil@attacker.example?='),
    s('language-tag', '=?utf-8*en-US?Q?tagged?= =?utf-8*?Q?empty_tag?='),
    s('empty-encoded-text', '=?utf-8?B??= =?utf-8?Q??='),
    s('invalid-encoding-letter', '=?utf-8?X?abc?= =?utf-8??abc?='),
    s('100k-encoded-word', `=?utf-8?B?${Buffer.from('x'.repeat(75_000)).toString('base64')}?=`),
    s('utf-16-lone-surrogate', '=?utf-16be?B?2AA=?= =?utf-16le?B?ANw=?='),
    [
      'display-name-with-address-inside',
      message('encoded-words/display-name-with-address-inside', [`From: =?utf-8?Q?ceo@contoso.example_<ceo@contoso.example>?= <attacker@evil.example>`], 'body\r\n'),
    ],
    ['in-filename-parameter', message('encoded-words/in-filename-parameter', ['Content-Type: multipart/mixed; boundary="ew"'], multipart('ew', [attachmentPart('=?utf-8?B?w6nDqcOp?=.txt', Buffer.from('x')), attachmentPart('=?utf-16be?B?2AA=?=.bin', Buffer.from('y'))]))],
  ];
}

function rfc2231(): Variant[] {
  const a = (variant: string, disposition: string, contentType = 'application/octet-stream') =>
    [variant, message(`rfc2231/${variant}`, ['Content-Type: multipart/mixed; boundary="p"'], multipart('p', [textPart('see attachment'), [[`Content-Type: ${contentType}`, `Content-Disposition: ${disposition}`, 'Content-Transfer-Encoding: base64'], 'aG9zdGlsZQ==']]))] as Variant;
  const continuations = (n: number) => Array.from({ length: n }, (_, i) => `filename*${i}*=%41${i}`).join(';\r\n ');
  return [
    a('10000-continuations', `attachment; ${continuations(10_000)}`),
    a('continuation-gaps', "attachment; filename*0=start; filename*5=middle; filename*99=end"),
    a('huge-indices', 'attachment; filename*0=a; filename*4294967296=b; filename*1e30=c; filename*99999999999999999999=d'),
    a('negative-index', 'attachment; filename*-1=neg; filename*0=zero'),
    a('unknown-charset', "attachment; filename*=x-hostile''%E9t%E9.txt"),
    a('invalid-percent-escapes', "attachment; filename*=utf-8''%ZZ%%41%G0%"),
    a('missing-charset-quotes', 'attachment; filename*=no-quotes%20here.txt'),
    a('plain-and-extended', "attachment; filename=plain.txt; filename*=utf-8''extended.txt; filename*0*=utf-8''cont; filename*1=inued"),
    a('duplicate-parameters', 'attachment; filename=a.txt; filename=b.txt; FILENAME=c.txt'),
    a('parameter-without-value', 'attachment; filename; size=; =orphan'),
    a('100k-parameter-value', `attachment; filename="${'v'.repeat(100_000)}"`),
    a('utf-16-lone-surrogate', "attachment; filename*=utf-16be''%D8%00%00a"),
    a('path-traversal-and-controls', "attachment; filename*=utf-8''..%2F..%2F..%2Fetc%2Fpasswd%00%0D%0A.txt"),
    a('charset-on-every-continuation', "attachment; filename*0*=utf-8'en'%C3%A9; filename*1*=iso-8859-1'de'%E9; filename*2*=''x"),
    a('language-only', "attachment; filename*='en'"),
  ];
}

function contentTypes(random: () => number): Variant[] {
  const m = (variant: string, extra: string[], body: string) => [variant, message(`content-types/${variant}`, extra, body)] as Variant;
  const attached = (variant: string, partHeaders: string[], body: string) =>
    m(variant, ['Content-Type: multipart/mixed; boundary="ct"'], multipart('ct', [textPart('see part'), [partHeaders, body]]));
  return [
    m('missing-subtype-text', ['Content-Type: text'], 'body'),
    m('missing-subtype-multipart', ['Content-Type: multipart; boundary="ms"'], multipart('ms', [textPart('a')])),
    m('missing-type', ['Content-Type: /plain'], 'body'),
    m('empty-content-type', ['Content-Type:'], 'body'),
    m('only-semicolons', ['Content-Type: ;;;;;'], 'body'),
    m('1000-parameters', [`Content-Type: text/plain; ${Array.from({ length: 1000 }, (_, i) => `p${i}=v${i}`).join('; ')}`], 'body'),
    m('duplicate-content-types', ['Content-Type: text/plain', 'Content-Type: multipart/mixed; boundary="dup"'], multipart('dup', [textPart('which one?')])),
    attached('rfc822-garbage', ['Content-Type: message/rfc822'], randomBytes(random, 500).toString('latin1')),
    attached('message-partial', ['Content-Type: message/partial; id="abc@x"; number=2; total=3'], lines('Subject: part 2', '', 'fragment')),
    attached('message-external-body', ['Content-Type: message/external-body; access-type=URL; URL="file:///etc/passwd"'], lines('Content-Type: text/plain', '', '')),
    m('digest-with-non-messages', ['Content-Type: multipart/digest; boundary="dg"'], multipart('dg', [[[], 'not a message'], [['Content-Type: text/plain'], 'plain in digest']])),
    attached('delivery-status-garbage', ['Content-Type: message/delivery-status'], lines('Reporting-MTA dns; x', 'Action:', '', '\x00\xff')),
    m('html-100k-nested-divs', ['Content-Type: text/html'], `${'<div>'.repeat(100_000)}deep${'</div>'.repeat(100_000)}`),
    attached('tnef-junk', ['Content-Type: application/ms-tnef; name="winmail.dat"', 'Content-Transfer-Encoding: base64'], base64Lines(bytes('\x78\x9f\x3e\x22', randomBytes(random, 300)))),
    attached('calendar-broken', ['Content-Type: text/calendar; method=REQUEST; charset=utf-8'], lines('BEGIN:VCALENDAR', 'BEGIN:VEVENT', `DTSTART:${'9'.repeat(1000)}`, 'SUMMARY:unterminated')),
    attached('filename-dot-segments', ['Content-Type: application/octet-stream', 'Content-Disposition: attachment; filename=".."'], 'x'),
    attached('filename-trailing-dot-slash', ['Content-Type: application/octet-stream', 'Content-Disposition: attachment; filename="report./"'], 'x'),
    attached('filename-rtl-override', ['Content-Type: application/octet-stream', `Content-Disposition: attachment; filename="${utf8('invoice\u202Efdp.exe')}"`], 'x'),
    attached('filename-10k', ['Content-Type: application/octet-stream', `Content-Disposition: attachment; filename="${'f'.repeat(10_000)}.pdf"`], 'x'),
    attached('filename-astral-across-200', ['Content-Type: application/octet-stream', `Content-Disposition: attachment; filename="${'a'.repeat(199)}${utf8('\u{1F600}')}.pdf"`], 'x'),
    attached('control-character-in-type', ['Content-Type: application/p\x01df', 'Content-Disposition: attachment; filename="ctl.pdf"'], 'x'),
    attached('8bit-in-type', [utf8('Content-Type: application/pdf\u00e9\u4e2d'), 'Content-Disposition: attachment; filename="8bit.pdf"'], 'x'),
    attached('filename-only-unicode-specials', ['Content-Type: application/octet-stream', `Content-Disposition: attachment; filename="${utf8('\uFEFF\uFFFE\uFFFF\u0000\u2028')}"`], 'x'),
  ];
}

/** Seeded random edits of a well-formed rich message: truncations, insertions, flips, line shuffles. */
function mutations(random: () => number): Variant[] {
  const base = richMessage('mutations', random);
  const junk = [0x00, 0x0d, 0x0a, 0x2d, 0x3d, 0x3f, 0x22, 0x3b, 0xff, 0x80];
  const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)]!;
  const out: Variant[] = [];
  for (let i = 0; i < 10; i++) out.push([`truncate-${i}`, Buffer.from(base.subarray(0, Math.floor(random() * base.length)))]);
  for (let i = 0; i < 10; i++) {
    let raw = base;
    for (let k = 0; k < 20; k++) {
      const at = Math.floor(random() * raw.length);
      raw = Buffer.concat([raw.subarray(0, at), Buffer.from([pick(junk), pick(junk)]), raw.subarray(at)]);
    }
    out.push([`insert-${i}`, raw]);
  }
  for (let i = 0; i < 10; i++) {
    const raw = Buffer.from(base);
    for (let k = 0; k < 40; k++) raw[Math.floor(random() * raw.length)] = Math.floor(random() * 256);
    out.push([`flip-${i}`, raw]);
  }
  for (let i = 0; i < 10; i++) {
    const ls = base.toString('latin1').split('\r\n');
    for (let k = 0; k < 5; k++) {
      const from = Math.floor(random() * ls.length);
      const count = 1 + Math.floor(random() * 6);
      if (random() < 0.5) ls.splice(from, count);
      else ls.splice(Math.floor(random() * ls.length), 0, ...ls.slice(from, from + count));
    }
    out.push([`lines-${i}`, bytes(ls.join('\r\n'))]);
  }
  return out;
}

/**
 * The generated hostile set: at least 200 messages, the same bytes for the same
 * seed. Each category draws from its own stream, so adding a variant to one
 * category leaves the others' bytes alone.
 */
export function hostileMessages(seed = HOSTILE_SEED): HostileMessage[] {
  const stream = (n: number) => prng(seed ^ Math.imul(n + 1, 0x9e3779b1));
  const categories: [HostileCategory, Variant[]][] = [
    ['boundaries', boundaries()],
    ['nesting', nesting()],
    ['many-parts', manyParts(stream(2))],
    ['headers', headers()],
    ['charsets', charsets()],
    ['transfer-encodings', transferEncodings(stream(5))],
    ['8bit-and-nul', eightBitAndNul()],
    ['truncated', truncated(stream(7))],
    ['degenerate', degenerate()],
    ['line-endings', lineEndings(stream(9))],
    ['long-lines', longLines(stream(10))],
    ['recipients', recipients()],
    ['encoded-words', encodedWords()],
    ['rfc2231', rfc2231()],
    ['content-types', contentTypes(stream(14))],
    ['mutations', mutations(stream(15))],
  ];
  return categories.flatMap(([category, variants]) => variants.map(([variant, raw]) => ({ name: `${category}/${variant}`, category, raw })));
}

/** An ordinary message, placed behind hostile ones: it must always be handed off, unchanged. */
export function sentinelMessage(index: number): { raw: Buffer; subject: string; text: string; messageId: string } {
  const subject = `sentinel ${index}: ordinary mail behind a hostile one`;
  const text = `Sentinel ${index}.\nIt must reach the queue whatever came before it.\n`;
  const messageId = `<sentinel-${index}@contoso.example>`;
  const raw = bytes(
    lines(
      'From: Alice Example <alice@example.com>',
      'To: invoices@contoso.example',
      `Subject: ${subject}`,
      'Date: Fri, 20 Nov 2026 08:00:00 +0000',
      `Message-ID: ${messageId}`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      text.replace(/\n/g, '\r\n'),
    ),
  );
  return { raw, subject, text, messageId };
}

/** One MIME base64 line: 57 bytes of data, 76 characters and CRLF. */
const LINE_DATA = 57;
const LINE_BYTES = 78;

/**
 * A message of exactly `totalBytes` bytes (CRLF lines) with one base64 attachment
 * of seeded random data: the message too large to parse. Deterministic, so a test
 * can regenerate it to compare bytes instead of holding a copy.
 */
export function largeAttachmentMessage(totalBytes: number, seed = HOSTILE_SEED): Buffer {
  const head = bytes(
    lines(
      ...envelope('large/attachment'),
      'Content-Type: multipart/mixed; boundary="large-boundary"',
      '',
      '--large-boundary',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'A large attachment follows.',
      '--large-boundary',
      'Content-Type: application/octet-stream; name="large.bin"',
      'Content-Transfer-Encoding: base64',
      'Content-Disposition: attachment; filename="large.bin"',
      '',
      '',
    ),
  );
  const tail = bytes('--large-boundary--\r\n');
  const bodyBytes = totalBytes - head.length - tail.length;
  if (bodyBytes < LINE_BYTES) throw new Error(`largeAttachmentMessage needs more than ${head.length + tail.length + LINE_BYTES} bytes`);
  const out = Buffer.allocUnsafe(totalBytes);
  head.copy(out, 0);
  const random = prng(seed);
  const data = Buffer.alloc(LINE_DATA);
  let at = head.length;
  let fullLines = Math.floor(bodyBytes / LINE_BYTES);
  // A remainder of one byte cannot hold a line break: take one line less and pad a longer last line instead.
  if (bodyBytes - fullLines * LINE_BYTES === 1) fullLines--;
  for (let i = 0; i < fullLines; i++) {
    for (let k = 0; k < LINE_DATA; k += 3) data.writeUIntBE(Math.floor(random() * 0x1000000), k, 3);
    at += out.write(data.toString('base64'), at, 'latin1');
    at += out.write('\r\n', at, 'latin1');
  }
  // The remainder: a last line of spaces (ignored in base64 bodies), so the message has exactly totalBytes.
  const rest = bodyBytes - fullLines * LINE_BYTES;
  if (rest > 0) {
    out.fill(0x20, at, at + rest - 2);
    out.write('\r\n', at + rest - 2, 'latin1');
  }
  at += rest;
  tail.copy(out, at);
  return out;
}
