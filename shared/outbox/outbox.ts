/**
 * Where messages go: the output queue, and the blob container that holds raw
 * messages, attachments and oversized payloads (the claim check).
 *
 * Blob names are derived from the message id, so a re-delivery of the same
 * message overwrites the same blobs instead of leaving copies behind.
 */
import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import type { TokenCredential } from '@azure/identity';
import { explainStorageError } from '../errors/explain.js';
import { encodeForQueue, QUEUE_JSON_LIMIT, type PoisonMessage, type QueueMessage } from '../contract/queueMessage.js';
import { envelopeFor } from './envelope.js';
import { publicUrl } from './publicUrl.js';
import { MailboxLease } from './mailboxLease.js';
import { readStatus, writeStatus, type MailboxStatus, type RunStatus } from './mailboxStatus.js';
import { BLOCK_BYTES, STORAGE_RETRY, storageDeadline } from './storageLimits.js';
import { registerSecret, type Logger } from '../errors/logger.js';
import type { StorageConnection } from '../config/settings.js';
import { StoredBlobs } from './storedBlobs.js';

// Also exported from here, where the doctor imports it from.
export { publicUrl };

/**
 * Storage keeps a queue message 7 days unless told otherwise; the mail is gone
 * from the mailbox by then, so a consumer outage longer than that would lose it.
 * -1: kept until a consumer deletes it.
 */
export const NEVER_EXPIRES = -1;

/** A blob's metadata: ASCII names and values (they travel as HTTP headers). */
export type BlobMetadata = Record<string, string>;

export interface StoredBlob {
  blobUrl: string;
  size: number;
  sha256: string;
}

/**
 * The queue and blob service clients for the output storage: from a connection
 * string, or with the platform identity; always with the drain's retry policy.
 */
export function storageClients(storage: StorageConnection, credential: () => TokenCredential) {
  const options = { retryOptions: STORAGE_RETRY };
  if (storage.kind === 'connectionString') {
    // The account key or SAS in a connection string must never reach a log line through an SDK message.
    for (const m of storage.connectionString.matchAll(/(?:AccountKey|SharedAccessSignature)=([^;]+)/gi)) registerSecret(m[1]);
    return {
      queues: QueueServiceClient.fromConnectionString(storage.connectionString, options),
      blobs: BlobServiceClient.fromConnectionString(storage.connectionString, options),
    };
  }
  const identity = credential();
  return {
    queues: new QueueServiceClient(storage.queueServiceUri, identity, options),
    blobs: new BlobServiceClient(storage.blobServiceUri, identity, options),
  };
}

export class Outbox {
  private constructor(
    private readonly queue: QueueClient,
    private readonly poisonQueue: QueueClient,
    private readonly container: ContainerClient,
  ) {}

  static open(storage: StorageConnection, names: { queueName: string; containerName: string }, credential: () => TokenCredential): Outbox {
    const { queues, blobs } = storageClients(storage, credential);
    return new Outbox(
      queues.getQueueClient(names.queueName),
      queues.getQueueClient(`${names.queueName}-poison`),
      blobs.getContainerClient(names.containerName),
    );
  }

  get queueUrl(): string {
    return publicUrl(this.queue.url);
  }

  get containerName(): string {
    return this.container.containerName;
  }

  get containerUrl(): string {
    return publicUrl(this.container.url);
  }

  /**
   * Uploads `content` to `name` in the container; resolves once Storage has
   * acknowledged it. `metadata` rides on the same upload (no extra request).
   */
  async putBlob(name: string, content: Buffer, contentType: string, metadata?: BlobMetadata): Promise<StoredBlob> {
    const blob = this.container.getBlockBlobClient(name);
    try {
      await blob.uploadData(content, {
        abortSignal: storageDeadline(content.length),
        blobHTTPHeaders: { blobContentType: contentType },
        metadata,
        maxSingleShotSize: BLOCK_BYTES,
        blockSize: BLOCK_BYTES,
        concurrency: 2,
      });
    } catch (error) {
      throw explainStorageError(error, { container: this.container.containerName, blob: name });
    }
    return { blobUrl: publicUrl(blob.url), size: content.length, sha256: createHash('sha256').update(content).digest('hex') };
  }

