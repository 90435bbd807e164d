/**
 * The benchmark's mailbox, generated from a seed: by default 2,000 messages of
 * about 335 MB, in the proportions of a shared invoices mailbox:
 *
 *   1,890  text, HTML or both, 5-30 KB
 *     100  with one to three attachments of 192 KiB to 1 MiB
 *       8  of 5-10 MB (a large attachment)
 *       2  of 25-30 MB (two)
 *
 * Any size keeps those proportions (rounded), shuffled by the seed. The single
 * large message is Exchange Online's worst case: 150 MB, a 50 MB text body of
 * control characters (each one six bytes once escaped in JSON) beside a binary attachment.
 */
import { ATTACHMENT_TYPES, attachmentName, binary, choices, dateOf, htmlText, person, plainText, type Choices } from './content.js';
import { attachmentPart, base64Lines, byteLength, headerText, mailbox, message, multipart, textPart, type TextEncoding } from './mime.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Kinds of message and their share of the default 2,000. */
export const PROPORTIONS = { text: 1890, attachments: 100, large: 8, huge: 2 } as const;
export type Kind = keyof typeof PROPORTIONS;
const DEFAULT_TOTAL = 2000;
const INFLATION: Record<TextEncoding, number> = { '7bit': 1, 'quoted-printable': 1.1, base64: 78 / 57 };

/** The single large message's size and its control-character body. */
export const SINGLE_LARGE_BYTES = 150 * MiB;
export const SINGLE_LARGE_BODY_BYTES = 50 * MiB;

/** One generated message: its MIME, and what a consumer would find in it (for the Storage stage). */
export interface BenchMessage {
  index: number;
  kind: Kind | 'single-large';
  raw: Buffer;
  subject: string;
  messageId: string;
  /** The main body: the text, or the HTML when there is no text. */
  body: string;
  attachments: { filename: string; contentType: string; content: Buffer }[];
}

export interface CorpusOptions {
  messages: number;
  seed: number;
  singleLarge: boolean;
  /** The mailbox the messages are addressed to. */
  to: string;
}

/** The kind of each message, in mailbox order: the proportions, rounded, shuffled by the seed. */
export function kindsOf(options: Pick<CorpusOptions, 'messages' | 'seed'>): Kind[] {
  const n = options.messages;
  const count = (kind: Kind) => Math.round((PROPORTIONS[kind] * n) / DEFAULT_TOTAL);
  const [attachments, large, huge] = [count('attachments'), count('large'), count('huge')];
  const kinds: Kind[] = [
    ...Array<Kind>(Math.max(0, n - attachments - large - huge)).fill('text'),
    ...Array<Kind>(attachments).fill('attachments'),
    ...Array<Kind>(large).fill('large'),
    ...Array<Kind>(huge).fill('huge'),
  ];
  const c = choices(options.seed, -1);
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = c.int(0, i);
    [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
  }
  return kinds;
}

/** The corpus, one message at a time (a 50,000-message corpus is 8 GB: never held at once). */
export function* corpus(options: CorpusOptions): Generator<BenchMessage> {
  if (options.singleLarge) {
    yield singleLarge(options);
    return;
  }
  const kinds = kindsOf(options);
  for (let index = 0; index < kinds.length; index++) yield generate(index, kinds[index]!, options);
}

function headersFor(index: number, c: Choices, options: CorpusOptions): { headers: string[]; subject: string; messageId: string } {
  const from = person(c);
  const date = dateOf(index);
  const subject = `${c.pick(['Invoice', 'Order', 'Re: Delivery', 'Fwd: Statement', 'Rechnung', 'Ticket'])} ${10000 + index}: ${plainText(c, 30).split('\n')[0]!.slice(0, 60)}`;
  const messageId = `<bench-${options.seed}-${index}@${from.address.split('@')[1]}>`;
  const headers = [
    `Received: from mx${c.int(1, 9)}.${from.address.split('@')[1]} by mail.contoso.example; ${date.toUTCString().replace('GMT', '+0000')}`,
    `From: ${mailbox(from)}`,
    `To: <${options.to}>`,
    `Subject: ${headerText(subject)}`,
    `Date: ${date.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: ${messageId}`,
  ];
  return { headers, subject, messageId };
}

