/** parseMessage on small inline messages: headers, bodies as sent, attachments, and what mailparser refuses. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMessage, ParseError } from '../../../shared/mailbox/parseMessage.js';

/** A message as written here, with the CRLF line ends of RFC 5322; latin1 keeps every byte as written. */
const mime = (text: string) => Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'latin1');

test('headers: Message-ID, Date, subject and every address header, groups flattened into their members', async () => {
  const parsed = await parseMessage(
    mime(`Message-ID: <m1@fabrikam.com>
Date: Fri, 02 Jan 2026 03:04:05 +0100
From: Fabrikam Billing <billing@fabrikam.com>
To: invoices@contoso.com, "Doe, Jane" <jane@contoso.com>
Cc: Accounts: a@contoso.com, b@contoso.com;
Reply-To: <noreply@fabrikam.com>
In-Reply-To: <q1@contoso.com>
References: <q0@contoso.com> <q1@contoso.com>
Subject: Invoice 1001

Please find the invoice attached.
`),
  );
  assert.equal(parsed.messageId, '<m1@fabrikam.com>');
  assert.equal(parsed.date, '2026-01-02T02:04:05.000Z');
  assert.equal(parsed.subject, 'Invoice 1001');
  assert.deepEqual(parsed.from, [{ name: 'Fabrikam Billing', address: 'billing@fabrikam.com' }]);
  assert.deepEqual(parsed.to, [
    { name: '', address: 'invoices@contoso.com' },
    { name: 'Doe, Jane', address: 'jane@contoso.com' },
  ]);
  assert.deepEqual(parsed.cc, [
    { name: '', address: 'a@contoso.com' },
    { name: '', address: 'b@contoso.com' },
  ]);
  assert.deepEqual(parsed.replyTo, [{ name: '', address: 'noreply@fabrikam.com' }]);
  assert.equal(parsed.inReplyTo, '<q1@contoso.com>');
  assert.deepEqual(parsed.references, ['<q0@contoso.com>', '<q1@contoso.com>']);
  assert.equal(parsed.text, 'Please find the invoice attached.\n');
  assert.equal(parsed.html, null);
  assert.deepEqual(parsed.attachments, []);
});

test('a single References entry is still a list', async () => {
  assert.deepEqual((await parseMessage(mime('References: <q0@contoso.com>\nSubject: x\n\nbody\n'))).references, ['<q0@contoso.com>']);
});

test('RFC 2047 encoded words in the subject and a display name are decoded, adjacent words joined', async () => {
  const parsed = await parseMessage(
    mime(`From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <jm@example.de>
Subject: =?UTF-8?B?UmVjaG51bmcgZsO8cg==?= =?ISO-8859-1?Q?_M=E4rz?=

x
`),
  );
  assert.equal(parsed.subject, 'Rechnung für März');
  assert.deepEqual(parsed.from, [{ name: 'Jürgen Müller', address: 'jm@example.de' }]);
});

test('multipart/alternative: text and html both kept, each as sent', async () => {
  const parsed = await parseMessage(
    mime(`Subject: both
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8

Hello, see https://example.com
--alt
Content-Type: text/html; charset=utf-8

<p>Hello</p>
--alt--
`),
  );
  assert.equal(parsed.text, 'Hello, see https://example.com');
  assert.equal(parsed.html, '<p>Hello</p>');
});

test('bodies are not converted: html alone gives no text, text alone gives no html and no links', async () => {
  const htmlOnly = await parseMessage(mime('Content-Type: text/html\n\n<p>Hello <a href="https://x.example">x</a></p>'));
  assert.equal(htmlOnly.text, null);
  assert.equal(htmlOnly.html, '<p>Hello <a href="https://x.example">x</a></p>');
  const textOnly = await parseMessage(mime('Content-Type: text/plain\n\nsee https://example.com now'));
  assert.equal(textOnly.text, 'see https://example.com now');
  assert.equal(textOnly.html, null);
});

test('attachments: bytes decoded, with size, content type, file name, Content-ID without brackets, and inline or not', async () => {
  const pdf = Buffer.from('%PDF-1.4 fake invoice\n', 'latin1');
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 1, 2, 255]);
  const parsed = await parseMessage(
    mime(`Subject: with attachments
Content-Type: multipart/mixed; boundary="mix"

--mix
Content-Type: text/plain

See attached.
--mix
Content-Type: application/pdf; name="invoice-1001.pdf"
Content-Disposition: attachment; filename="invoice-1001.pdf"
Content-Transfer-Encoding: base64

${pdf.toString('base64')}
--mix
Content-Type: image/png
Content-Disposition: inline; filename="logo.png"
Content-ID: <logo@fabrikam.com>
Content-Transfer-Encoding: base64

${png.toString('base64')}
--mix--
`),
  );
  assert.equal(parsed.text, 'See attached.');
  const [invoice, logo] = parsed.attachments;
  assert.equal(parsed.attachments.length, 2);
  assert.deepEqual({ ...invoice!, content: invoice!.content.toString('latin1') }, {
    filename: 'invoice-1001.pdf',
    contentType: 'application/pdf',
    contentId: null,
    inline: false,
    content: pdf.toString('latin1'),
  });
  assert.equal(invoice!.content.length, pdf.length);
  assert.deepEqual(logo!.content, png);
  assert.equal(logo!.filename, 'logo.png');
  assert.equal(logo!.contentType, 'image/png');
  assert.equal(logo!.contentId, 'logo@fabrikam.com');
  assert.equal(logo!.inline, true);
});

