/**
 * Parses a raw MIME message with mailparser into the fields the queue message
 * carries, attachments with their bytes.
 *
 * Bodies are kept "as parsed": mailparser's conversions (text from html, html
 * from text, linkified links) are off, because they invent content the sender
 * did not send and cost time on hostile input.
 */
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import type { Address } from '../contract/queueMessage.js';

export interface ParsedAttachment {
  filename: string | null;
  contentType: string;
  contentId: string | null;
  inline: boolean;
  content: Buffer;
}

export interface ParsedMessage {
  messageId: string | null;
  date: string | null;
  subject: string | null;
  from: Address[];
  to: Address[];
  cc: Address[];
  replyTo: Address[];
  inReplyTo: string | null;
  references: string[];
  text: string | null;
  html: string | null;
  attachments: ParsedAttachment[];
}

export class ParseError extends Error {
  override readonly name = 'ParseError';
}


/**
 * What we ask of mailparser, in both ways of parsing (here, and streamed in
 * parseMessageStream.ts): no conversions between text and html, no links made.
 */
export const PARSER_OPTIONS = {
  skipHtmlToText: true,
  skipTextToHtml: true,
  skipTextLinks: true,
  skipImageLinks: true,
} as const;

/** Parses `raw`; throws ParseError when mailparser cannot make sense of it. */
export async function parseMessage(raw: Buffer): Promise<ParsedMessage> {
  let mail: ParsedMail;
  try {
    mail = await simpleParser(raw, PARSER_OPTIONS);
  } catch (error) {
    throw new ParseError(`mailparser could not parse the message: ${(error as Error).message}`, { cause: error });
  }

  return {
    ...headerFields(mail),
    // mailparser reports a missing text part as ''; consumers get null for "no text".
    text: mail.text || null,
    html: typeof mail.html === 'string' && mail.html !== '' ? mail.html : null,
    attachments: mail.attachments.map((a) => ({ ...attachmentFields(a), content: a.content })),
  };
}

/** The header fields of the queue message, from what simpleParser (or the same steps on a streaming MailParser) made of the top-level headers. */
export type HeaderSource = Pick<ParsedMail, 'messageId' | 'subject' | 'from' | 'to' | 'cc' | 'replyTo' | 'inReplyTo' | 'references' | 'headerLines'>;
export type HeaderFields = Omit<ParsedMessage, 'text' | 'html' | 'attachments'>;

export function headerFields(mail: HeaderSource): HeaderFields {
  return {
    messageId: mail.messageId ?? null,
    date: headerDate(mail),
    subject: mail.subject ?? null,
    from: addresses(mail.from),
    to: addresses(mail.to),
    cc: addresses(mail.cc),
    replyTo: addresses(mail.replyTo),
    inReplyTo: mail.inReplyTo ?? null,
    references: typeof mail.references === 'string' ? [mail.references] : (mail.references ?? []),
  };
}

/** What the queue message says of an attachment, from mailparser's attachment (buffered or streamed). */
export function attachmentFields(a: { filename?: string; contentType: string; contentId?: string; contentDisposition?: string }): Omit<ParsedAttachment, 'content'> {
  return {
    filename: a.filename === undefined ? null : wellFormed(a.filename),
    contentType: storableContentType(a.contentType),
    contentId: a.contentId ? a.contentId.replace(/^<|>$/g, '') : null,
    inline: a.contentDisposition === 'inline',
  };
}

/**
 * The Date header, ISO 8601; null when absent or unreadable. mailparser puts
 * the time of parsing in place of a Date it cannot read, which would give the
 * message the drain's clock as its date, a different one on every re-delivery;
 * so the header is read here as mailparser reads it (the last Date header,
 * unfolded, through Date), keeping its failure.
 */
function headerDate(mail: Pick<ParsedMail, 'headerLines'>): string | null {
  const line = mail.headerLines.filter((h) => h.key === 'date').at(-1)?.line;
  if (line === undefined) return null;
  const date = new Date(line.slice(line.indexOf(':') + 1).replace(/(?:\r?\n|\r)[ \t]*/g, ' ').trim());
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/**
 * An attachment's content type becomes its blob's Content-Type header in
 * Storage, and HTTP refuses a header value with a NUL, a line break or another
 * control character. mailparser passes on what the sender wrote, so a mangled
 * Content-Type would fail the message's hand-off on every run. A content type
 * of anything but visible ASCII is no content type: it is stored as what it then
 * is to us, application/octet-stream (RFC 2046 4.5.1). Any other value is kept
 * as parsed, even without a subtype.
 */
const STORABLE_CONTENT_TYPE = /^[\x21-\x7e]+$/;

function storableContentType(contentType: string): string {
  return STORABLE_CONTENT_TYPE.test(contentType) ? contentType : 'application/octet-stream';
}

/**
 * A filename decoded from UTF-16 (RFC 2231 `filename*=utf-16be''%D8%00`, or an
 * encoded word) can hold a lone surrogate, which no URL can percent-encode: the
 * attachment's blob name would throw on every run. Lone surrogates become
 * U+FFFD, as a UTF-8 decoder makes of invalid bytes; well-formed names are untouched.
 */
function wellFormed(text: string): string {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/** Flattens address headers and groups into { name, address } pairs. */
function addresses(header: AddressObject | AddressObject[] | undefined): Address[] {
  const objects = header === undefined ? [] : Array.isArray(header) ? header : [header];
  return objects.flatMap((object) =>
    object.value.flatMap((entry) =>
      entry.group ? entry.group.map((m) => ({ name: m.name ?? '', address: m.address ?? '' })) : [{ name: entry.name ?? '', address: entry.address ?? '' }],
    ),
  );
}
