/** Azure Storage's answer (queue or blob), as a DrainError. */
import { firstLine } from './errorChain.js';
import { DrainError, type DrainErrorCode } from './errors.js';
import { isNetworkError } from './isNetworkError.js';

/** What the failed call was about: a queue, or a container (and a blob in it). */
export type StorageTarget = { queue: string } | { container: string; blob?: string };

/** An error from Azure Storage (queue or blob). */
export function explainStorageError(error: unknown, target: StorageTarget): DrainError {
  if (error instanceof DrainError) return error;
  const e = (error ?? {}) as { statusCode?: number; code?: string; name?: string };
  const where = 'queue' in target ? `queue ${target.queue}` : target.blob ? `blob ${target.blob} in container ${target.container}` : `container ${target.container}`;
  const make = (code: DrainErrorCode, message: string) => new DrainError(code, message, target, { cause: error });

  if (e.statusCode === 403 || e.statusCode === 401)
    return make('STORAGE_FORBIDDEN', `Storage refused access to ${where} (HTTP ${e.statusCode}${e.code ? `, ${e.code}` : ''}).`);
  if (e.statusCode === 404 && ('queue' in target || e.code === 'ContainerNotFound'))
    return make('queue' in target ? 'STORAGE_QUEUE_NOT_FOUND' : 'STORAGE_CONTAINER_NOT_FOUND', `${where} does not exist (${e.code ?? 'HTTP 404'}).`);
  if (e.name === 'AbortError' || e.name === 'TimeoutError') return make('STORAGE_UNREACHABLE', `Storage did not answer for ${where} in time; the call was abandoned.`);
  if (isNetworkError(error)) return make('STORAGE_UNREACHABLE', `Storage could not be reached for ${where}: ${firstLine(error)}`);
  return make('STORAGE_FAILED', `Handing off to ${where} failed: ${firstLine(error)}`);
}
