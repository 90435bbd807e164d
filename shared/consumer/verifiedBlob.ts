/**
 * A blob the message describes, read lazily and checked against what the
 * message says: its size and, where the message gives one, its SHA-256.
 * Nothing is downloaded until `read()` or `stream()` is called.
 */
import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import type { BlobClient } from '@azure/storage-blob';
import { ConsumerError } from './consumerError.js';
import { explainBlobError } from './explainBlobError.js';

export interface BlobRef {
  blobUrl: string;
  size: number;
  /** Hex SHA-256; the payload blob of an envelope has none (its size and id are checked). */
  sha256?: string;
}

export interface MailBlob {
  readonly blobUrl: string;
  readonly size: number;
  readonly sha256: string;
  /** The whole content, once its size and SHA-256 match; a ConsumerError (CONSUMER_BLOB_MISMATCH, _GONE, ...) otherwise. */
  read(): Promise<Buffer>;
  /**
   * The content as a stream, hashed as it passes: it fails with CONSUMER_BLOB_MISMATCH
   * as soon as it runs past the size, or at its end when size or SHA-256 differ.
   * Act on what it gave only once it ended without an error.
   */
  stream(): Promise<Readable>;
}

export function verifiedBlob(client: BlobClient, ref: BlobRef & { sha256: string }): MailBlob {
  return {
    blobUrl: ref.blobUrl,
    size: ref.size,
    sha256: ref.sha256,
    read: () => readVerified(client, ref),
    stream: () => streamVerified(client, ref),
  };
}

/** Downloads and checks a blob (see MailBlob.read). */
export async function readVerified(client: BlobClient, ref: BlobRef): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await streamVerified(client, ref)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function streamVerified(client: BlobClient, ref: BlobRef): Promise<Readable> {
  let body: NodeJS.ReadableStream | undefined;
  try {
    body = (await client.download(0)).readableStreamBody;
  } catch (error) {
    throw explainBlobError(error, ref.blobUrl);
  }
  if (!body) throw new ConsumerError('CONSUMER_BLOB_UNAVAILABLE', `Storage returned no content for ${ref.blobUrl}.`, { blobUrl: ref.blobUrl });
  const hash = createHash('sha256');
  let size = 0;
  const mismatch = (what: string) =>
    new ConsumerError('CONSUMER_BLOB_MISMATCH', `${ref.blobUrl} ${what}: it was changed or truncated since the drain wrote it.`, { blobUrl: ref.blobUrl });
  const checked = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size > ref.size) return done(mismatch(`is larger than the ${ref.size} bytes the message says`));
      hash.update(chunk);
      done(null, chunk);
    },
    flush(done) {
      if (size !== ref.size) return done(mismatch(`has ${size} bytes, not the ${ref.size} the message says`));
      if (ref.sha256 !== undefined && hash.digest('hex') !== ref.sha256) return done(mismatch('does not have the SHA-256 the message says'));
      done();
    },
  });
  const source = body as Readable;
  source.on('error', (error) => checked.destroy(explainBlobError(error, ref.blobUrl)));
  // Stop downloading when the reader gives up, or the size check failed.
  checked.on('close', () => source.destroy());
  return source.pipe(checked);
}
