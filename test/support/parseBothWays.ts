/**
 * One message parsed both ways: whole, with parseMessage (simpleParser), and
 * streamed in chunks of random sizes, with parseMessageStream; each reduced to
 * what the queue message says of it (bodies over INLINE_BODY_LIMIT as the size
 * and SHA-256 of their blob, attachments as theirs), so the two can be compared.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { INLINE_BODY_LIMIT } from '../../shared/contract/queueMessage.js';
import { parseMessage, ParseError } from '../../shared/mailbox/parseMessage.js';
import { parseMessageStream } from '../../shared/mailbox/parseMessageStream.js';
import { prng } from './prng.js';

export interface Stored {
  size: number;
  sha256: string;
}

export type Reduced = { error: 'ParseError' | string } | Record<string, unknown>;

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** `raw` in chunks of 1 byte to 64 KiB, the same for the same seed: every boundary falls somewhere. */
export function chunked(raw: Buffer, seed: number, maxChunk = 64 * 1024): Readable {
  const random = prng(seed);
  return Readable.from(
    (function* () {
      for (let at = 0; at < raw.length; ) {
        const n = 1 + Math.floor(random() ** 3 * maxChunk);
        yield raw.subarray(at, at + n);
        at += n;
      }
    })(),
    { objectMode: false },
  );
}

/** What the queue message would say of the body. */
function body(inline: string | null): { inline: string | null; blob?: Stored } {
  if (inline === null || Buffer.byteLength(inline, 'utf8') <= INLINE_BODY_LIMIT) return { inline };
  const bytes = Buffer.from(inline, 'utf8');
  return { inline: null, blob: { size: bytes.length, sha256: sha256(bytes) } };
}

export async function parsedWhole(raw: Buffer): Promise<Reduced> {
  try {
    const { text, html, attachments, ...fields } = await parseMessage(raw);
    return {
      ...fields,
      text: body(text),
      html: body(html),
      attachments: attachments.map(({ content, ...a }) => ({ ...a, stored: { size: content.length, sha256: sha256(content) } })),
    };
  } catch (error) {
    return { error: error instanceof ParseError ? 'ParseError' : String(error) };
  }
}

/** Hashes what a store is given, as putBlobStream does. */
async function hashOf(content: Readable): Promise<Stored> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of content) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: hash.digest('hex') };
}

export async function parsedStreamed(source: Readable): Promise<Reduced> {
  try {
    const { text, html, ...rest } = await parseMessageStream(source, {
      attachment: (_index, _fields, content) => hashOf(content),
      body: (_kind, content) => hashOf(content),
    });
    return { ...rest, text: text.blob ? text : { inline: text.inline }, html: html.blob ? html : { inline: html.inline } };
  } catch (error) {
    return { error: error instanceof ParseError ? 'ParseError' : String(error) };
  }
}
