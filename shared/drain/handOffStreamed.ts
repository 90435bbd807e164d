/**
 * The hand-off of a message too large to hold in memory, in flat memory: its
 * raw MIME streams from the mailbox to its raw blob while mailparser parses the
 * same bytes (parseMessageStream.ts), each attachment streams to its blob as it
 * is parsed, and a body over INLINE_BODY_LIMIT streams to its body blob. The
 * queue message is the one handOff() sends for the same bytes (same fields,
 * blob names, sizes and SHA-256), and it goes last, once every blob is acknowledged.
 *
 * Outcomes as handOff's: a failure of the mailbox's stream or of Storage fails
 * the message (it stays in the mailbox); a message mailparser refuses is
 * quarantined, its raw bytes streamed from the mailbox again to quarantine/.
 */
import { PassThrough, type Readable } from 'node:stream';
import { describe } from '../errors/errors.js';
import type { Logger } from '../errors/logger.js';
import type { StreamedFacts } from '../mailbox/mailbox.js';
import { ParseError } from '../mailbox/parseMessage.js';
import { parseMessageStream, type StreamedMessage } from '../mailbox/parseMessageStream.js';
import { writeTo } from '../mailbox/bodyAssembler.js';
import type { BlobMetadata, Outbox, StoredBlob } from '../outbox/outbox.js';
import { identityMetadata } from './messageIdentity.js';
import { messageKey } from '../contract/queueMessage.js';
import { attachmentOf, blobNames, bodyContentType, failed, mailMessage, quarantine, type HandOffResult, type MailboxRef } from './handOff.js';

/** A message waiting in the mailbox: its UID, RFC822.SIZE, and INTERNALDATE when the listing had it. */
export interface StreamedPending {
  uid: number;
  size: number;
  receivedAt?: Date;
}

/** Receives the message's bytes from its first; called again from the first byte if the stream must start over. */
export type MessageSink<T> = (content: Readable, facts: StreamedFacts) => Promise<T>;

/** Streams the message to a sink, resolving with what the sink resolves with: `(sink) => mailbox.stream(uid, size, sink)`. */
export type MessageStream = <T>(sink: MessageSink<T>) => Promise<T>;

interface Stored {
  parsed: StreamedMessage<StoredBlob, StoredBlob>;
  raw: StoredBlob;
  internalDate: Date;
}

/**
 * Never throws; see handOff(). `stream` streams the message to its sink: wire
 * it as `(sink) => mailbox.stream(uid, size, sink)`.
 */
export async function handOffStreamed(
  pending: StreamedPending,
  ref: MailboxRef,
  outbox: Outbox,
  attempts: { previous: number; max: number },
  logger: Logger | undefined,
  stream: MessageStream,
): Promise<HandOffResult> {
  const { uid, size } = pending;
  const id = messageKey(ref.mailbox, ref.folder, ref.uidValidity, uid);
  const keepRaw = (name: string, metadata: (receivedAt: Date | undefined) => BlobMetadata) =>
    stream((content, facts) => outbox.putBlobStream(name, content, 'message/rfc822', size, metadata(facts.internalDate ?? pending.receivedAt)));
  if (attempts.previous >= attempts.max) {
    const detail = `its hand-off failed ${attempts.previous} times (MAX_ATTEMPTS ${attempts.max})`;
    return quarantine(uid, id, ref, 'max-attempts', detail, outbox, keepRaw);
  }
  // The sink's own failure (mailparser, Storage), which the stream reports only as "the upload stopped reading".
  let own: unknown;
  try {
    // Said before the stream starts, as handOff says it before parsing: the last line of a drain that died names the message.
    logger?.debug(`Parsing UID ${uid} (${size} bytes, streamed)`);
    const stored = await stream<Stored>(async (content, facts) => {
      own = undefined;
      // The date the queue message will carry, decided before the raw blob records it.
      const internalDate = facts.internalDate ?? pending.receivedAt ?? new Date();
      const result = await storeWhileParsing(content, id, size, outbox, identityMetadata(ref, uid, internalDate));
      if ('failure' in result) {
        own = result.own ? result.failure : undefined;
        throw result.failure;
      }
      return { ...result, internalDate };
    });
    const { parsed, raw, internalDate: receivedAt } = stored;
    const attachments = parsed.attachments.map((a) => attachmentOf(a, a.stored));
    const message = mailMessage(id, ref, uid, receivedAt, parsed, parsed.text, parsed.html, attachments, raw);
    const { viaBlob } = await outbox.send(message, blobNames.payload(id));
    return { outcome: 'handedOff', uid, message, viaBlob };
  } catch (error) {
    const cause = own ?? error;
    if (!(cause instanceof ParseError)) return failed(uid, id, cause);
    return quarantine(uid, id, ref, 'unparseable', describe(cause), outbox, keepRaw);
  }
}

/**
 * Tees the message's bytes to its raw blob and to the parser. The first
 * failure stops everything (every upload is aborted and has settled before
 * this returns) and is reported with whose it was: the stream's (`own` false)
 * or the parse's or Storage's.
 */
async function storeWhileParsing(
  content: Readable,
  id: string,
  size: number,
  outbox: Outbox,
  identity: BlobMetadata,
): Promise<Omit<Stored, 'internalDate'> | { failure: unknown; own: boolean }> {
  const toRaw = new PassThrough();
  const toParser = new PassThrough();
  let first: { failure: unknown; own: boolean } | undefined;
  const stop = (failure: unknown, own: boolean) => {
    first ??= { failure, own };
    toRaw.destroy(failure as Error);
    toParser.destroy(failure as Error);
  };

  const raw = outbox.putBlobStream(blobNames.raw(id), toRaw, 'message/rfc822', size, identity);
  const parsed = parseMessageStream(toParser, {
    attachment: (index, fields, part) => outbox.putBlobStream(blobNames.attachment(id, index, fields.filename), part, fields.contentType, size),
    body: (kind, body) => outbox.putBlobStream(blobNames.body(id, kind), body, bodyContentType(kind), size),
  });
  raw.catch((error) => stop(error, true));
  parsed.catch((error) => stop(error, true));

  const teed = (async () => {
    try {
      for await (const chunk of content) {
        if (first) return;
        // Both sides must take a chunk before the next is read: the slower one sets the pace.
        const taken = await Promise.all([writeTo(toRaw, chunk as Buffer), writeTo(toParser, chunk as Buffer)]).then(() => true, () => false);
        if (!taken) {
          // A side stopped reading because it failed: its failure, not this one, is the message's.
          await Promise.allSettled([raw, parsed]);
          stop(new Error('the upload stopped reading the message'), true);
          return;
        }
      }
      toRaw.end();
      toParser.end();
    } catch (error) {
      stop(error, false);
    }
  })();

  const [, rawResult, parsedResult] = await Promise.allSettled([teed, raw, parsed]);
  if (first) return first;
  if (rawResult.status === 'rejected' || parsedResult.status === 'rejected') throw new Error('unreachable: a failure was not recorded');
  return { raw: rawResult.value, parsed: parsedResult.value };
}
