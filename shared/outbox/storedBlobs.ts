/**
 * What the output container already holds, for the operator's commands (replay,
 * redrive): list blobs with their metadata, read one, mark one, delete one. The
 * drain itself only writes; none of this is on its path.
 */
import { createHash } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import { explainStorageError } from '../errors/explain.js';
import { publicUrl } from './publicUrl.js';
import { storageDeadline } from './storageLimits.js';
import type { BlobMetadata, StoredBlob } from './outbox.js';

export interface ListedBlob {
  name: string;
  size: number;
  metadata: BlobMetadata;
  lastModified: Date;
}

export interface ReadBlob {
  content: Buffer;
  metadata: BlobMetadata;
  /** The blob as a queue message refers to it. */
  stored: StoredBlob;
}

export class StoredBlobs {
  constructor(private readonly container: ContainerClient) {}

  /** Every blob under `prefix`, with its metadata (in the listing: one request per 5,000 blobs). */
  async list(prefix: string): Promise<ListedBlob[]> {
    const listed: ListedBlob[] = [];
    try {
      for await (const item of this.container.listBlobsFlat({ prefix, includeMetadata: true })) {
        listed.push({ name: item.name, size: item.properties.contentLength ?? 0, metadata: item.metadata ?? {}, lastModified: item.properties.lastModified });
      }
    } catch (error) {
      throw this.explained(error, prefix);
    }
    return listed;
  }

  /** The blob's bytes and metadata; undefined when there is no such blob (expired, deleted, never written). */
  async read(name: string): Promise<ReadBlob | undefined> {
    const blob = this.container.getBlockBlobClient(name);
    try {
      const properties = await blob.getProperties({ abortSignal: storageDeadline() });
      const content = await blob.downloadToBuffer(0, undefined, { abortSignal: storageDeadline(properties.contentLength ?? 0) });
      const stored = { blobUrl: publicUrl(blob.url), size: content.length, sha256: createHash('sha256').update(content).digest('hex') };
      return { content, metadata: properties.metadata ?? {}, stored };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw this.explained(error, name);
    }
  }

  /** The blob's size and metadata, without its bytes; undefined when there is no such blob. */
  async properties(name: string): Promise<{ size: number; metadata: BlobMetadata } | undefined> {
    try {
      const properties = await this.container.getBlockBlobClient(name).getProperties({ abortSignal: storageDeadline() });
      return { size: properties.contentLength ?? 0, metadata: properties.metadata ?? {} };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw this.explained(error, name);
    }
  }

  async exists(name: string): Promise<boolean> {
    try {
      return await this.container.getBlockBlobClient(name).exists({ abortSignal: storageDeadline() });
    } catch (error) {
      throw this.explained(error, name);
    }
  }

  /** Adds `metadata` to what the blob already carries (Storage replaces metadata whole, so it is merged here). */
  async mark(name: string, current: BlobMetadata, metadata: BlobMetadata): Promise<void> {
    try {
      await this.container.getBlockBlobClient(name).setMetadata({ ...current, ...metadata }, { abortSignal: storageDeadline() });
    } catch (error) {
      throw this.explained(error, name);
    }
  }

  /** Deletes the blob; one already gone is fine (a second run). Soft delete, where enabled, keeps it a while. */
  async delete(name: string): Promise<void> {
    try {
      await this.container.getBlockBlobClient(name).deleteIfExists({ abortSignal: storageDeadline() });
    } catch (error) {
      throw this.explained(error, name);
    }
  }

  private explained(error: unknown, blob: string) {
    return explainStorageError(error, { container: this.container.containerName, blob });
  }
}

function isNotFound(error: unknown): boolean {
  // A missing container is a setup error, not a missing message.
  const { statusCode, code } = error as { statusCode?: number; code?: string };
  return statusCode === 404 && code !== 'ContainerNotFound';
}
