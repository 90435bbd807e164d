/**
 * What a consumer's developer or operator does about each ConsumerError, as
 * data: a one-line summary, the remedy in words (with the facts filled in),
 * and whether trying the same queue message again can succeed.
 */
import type { ConsumerErrorCode, ConsumerFacts } from './consumerError.js';

export interface ConsumerRemedy {
  summary: string;
  /** True: transient, let the queue deliver the message again. False: retrying repeats the failure (it ends in the poison queue). */
  passes: boolean;
  remedy(facts: ConsumerFacts): string;
}

const blob = (f: ConsumerFacts) => f.blobUrl ?? 'the blob';

export const CONSUMER_REMEDIES: Record<ConsumerErrorCode, ConsumerRemedy> = {
  CONSUMER_ITEM_MALFORMED: {
    summary: 'the queue item is not a mail-drain message',
    passes: false,
    remedy: () =>
      'Pass what the queue trigger or QueueClient hands over (the object, the message text, or the received item) unchanged; ' +
      'only mail-drain should send to the output queue.',
  },
  CONSUMER_SCHEMA_MISMATCH: {
    summary: 'the message does not match this version of the schema',
    passes: false,
    remedy: (f) =>
      `Field ${f.field ?? '(unknown)'} is not what schema/queue-message.schema.json says. A field this library does not know ` +
      'means the drain is newer: update mail-drain/consumer to the drain\'s version.',
  },
  CONSUMER_BLOB_GONE: {
    summary: 'a claim-check blob no longer exists: past claimCheckRetentionDays, or deleted',
    passes: false,
    remedy: (f) =>
      `${blob(f)} is gone. Claim-check blobs expire claimCheckRetentionDays (default 30) days after the drain wrote them: read messages sooner, ` +
      'or raise claimCheckRetentionDays. Within blobSoftDeleteRetentionDays a deleted blob can be restored (az storage blob undelete).',
  },
  CONSUMER_BLOB_MISMATCH: {
    summary: 'a blob\'s size or SHA-256 differs from the message: changed or truncated since the drain wrote it',
    passes: false,
    remedy: (f) =>
      `${blob(f)} is not the content the message describes. Do not use it; find out who else writes to the container ` +
      '(its StorageWrite logs in Log Analytics).',
  },
  CONSUMER_BLOB_FORBIDDEN: {
    summary: 'Storage refused to let this identity read the blob',
    passes: false,
    remedy: (f) =>
      `Give the consumer's identity "Storage Blob Data Reader" on the container of ${blob(f)} ` +
      '(infra/main.bicep does with consumerPrincipalId), or check the connection string.',
  },
  CONSUMER_BLOB_OUTSIDE: {
    summary: 'a blob URL is outside the account or container the consumer was given',
    passes: false,
    remedy: (f) =>
      `${blob(f)} is not in the storage account or container passed to readMailMessage (or, with a TokenCredential, not https): ` +
      'pass the client of the drain\'s output account (or of the mailbox\'s own outputContainer).',
  },
  CONSUMER_BLOB_UNAVAILABLE: {
    summary: 'Storage could not be reached, or failed',
    passes: true,
    remedy: () => 'Nothing to fix: let the queue deliver the message again. If it persists, check the storage account\'s health and network rules.',
  },
};
