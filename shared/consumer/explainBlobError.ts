/** Azure Storage's answer to reading a claim-check blob, as a ConsumerError. */
import { firstLine } from '../errors/errorChain.js';
import { isNetworkError } from '../errors/isNetworkError.js';
import { ConsumerError } from './consumerError.js';

export function explainBlobError(error: unknown, blobUrl: string): ConsumerError {
  if (error instanceof ConsumerError) return error;
  const e = (error ?? {}) as { statusCode?: number; code?: string; name?: string };
  const facts = { blobUrl };
  const make = (code: ConstructorParameters<typeof ConsumerError>[0], message: string) => new ConsumerError(code, message, facts, { cause: error });
  if (e.statusCode === 404 && e.code !== 'ContainerNotFound') return make('CONSUMER_BLOB_GONE', `${blobUrl} does not exist (${e.code ?? 'HTTP 404'}).`);
  if (e.statusCode === 401 || e.statusCode === 403)
    return make('CONSUMER_BLOB_FORBIDDEN', `Storage refused to let this identity read ${blobUrl} (HTTP ${e.statusCode}${e.code ? `, ${e.code}` : ''}).`);
  if (isNetworkError(error) || e.name === 'AbortError') return make('CONSUMER_BLOB_UNAVAILABLE', `Storage could not be reached for ${blobUrl}: ${firstLine(error)}`);
  return make('CONSUMER_BLOB_UNAVAILABLE', `Reading ${blobUrl} failed: ${firstLine(error)}`);
}
