/**
 * Streams one message's source in partial fetches (BODY.PEEK[]<offset.length>),
 * for messages too large to hold in memory.
 *
 * Not imapflow's download(): it takes the first FETCH response of each chunk,
 * which may be another message's unsolicited flag update, and ends the stream
 * quietly when a chunk comes without a body, so a truncated message would be
 * stored as if whole. Here every chunk must be this UID's and carry bytes; the
 * message ends only with a chunk shorter than asked for. Anything else fails
 * the stream, and the message stays in the mailbox.
 */
import { PassThrough, type Readable } from 'node:stream';
import type { ImapFlow } from 'imapflow';
import { DrainError } from '../errors/errors.js';
import { describeImap, isRefusal } from './imapResponses.js';

/**
 * The size of each partial fetch: one IMAP round trip each, so it sets the
 * stream's pace across a network (20 ms away, 1 MiB chunks allow 50 MB/s;
 * imapflow's download window of 64 KiB, 3 MB/s), and about what it holds in memory.
 */
export const STREAM_CHUNK_BYTES = 1024 * 1024;

/** What the sink learns of the message besides its bytes. */
export interface StreamedFacts {
  /** INTERNALDATE, fetched with the first chunk; absent when the server sent none. */
  internalDate?: Date;
}

export async function streamMessage<T>(
  client: ImapFlow,
  message: { uid: number; expectedSize: number; folder: string },
  sink: (content: Readable, facts: StreamedFacts) => Promise<T>,
): Promise<T> {
  const { uid, expectedSize, folder } = message;
  // The first chunk comes before the sink starts, so that it learns INTERNALDATE (the queue message's receivedAt).
  const first = await chunkOf(client, uid, 0, folder, true);
  const content = new PassThrough({ highWaterMark: STREAM_CHUNK_BYTES * 2 });
  const result = sink(content, { internalDate: first.internalDate });
  // The upload may fail while a chunk is still being fetched: handled here, awaited below.
  result.catch(() => {});
  // A server that ignores partial fetches would send the whole message on every call.
  const ceiling = expectedSize * 2 + STREAM_CHUNK_BYTES;
  try {
    for (let offset = 0; ; ) {
      const chunk = offset === 0 ? first.chunk : (await chunkOf(client, uid, offset, folder)).chunk;
      if (chunk.length > STREAM_CHUNK_BYTES && offset > 0) throw new Error(`the server ignored the partial FETCH of UID ${uid} at byte ${offset}`);
      offset += chunk.length;
      if (offset > ceiling) throw new Error(`UID ${uid} streamed past twice its RFC822.SIZE (${expectedSize} bytes)`);
      if (!content.write(chunk)) await waitForDrain(content);
      if (chunk.length !== STREAM_CHUNK_BYTES) break;
    }
    content.end();
  } catch (error) {
    content.destroy(error as Error);
    await result.catch(() => {});
    throw error;
  }
  return result;
}

async function chunkOf(client: ImapFlow, uid: number, offset: number, folder: string, internalDate = false): Promise<{ chunk: Buffer; internalDate?: Date }> {
  const query = { uid: true, source: { start: offset, maxLength: STREAM_CHUNK_BYTES }, ...(internalDate && { internalDate: true }) };
  let chunk: Buffer | undefined;
  let date: Date | undefined;
  let refused: unknown;
  try {
    for await (const message of client.fetch(String(uid), query, { uid: true })) {
      if (message.uid === uid && Buffer.isBuffer(message.source) && chunk === undefined) {
        chunk = message.source;
        date = internalDateOf(message.internalDate);
      }
    }
  } catch (error) {
    if (!isRefusal(error)) throw error;
    refused = error;
  }
  if (chunk === undefined) {
    throw new DrainError(
      'IMAP_MESSAGE_UNREADABLE',
      `The server returned no body for UID ${uid} at byte ${offset} of ${folder}` +
        (refused ? ` (${describeImap(refused)}).` : ': it was removed meanwhile, or the server cannot read it.'),
      { folder },
      { cause: refused },
    );
  }
  return { chunk, internalDate: date };
}

/** imapflow gives INTERNALDATE as a Date, or as the server's string when it could not parse it. */
export function internalDateOf(value: Date | string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  return value instanceof Date ? value : new Date(value);
}

function waitForDrain(stream: PassThrough): Promise<void> {
  // A sink that failed may have destroyed the stream: its 'close' has been and gone.
  if (stream.destroyed) return Promise.reject(new Error('the upload stopped reading the message'));
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      stream.off('error', done);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new Error('the upload stopped reading the message'));
    stream.once('drain', onDrain);
    stream.once('close', onClose);
    stream.once('error', done);
  });
}
