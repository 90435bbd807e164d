/**
 * The failures of reading a mail message, each with a stable `code` (for
 * alerts, tests and the consumer's own retry decision), the facts its remedy
 * names (a blob URL without any query, a field path; never a credential), and
 * the original error as `cause`.
 */
import { CONSUMER_REMEDIES } from './consumerRemedies.js';

export type ConsumerErrorCode =
  | 'CONSUMER_ITEM_MALFORMED'
  | 'CONSUMER_SCHEMA_MISMATCH'
  | 'CONSUMER_BLOB_GONE'
  | 'CONSUMER_BLOB_MISMATCH'
  | 'CONSUMER_BLOB_FORBIDDEN'
  | 'CONSUMER_BLOB_OUTSIDE'
  | 'CONSUMER_BLOB_UNAVAILABLE';

export interface ConsumerFacts {
  /** The message's `id`, once it is known. */
  id?: string;
  /** The blob, as the message names it (never with a SAS). */
  blobUrl?: string;
  /** The first field that does not match the schema, as a path: `attachments[0].sha256`. */
  field?: string;
}

export class ConsumerError extends Error {
  override readonly name = 'ConsumerError';
  readonly facts: Readonly<ConsumerFacts>;

  constructor(
    readonly code: ConsumerErrorCode,
    message: string,
    facts: ConsumerFacts = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.facts = { ...facts };
  }

  /** True when delivering the same queue message again may succeed (Storage was unavailable). */
  get passes(): boolean {
    return CONSUMER_REMEDIES[this.code].passes;
  }

  /** What to do, in one line. */
  get remedy(): string {
    return CONSUMER_REMEDIES[this.code].remedy(this.facts);
  }

  explain(): string {
    return `[${this.code}] ${this.message}\n  What to do: ${this.remedy}`;
  }
}

export function isConsumerError(error: unknown): error is ConsumerError {
  return error instanceof ConsumerError;
}
