/**
 * Limits on every Azure Storage call the drain makes, with their reasons.
 */
/**
 * The SDK's retry policy: four tries, 1-4 s apart. Its tryTimeoutInMs only asks
 * the *server* to give up (a `timeout` query parameter); nothing on the client
 * side ends a call that never gets an answer. `storageDeadline` does.
 */
export const STORAGE_RETRY = { maxTries: 4, tryTimeoutInMs: 30_000, retryDelayInMs: 1_000, maxRetryDelayInMs: 4_000 };
/** Blobs go up in blocks of this size. */
export const BLOCK_BYTES = 4 * 1024 * 1024;

/**
 * Every Storage call ends within STORAGE_CALL_MS, retries included, plus a second
 * per MiB it carries (1 MB/s is far below Azure's in-region throughput). Without
 * it a connection that stops answering would hang the drain, which renews the
 * mailbox's lease all along, and so hold the mailbox for good.
 */
export const STORAGE_CALL_MS = 45_000;
export function storageDeadline(bytes = 0): AbortSignal {
  return AbortSignal.timeout(storageDeadlineMs(bytes));
}

/** The milliseconds `storageDeadline` gives a call that carries `bytes`. */
export function storageDeadlineMs(bytes = 0): number {
  return STORAGE_CALL_MS + Math.ceil(bytes / (1024 * 1024)) * 1000;
}

