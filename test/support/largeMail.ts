/**
 * Large generated messages for the stream-parsing tests, each built to reach a
 * different path: bodies over INLINE_BODY_LIMIT in both kinds and charsets,
 * several text parts joined into one body, embedded messages (whose headers
 * mailparser writes into the bodies), attachments of every encoding.
 * `streamOf` yields a message without ever holding it whole.
 */
import { Readable } from 'node:stream';
import { prng } from './prng.js';
import { STREAM_CHUNK_BYTES } from '../../shared/mailbox/streamMessage.js';

const CRLF = '\r\n';
const head = (subject: string, contentType: string, extra: string[] = []) =>
  [
    'From: "Large, Sender" <large@fabrikam.example>',
    'To: invoices@contoso.example, Team: a@contoso.example, b@contoso.example;',
    `Subject: ${subject}`,
    'Date: Fri, 20 Nov 2026 08:00:00 +0000',
    `Message-ID: <${subject.replace(/\W+/g, '-')}@fabrikam.example>`,
    'References: <r1@fabrikam.example> <r2@fabrikam.example>',
    'MIME-Version: 1.0',
    `Content-Type: ${contentType}`,
    ...extra,
    '',
    '',
  ].join(CRLF);

/** `bytes` of base64 lines of seeded random data. */
function base64Lines(bytes: number, seed: number): string {
  const random = prng(seed);
  const data = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) data[i] = Math.floor(random() * 256);
  return data.toString('base64').replace(/.{76}/g, `$&${CRLF}`);
}

/** Control characters (every C0 but CR and LF, and DEL), in lines of `width`. */
function controls(bytes: number, width = 998): string {
  let line = '';
  for (let i = 0; line.length < width; i++) {
    const c = i % 33 === 32 ? 0x7f : i % 33;
    if (c !== 0x0a && c !== 0x0d) line += String.fromCharCode(c);
  }
  return `${line}${CRLF}`.repeat(Math.ceil(bytes / (width + 2)));
}

export interface LargeMail {
  name: string;
  raw: Buffer;
}

