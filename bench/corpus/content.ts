/**
 * The corpus's content, derived from a seed alone: words for bodies, bytes
 * for attachments, names and dates. The same seed gives the same bytes on any
 * machine, so two runs (or two engineers) measure the same mailbox.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { prng } from '../../test/support/prng.js';

/** A seeded source of choices: one per message, so that message i is the same whatever the corpus size. */
export interface Choices {
  /** 0 <= n < 1 */
  next(): number;
  /** A whole number in [min, max]. */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
}

export function choices(seed: number, ...path: number[]): Choices {
  // Mixing the path into the seed keeps messages independent of each other and of the corpus size.
  const mixed = path.reduce((s, n) => Math.imul(s ^ (n + 0x9e3779b9), 0x85ebca6b) >>> 0, seed >>> 0);
  const next = prng(mixed);
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (items) => items[Math.floor(next() * items.length)]!,
  };
}

// Invoices, orders and support mail: what the drained mailboxes receive. A few words outside ASCII, as real mail has.
const WORDS = (
  'invoice order delivery payment due please confirm attached find the of and to for your our we have with this that is on ' +
  'be are as at by from in it not or will can may shipment account reference number date total amount net tax vat customer ' +
  'supplier contract agreement quote price discount item quantity unit warehouse dispatch tracking schedule meeting regards ' +
  'thanks kind best request support ticket issue resolved update status pending approval review budget quarter report ' +
  'Grüße Straße façade naïve café Zürich Ørsted São Paulo Kraków déjà'
).split(' ');
const FIRST = ['Alice', 'Bob', 'Chen', 'Dana', 'Emre', 'Fatima', 'György', 'Hana', 'Ivan', 'José', 'Kirsi', 'Léa', 'Mateus', 'Nadia'];
const LAST = ['Example', 'Müller', 'Tanaka', 'Okafor', 'Nowak', 'Rossi', 'Smith', 'García', 'Ivanova', 'Jensen', 'Dubois'];
const DOMAINS = ['example.com', 'example.net', 'supplier.example', 'fabrikam.example', 'northwind.example', 'tailspin.example'];

export function person(c: Choices): { name: string; address: string } {
  const first = c.pick(FIRST);
  const last = c.pick(LAST);
  const local = `${first}.${last}`.normalize('NFD').replace(/[^\x21-\x7e]/g, '').toLowerCase();
  return { name: `${first} ${last}`, address: `${local}@${c.pick(DOMAINS)}` };
}

/** A sentence-like line of words, at most `width` characters (the last word may be cut at the budget). */
function line(c: Choices, width: number): string {
  let text = '';
  while (text.length < width - 12) text += (text ? ' ' : '') + c.pick(WORDS);
  return text.charAt(0).toUpperCase() + text.slice(1) + '.';
}

/** Plain text of about `chars` characters, in paragraphs of lines under 78 characters. */
export function plainText(c: Choices, chars: number): string {
  const lines: string[] = [];
  let length = 0;
  while (length < chars) {
    const next = c.next() < 0.15 ? '' : line(c, c.int(40, 76));
    lines.push(next);
    length += next.length + 1;
  }
  return lines.join('\n') + '\n';
}

/** HTML of about `chars` characters: paragraphs, a link now and then, and a table row or two. */
export function htmlText(c: Choices, chars: number): string {
  const parts = ['<!DOCTYPE html><html><head><meta charset="utf-8"><title>Message</title></head><body>'];
  let length = parts[0]!.length;
  while (length < chars) {
    const roll = c.next();
    const part =
      roll < 0.1
        ? `<p>See <a href="https://portal.${c.pick(DOMAINS)}/orders/${c.int(1000, 99999)}">order ${c.int(1000, 99999)}</a>.</p>`
        : roll < 0.2
          ? `<table><tr><td>${c.pick(WORDS)}</td><td>${c.int(1, 999)}.${c.int(10, 99)}</td></tr></table>`
          : `<p>${line(c, c.int(60, 300))}</p>`;
    parts.push(part, '\n');
    length += part.length + 1;
  }
  parts.push('</body></html>\n');
  return parts.join('');
}

/**
 * `length` pseudo-random bytes (AES-128-CTR keystream: fast, and the same for the same seed),
 * after the file type's magic number, so attachments look like what they claim to be.
 */
export function binary(seed: number, path: number[], length: number, magic = ''): Buffer {
  const key = createHash('sha256').update(`${seed}/${path.join('/')}`).digest();
  const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  const bytes = cipher.update(Buffer.alloc(length));
  bytes.write(magic.slice(0, length), 0, 'latin1');
  return bytes;
}

export const ATTACHMENT_TYPES = [
  { contentType: 'application/pdf', extension: 'pdf', magic: '%PDF-1.7\n' },
  { contentType: 'image/png', extension: 'png', magic: '\x89PNG\r\n\x1a\n' },
  { contentType: 'image/jpeg', extension: 'jpg', magic: '\xff\xd8\xff\xe0' },
  { contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', extension: 'xlsx', magic: 'PK\x03\x04' },
  { contentType: 'application/zip', extension: 'zip', magic: 'PK\x03\x04' },
] as const;

const NAMES = ['invoice', 'order', 'delivery-note', 'statement', 'scan', 'photo', 'Rechnung', 'contrato', 'report'];

export function attachmentName(c: Choices, extension: string): string {
  return `${c.pick(NAMES)}-${c.int(2024, 2026)}-${String(c.int(1, 9999)).padStart(4, '0')}.${extension}`;
}

/** A date in 2026, one message a few minutes after the one before, so the corpus reads like a mailbox's history. */
export function dateOf(index: number): Date {
  return new Date(Date.UTC(2026, 0, 5, 7) + index * 137_000);
}