test('an attachment without a file name has filename null; one with a control character in its type is application/octet-stream', async () => {
  const parsed = await parseMessage(
    mime(`Content-Type: multipart/mixed; boundary=b

--b
Content-Type: application/x-custom
Content-Disposition: attachment

abc
--b
Content-Type: application/pdf\x01x
Content-Disposition: attachment; filename=ctl.pdf

def
--b
Content-Type: application
Content-Disposition: attachment; filename=nosubtype

ghi
--b--
`),
  );
  assert.deepEqual(
    parsed.attachments.map((a) => [a.filename, a.contentType, a.content.toString()]),
    [
      [null, 'application/x-custom', 'abc'],
      ['ctl.pdf', 'application/octet-stream', 'def'],
      ['nosubtype', 'application', 'ghi'],
    ],
  );
});

test('a file name decoded from UTF-16 with a lone surrogate has U+FFFD in its place', async () => {
  const parsed = await parseMessage(
    mime(`Content-Type: multipart/mixed; boundary=b

--b
Content-Type: application/octet-stream
Content-Disposition: attachment; filename*=utf-16be''%D8%00%00a

abc
--b--
`),
  );
  assert.equal(parsed.attachments[0]!.filename, '\uFFFDa');
});

test('a message with headers and no body: no text, no html, no attachments', async () => {
  const parsed = await parseMessage(mime('Subject: empty\nFrom: a@example.com\n\n'));
  assert.equal(parsed.subject, 'empty');
  assert.equal(parsed.text, null);
  assert.equal(parsed.html, null);
  assert.deepEqual(parsed.attachments, []);
});

test('absent headers are null or empty, not invented', async () => {
  const parsed = await parseMessage(mime('\nbody only\n'));
  assert.deepEqual(
    { ...parsed, text: null },
    { messageId: null, date: null, subject: null, from: [], to: [], cc: [], replyTo: [], inReplyTo: null, references: [], text: null, html: null, attachments: [] },
  );
});

test('an unreadable Date header became the time of parsing; it is null, as the contract says', async () => {
  // mailparser replaces a Date it cannot read with new Date(): consumers got the drain's clock as the
  // message's date, a different one on every re-delivery.
  for (const header of ['Date: not a date', 'Date:', 'Date: 32 Foo 2026 99:99:99 +0000']) {
    const parsed = await parseMessage(mime(`${header}\nSubject: x\n\nbody\n`));
    assert.equal(parsed.date, null, header);
  }
});

test('the Date header mailparser reads, the last of several, folded or not, is the date', async () => {
  assert.equal((await parseMessage(mime('Date: Fri, 02 Jan 2026\n 03:04:05 +0000\n\nx'))).date, '2026-01-02T03:04:05.000Z');
  assert.equal(
    (await parseMessage(mime('Date: Thu, 01 Jan 2026 00:00:00 +0000\nDate: Fri, 02 Jan 2026 00:00:00 +0000\n\nx'))).date,
    '2026-01-02T00:00:00.000Z',
  );
});

test('bytes that are no message at all still parse, to a message with nothing in it: mailparser does not refuse them', async () => {
  const parsed = await parseMessage(Buffer.from([0xff, 0x00, 0x13, 0x37, 0x80, 0x0a, 0x0d, 0x00]));
  assert.equal(parsed.subject, null);
  assert.deepEqual(parsed.from, []);
  assert.deepEqual(parsed.attachments, []);
  assert.equal((await parseMessage(Buffer.alloc(0))).subject, null, 'nor an empty message');
});

test('what mailparser refuses (a header over its 1 MiB limit) is a ParseError, with mailparser\'s error as its cause', async () => {
  const raw = Buffer.from(`Subject: ${'s'.repeat(1100 * 1024)}\r\n\r\nbody`);
  await assert.rejects(parseMessage(raw), (error: unknown) => {
    assert.ok(error instanceof ParseError);
    assert.equal(error.name, 'ParseError');
    assert.match(error.message, /^mailparser could not parse the message: Max header size/);
    assert.ok(error.cause instanceof Error);
    return true;
  });
});