function generate(index: number, kind: Kind, options: CorpusOptions): BenchMessage {
  const c = choices(options.seed, index);
  const { headers, subject, messageId } = headersFor(index, c, options);
  const encoding = c.pick<TextEncoding>(['7bit', '7bit', 'quoted-printable', 'base64']);
  const boundary = (name: string) => `----=_bench_${options.seed}_${index}_${name}`;
  const base = { index, kind, subject, messageId };

  if (kind === 'text') {
    // The budget is for the message as stored: base64 adds a third, quoted-printable a little.
    const size = c.int(5 * KiB, 30 * KiB) / INFLATION[encoding];
    const style = c.pick(['plain', 'plain', 'html', 'alternative', 'alternative'] as const);
    if (style === 'plain') {
      const text = plainText(c, size - 700);
      return { ...base, raw: message(headers, textPart(text, 'plain', encoding)), body: text, attachments: [] };
    }
    if (style === 'html') {
      const html = htmlText(c, size - 700);
      return { ...base, raw: message(headers, textPart(html, 'html', encoding)), body: html, attachments: [] };
    }
    const text = plainText(c, (size - 800) * 0.4);
    const html = htmlText(c, (size - 800) * 0.6);
    const body = multipart('alternative', boundary('alt'), [textPart(text, 'plain', encoding), textPart(html, 'html', encoding)]);
    return { ...base, raw: message(headers, body), body: text, attachments: [] };
  }

  // With attachments: a short text, then the attachments' bytes, sized so the message lands in its range.
  const text = plainText(c, c.int(2 * KiB, 8 * KiB));
  const sizes =
    kind === 'attachments'
      ? Array.from({ length: c.int(1, 3) }, () => c.int(192 * KiB, MiB))
      : fill(c, kind === 'large' ? [5 * MiB, 10 * MiB] : [25 * MiB, 30 * MiB], kind === 'large' ? 1 : 2);
  const attachments = sizes.map((length, n) => {
    const type = c.pick(ATTACHMENT_TYPES);
    return { filename: attachmentName(c, type.extension), contentType: type.contentType, content: binary(options.seed, [index, n], length, type.magic) };
  });
  const parts = [textPart(text, 'plain', encoding), ...attachments.map((a) => attachmentPart(a.filename, a.contentType, a.content))];
  return { ...base, raw: message(headers, multipart('mixed', boundary('mixed'), parts)), body: text, attachments };
}

/** Attachment sizes (decoded) that make a message of a size within `range` once base64 has added its third. */
function fill(c: Choices, range: [number, number], count: number): number[] {
  const encoded = c.int(range[0], range[1]) - 16 * KiB;
  const each = Math.floor((encoded / count) * (57 / 78));
  return Array<number>(count).fill(each);
}

/**
 * 150 MB: a text body of 50 MB of C0 controls and DEL (base64, the only way MIME
 * carries NUL), and an attachment filling the rest.
 */
function singleLarge(options: CorpusOptions): BenchMessage {
  const c = choices(options.seed, 0);
  const { headers, subject, messageId } = headersFor(0, c, options);
  const controls = binary(options.seed, [0, 0], SINGLE_LARGE_BODY_BYTES);
  for (let i = 0; i < controls.length; i++) {
    const b = controls[i]! & 0x1f;
    controls[i] = b === 0x1f ? 0x7f : b;
  }
  const body = controls.toString('latin1');
  const textHeader = Buffer.from('Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: base64\r\n\r\n');
  const textParts = [textHeader, base64Lines(controls)];
  const used = byteLength(textParts) + 4 * KiB;
  const rest = Math.floor((SINGLE_LARGE_BYTES - used) * (57 / 78));
  const attachment = { filename: 'scan-2026-0001.pdf', contentType: 'application/pdf', content: binary(options.seed, [0, 1], rest, '%PDF-1.7\n') };
  const parts = [textParts, attachmentPart(attachment.filename, attachment.contentType, attachment.content)];
  const raw = message(headers, multipart('mixed', `----=_bench_${options.seed}_large`, parts));
  return { index: 0, kind: 'single-large', raw, subject, messageId, body, attachments: [attachment] };
}
