/**
 * Parses a raw MIME message with mailparser into the fields the queue message
 * carries, attachments with their bytes.
 *
 * Bodies are kept "as parsed": mailparser's conversions (text from html, html
 * from text, linkified links) are off, because they invent content the sender
 * did not send and cost time on hostile input.
 */
import { createHash } from 'node:crypto';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import type { Address } from './queueMessage.js';

export interface ParsedAttachment {
  filename: string | null;
  contentType: string;
  contentId: string | null;
  inline: boolean;
  content: Buffer;
  sha256: string;
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

export function sha256(content: Buffer | string): string {
  return createHash('sha256').update(content).digest('hex');
}

/** Parses `raw`; throws ParseError when mailparser cannot make sense of it. */
export async function parseMessage(raw: Buffer): Promise<ParsedMessage> {
  let mail: ParsedMail;
  try {
    mail = await simpleParser(raw, {
      skipHtmlToText: true,
      skipTextToHtml: true,
      skipTextLinks: true,
      skipImageLinks: true,
    });
  } catch (error) {
    throw new ParseError(`mailparser could not parse the message: ${(error as Error).message}`, { cause: error });
  }

  return {
    messageId: mail.messageId ?? null,
    date: mail.date && !Number.isNaN(mail.date.getTime()) ? mail.date.toISOString() : null,
    subject: mail.subject ?? null,
    from: addresses(mail.from),
    to: addresses(mail.to),
    cc: addresses(mail.cc),
    replyTo: addresses(mail.replyTo),
    inReplyTo: mail.inReplyTo ?? null,
    references: typeof mail.references === 'string' ? [mail.references] : (mail.references ?? []),
    // mailparser reports a missing text part as ''; consumers get null for "no text".
    text: mail.text || null,
    html: typeof mail.html === 'string' && mail.html !== '' ? mail.html : null,
    attachments: mail.attachments.map((a) => ({
      filename: a.filename ?? null,
      contentType: a.contentType,
      contentId: a.contentId ? a.contentId.replace(/^<|>$/g, '') : null,
      inline: a.contentDisposition === 'inline',
      content: a.content,
      sha256: sha256(a.content),
    })),
  };
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