/** The generated large messages (a few MiB each). */
export function largeMessages(): LargeMail[] {
  const utf8Text = 'Grüße, ½ € — 日本語 🎉 '.repeat(40_000);
  const latin1 = Buffer.from(`Gr\xfc\xdfe aus K\xf6ln. `.repeat(60_000), 'latin1');
  const mail = (name: string, text: string | Buffer) => ({ name, raw: Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8') });
  return [
    mail('control characters, 3 MiB text/plain', head('controls', 'text/plain; charset=utf-8') + controls(3 * 1024 * 1024)),
    mail('utf-8 text, quoted-printable, over the limit', head('qp', 'text/plain; charset=utf-8', ['Content-Transfer-Encoding: quoted-printable']) +
      Buffer.from(utf8Text, 'utf8').toString('latin1').replace(/[^\x20-\x7e]/g, (c) => `=${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`).replace(/.{72}/g, `$&=${CRLF}`)),
    mail('utf-8 text, base64, over the limit', head('b64', 'text/plain; charset=utf-8', ['Content-Transfer-Encoding: base64']) +
      Buffer.from(utf8Text, 'utf8').toString('base64').replace(/.{76}/g, `$&${CRLF}`)),
    {
      name: 'latin1 text, 8bit, over the limit',
      raw: Buffer.concat([Buffer.from(head('latin1', 'text/plain; charset=iso-8859-1', ['Content-Transfer-Encoding: 8bit'])), latin1]),
    },
    {
      name: 'invalid utf-8 bytes split everywhere',
      raw: Buffer.concat([
        Buffer.from(head('invalid utf-8', 'text/plain; charset=utf-8', ['Content-Transfer-Encoding: 8bit'])),
        Buffer.from(Array.from({ length: 600_000 }, (_, i) => [0xe2, 0x82, 0xac, 0xe2, 0x82, 0x41, 0xf0, 0x9f, 0x0d, 0x0a, 0xc3, 0xed, 0xa0, 0x80][i % 14]!)),
      ]),
    },
    mail('flowed text over the limit', head('flowed', 'text/plain; charset=utf-8; format=flowed; delsp=yes') + 'flowed line that goes on \r\n'.repeat(20_000)),
    mail('html over the limit, alternative with small text', head('alt', 'multipart/alternative; boundary="alt"') +
      ['--alt', 'Content-Type: text/plain; charset=utf-8', '', 'short text', '--alt', 'Content-Type: text/html; charset=utf-8', '',
        `<html><body>${'<p>para &amp; more</p>\r\n'.repeat(30_000)}</body></html>`, '--alt--', ''].join(CRLF)),
    mail('mixed: two text parts and two html parts, both bodies over the limit, attachments between', head('mixed', 'multipart/mixed; boundary="mix"') +
      ['--mix', 'Content-Type: text/plain; charset=utf-8', '', 'a'.repeat(200_000), '--mix', 'Content-Type: text/html', '', '<b>h1</b>'.repeat(20_000),
        '--mix', 'Content-Type: application/pdf; name="a.pdf"', 'Content-Transfer-Encoding: base64', 'Content-Disposition: attachment; filename="a.pdf"', '', base64Lines(1_500_000, 1),
        '--mix', 'Content-Type: text/plain; charset=utf-8', '', 'b'.repeat(200_000), '--mix', 'Content-Type: image/png', 'Content-ID: <img1@x>', 'Content-Transfer-Encoding: base64', 'Content-Disposition: inline', '', base64Lines(300_000, 2),
        '--mix', 'Content-Type: text/html', '', '<i>h2</i>'.repeat(20_000), '--mix', 'Content-Type: text/plain', '', '', '--mix--', ''].join(CRLF)),
    mail('embedded messages: their headers go into both bodies', head('embedded', 'multipart/mixed; boundary="outer"') +
      ['--outer', 'Content-Type: text/plain', '', 'see the forwarded messages', '--outer', 'Content-Type: message/rfc822', '',
        head('inner one', 'text/html') + '<p>inner html</p>'.repeat(20_000), '--outer', 'Content-Type: message/rfc822', '',
        'From: Nobody <n@x>\r\nSubject: inner two\r\nDate: Sat, 21 Nov 2026 09:00:00 +0100\r\n\r\n' + 'inner text\r\n'.repeat(30_000), '--outer',
        'Content-Type: message/rfc822', 'Content-Disposition: attachment; filename="fwd.eml"', '', head('attached message', 'text/plain') + 'attached\r\n', '--outer--', ''].join(CRLF)),
    mail('html only, single part, over the limit', head('html only', 'text/html; charset=utf-8') + '<div>x</div>\r\n'.repeat(40_000)),
    mail('attachments only, large', head('attachments', 'multipart/mixed; boundary="att"') +
      ['--att', 'Content-Type: application/octet-stream; name="one.bin"', 'Content-Transfer-Encoding: base64', '', base64Lines(3_000_000, 3),
        '--att', 'Content-Type: application/zip', 'Content-Disposition: attachment; filename*=utf-8\'\'%C3%BCber.zip', 'Content-Transfer-Encoding: base64', '', base64Lines(1_000_000, 4),
        '--att', 'Content-Type: text/csv; charset=utf-8', 'Content-Disposition: attachment; filename="rows.csv"', '', 'a,b,c\r\n'.repeat(100_000), '--att--', ''].join(CRLF)),
  ];
}

/**
 * A message of about `totalBytes`, generated as it is read: a `bodyBytes` text
 * body of control characters, then base64 attachments of 8 MiB of random data
 * each up to the size. Never in memory whole.
 */
export function streamOf(totalBytes: number, bodyBytes: number): Readable {
  const header = head('streamed large', 'multipart/mixed; boundary="big"');
  const piece = (text: string) => Buffer.from(text, 'latin1');
  const line = controls(1000).slice(0, 1000);
  return Readable.from(
    (function* () {
      let sent = 0;
      const give = (b: Buffer) => {
        sent += b.length;
        return b;
      };
      const gen = generate();
      // In the pieces Mailbox.stream delivers.
      for (const big of gen) for (let at = 0; at < big.length; at += STREAM_CHUNK_BYTES) yield big.subarray(at, at + STREAM_CHUNK_BYTES);
      function* generate() {
      yield give(piece(`${header}--big\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n`));
      for (let body = 0; body < bodyBytes; body += line.length) yield give(piece(line));
      // Attachments of up to 8 MiB, each in base64 pieces of 1 MiB of data (about 1.35 MiB encoded).
      const pieceBytes = Math.ceil((1024 * 1024) / 57) * 78;
      for (let n = 0; sent + pieceBytes + 256 < totalBytes; n++) {
        yield give(piece(`\r\n--big\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="part${n}.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n`));
        for (let i = 0; i < 8 && sent + pieceBytes + 256 < totalBytes; i++) yield give(piece(base64Lines(1024 * 1024, n * 8 + i)));
      }
      yield give(piece('\r\n--big--\r\n'));
      }
    })(),
    { objectMode: false },
  );
}
