/**
 * Just enough MIME to write the corpus by hand (RFC 2045-2047), with CRLF line
 * ends as IMAP serves them. Hand-written rather than nodemailer's composer so
 * that every byte, boundaries included, follows from the seed.
 */
const CRLF = '\r\n';
/** RFC 2045: base64 and quoted-printable lines are at most 76 characters. */
const LINE = 76;

/** A header value, as an RFC 2047 encoded word when it is not ASCII. */
export function headerText(text: string): string {
  return /^[\x20-\x7e]*$/.test(text) ? text : `=?UTF-8?B?${Buffer.from(text, 'utf8').toString('base64')}?=`;
}

export function mailbox(person: { name: string; address: string }): string {
  const name = headerText(person.name);
  return `${name === person.name ? `"${name}"` : name} <${person.address}>`;
}

/** Base64 in 76-character lines. */
export function base64Lines(content: Buffer): Buffer {
  const encoded = Buffer.from(content.toString('base64'), 'latin1');
  const lines = Math.ceil(encoded.length / LINE);
  const out = Buffer.allocUnsafe(encoded.length + lines * 2);
  let at = 0;
  for (let i = 0; i < encoded.length; i += LINE) {
    at += encoded.copy(out, at, i, Math.min(i + LINE, encoded.length));
    at += out.write(CRLF, at, 'latin1');
  }
  return out;
}

/** Quoted-printable of UTF-8 text, soft line breaks included. */
export function quotedPrintable(text: string): Buffer {
  const out: string[] = [];
  for (const sourceLine of text.split('\n')) {
    let current = '';
    for (const byte of Buffer.from(sourceLine, 'utf8')) {
      const token = byte === 0x3d || byte > 0x7e || (byte < 0x20 && byte !== 0x09) ? `=${byte.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(byte);
      if (current.length + token.length > LINE - 1) {
        out.push(`${current}=`);
        current = '';
      }
      current += token;
    }
    // RFC 2045 6.7: whitespace at a line's end is encoded.
    out.push(current.replace(/([ \t])$/, (c) => `=${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`));
  }
  return Buffer.from(out.join(CRLF) + CRLF, 'latin1');
}

export type TextEncoding = '7bit' | 'quoted-printable' | 'base64';

/** A text part's headers and body: 7bit only for ASCII text. */
export function textPart(text: string, subtype: 'plain' | 'html', encoding: TextEncoding): Buffer[] {
  const ascii = /^[\x00-\x7f]*$/.test(text);
  const chosen = encoding === '7bit' && !ascii ? 'quoted-printable' : encoding;
  const body =
    chosen === 'base64' ? base64Lines(Buffer.from(text, 'utf8')) : chosen === 'quoted-printable' ? quotedPrintable(text) : Buffer.from(text.replace(/\n/g, CRLF), 'latin1');
  return [Buffer.from(`Content-Type: text/${subtype}; charset=${ascii ? 'us-ascii' : 'utf-8'}${CRLF}Content-Transfer-Encoding: ${chosen}${CRLF}${CRLF}`), body];
}

export function attachmentPart(filename: string, contentType: string, content: Buffer): Buffer[] {
  const name = headerText(filename);
  return [
    Buffer.from(
      `Content-Type: ${contentType}; name="${name}"${CRLF}Content-Disposition: attachment; filename="${name}"${CRLF}` +
        `Content-Transfer-Encoding: base64${CRLF}${CRLF}`,
    ),
    base64Lines(content),
  ];
}

/** A multipart body: its Content-Type header line and the parts between boundaries. */
export function multipart(subtype: 'mixed' | 'alternative', boundary: string, parts: Buffer[][]): Buffer[] {
  const out: Buffer[] = [Buffer.from(`Content-Type: multipart/${subtype}; boundary="${boundary}"${CRLF}${CRLF}This is a multi-part message in MIME format.${CRLF}`)];
  for (const part of parts) out.push(Buffer.from(`--${boundary}${CRLF}`), ...part, Buffer.from(CRLF));
  out.push(Buffer.from(`--${boundary}--${CRLF}`));
  return out;
}

/** The top-level headers (each "Name: value", folded by the caller if long) followed by the body's own headers and body. */
export function message(headers: string[], body: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from(headers.join(CRLF) + CRLF + 'MIME-Version: 1.0' + CRLF), ...body]);
}

export function byteLength(parts: Buffer[]): number {
  return parts.reduce((n, b) => n + b.length, 0);
}
