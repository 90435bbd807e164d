/**
 * How the consumer reaches the blobs a message names, with its own access
 * (blob URLs never carry a SAS):
 * - a BlobServiceClient of the drain's output account, or a ContainerClient of
 *   the output container: blob URLs outside it are refused (CONSUMER_BLOB_OUTSIDE),
 *   so a message cannot send the client's credential elsewhere;
 * - a connection string of the output account (the same, as a BlobServiceClient);
 * - a TokenCredential: the consumer's identity, for whatever https blob URL
 *   the message names (a token is never sent over plain http: refused here, as
 *   the SDK would refuse it, but with a code).
 */
import { BlobClient, BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import type { TokenCredential } from '@azure/identity';
import { ConsumerError } from './consumerError.js';

export type BlobAccess = BlobServiceClient | ContainerClient | TokenCredential | string;

/** The client for one blob URL of a message. */
export type BlobClientFor = (blobUrl: string) => BlobClient;

export function blobClientFor(access: BlobAccess): BlobClientFor {
  if (typeof access === 'string') return underService(BlobServiceClient.fromConnectionString(access));
  // Duck-typed: the consumer's copy of @azure/storage-blob may not be ours, so instanceof would fail.
  if ('getContainerClient' in access) return underService(access);
  if ('getBlobClient' in access) return underContainer(access);
  if ('getToken' in access) return (blobUrl) => new BlobClient(httpsOnly(blobUrl), access);
  throw new TypeError('readMailMessage: blobs must be a BlobServiceClient, a ContainerClient, a TokenCredential or a connection string');
}

function underService(service: BlobServiceClient): BlobClientFor {
  return (blobUrl) => {
    const [container, ...name] = relativePath(blobUrl, service.url);
    if (!container || name.length === 0) throw outside(blobUrl);
    return service.getContainerClient(container).getBlobClient(name.join('/'));
  };
}

function underContainer(container: ContainerClient): BlobClientFor {
  return (blobUrl) => {
    const name = relativePath(blobUrl, container.url);
    if (name.length === 0) throw outside(blobUrl);
    return container.getBlobClient(name.join('/'));
  };
}

/** The decoded path segments of `blobUrl` below `base` (same origin and path prefix), or throws. */
function relativePath(blobUrl: string, base: string): string[] {
  let url: URL;
  let root: URL;
  try {
    url = new URL(blobUrl);
    root = new URL(base);
  } catch (error) {
    throw new ConsumerError('CONSUMER_BLOB_OUTSIDE', `Not a blob URL: ${blobUrl.slice(0, 200)}.`, {}, { cause: error });
  }
  const prefix = root.pathname.replace(/\/$/, '');
  if (url.origin !== root.origin || !url.pathname.startsWith(`${prefix}/`)) throw outside(blobUrl);
  return url.pathname
    .slice(prefix.length + 1)
    .split('/')
    .map((segment) => decodeURIComponent(segment));
}

function httpsOnly(blobUrl: string): string {
  if (!/^https:\/\//i.test(blobUrl)) {
    throw new ConsumerError('CONSUMER_BLOB_OUTSIDE', `${blobUrl.slice(0, 200)} is not an https URL: a token credential is sent over https only.`, { blobUrl });
  }
  return blobUrl;
}

function outside(blobUrl: string): ConsumerError {
  return new ConsumerError('CONSUMER_BLOB_OUTSIDE', `${blobUrl} is not in the storage account or container readMailMessage was given.`, { blobUrl });
}