  /**
   * Streams `content` to a blob, hashing it on the way: for messages too large
   * to hold in memory. `expectedBytes` sizes the deadline to the message.
   */
  async putBlobStream(name: string, content: Readable, contentType: string, expectedBytes: number, metadata?: BlobMetadata): Promise<StoredBlob> {
    const blob = this.container.getBlockBlobClient(name);
    const hash = createHash('sha256');
    let size = 0;
    const counted = content.pipe(
      new Transform({
        transform(chunk: Buffer, _encoding, done) {
          hash.update(chunk);
          size += chunk.length;
          done(null, chunk);
        },
      }),
    );
    content.on('error', (error) => counted.destroy(error));
    try {
      // BLOCK_BYTES blocks, 2 in flight: at most ~8 MiB of the message in memory at once.
      // The deadline follows the message's size, as for every other call (a server may send up to twice it).
      await blob.uploadStream(counted, BLOCK_BYTES, 2, { abortSignal: storageDeadline(expectedBytes * 2), blobHTTPHeaders: { blobContentType: contentType }, metadata });
    } catch (error) {
      throw explainStorageError(error, { container: this.container.containerName, blob: name });
    }
    return { blobUrl: publicUrl(blob.url), size, sha256: hash.digest('hex') };
  }

  /** The stored blobs (names, sizes, metadata): the operator's commands read them. */
  get blobs(): StoredBlobs {
    return new StoredBlobs(this.container);
  }

  /** Sends a queue message as it is: the envelope of a claim-checked message sent again (replay). */
  async sendQueued(queued: QueueMessage): Promise<void> {
    try {
      await this.queue.sendMessage(encodeForQueue(queued), { messageTimeToLive: NEVER_EXPIRES, abortSignal: storageDeadline() });
    } catch (error) {
      throw explainStorageError(error, { queue: this.queue.name });
    }
  }

  /** Reports a quarantined message on the poison queue. */
  async sendPoison(message: PoisonMessage): Promise<void> {
    try {
      await this.poisonQueue.sendMessage(encodeForQueue(message), {
        messageTimeToLive: NEVER_EXPIRES,
        abortSignal: storageDeadline(),
      });
    } catch (error) {
      throw explainStorageError(error, { queue: this.poisonQueue.name });
    }
  }

  /** What the last drain of a mailbox folder did (see mailboxStatus.ts). */
  readStatus(mailbox: string, folder: string): Promise<MailboxStatus | undefined> {
    return readStatus(this.container, mailbox, folder);
  }

  writeStatus(mailbox: string, folder: string, run: RunStatus): Promise<MailboxStatus> {
    return writeStatus(this.container, mailbox, folder, run);
  }

  /** The per-mailbox lease: one drain at a time (see mailboxLease.ts). */
  leaseMailbox(mailbox: string, folder: string, logger: Logger): Promise<MailboxLease | undefined> {
    return MailboxLease.acquire(this.container, mailbox, folder, logger);
  }

  /**
   * Sends one queue message. When its JSON exceeds what fits in a queue message,
   * the full JSON goes to `payloadBlobName` and the queue carries the envelope.
   */
  async send(message: QueueMessage, payloadBlobName: string): Promise<{ viaBlob: boolean }> {
    const json = JSON.stringify(message);
    let queued: QueueMessage = message;
    const viaBlob = Buffer.byteLength(json, 'utf8') > QUEUE_JSON_LIMIT;
    if (viaBlob) {
      const payload = await this.putBlob(payloadBlobName, Buffer.from(json, 'utf8'), 'application/json');
      queued = envelopeFor(message, payload);
    }
    await this.sendQueued(queued);
    return { viaBlob };
  }
}
