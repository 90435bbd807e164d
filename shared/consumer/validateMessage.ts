/**
 * A decoded queue item checked against the contract (shared/contract), with
 * the first field that differs named in the error. The schema is strict, as
 * schema/queue-message.schema.json is: a field this version does not know
 * fails rather than being dropped, because an additive field (textBlob,
 * htmlBlob) can hold content a consumer would otherwise silently lose.
 */
import type { z } from 'zod';
import { envelopeMessageSchema, mailMessageSchema, type EnvelopeMessage, type MailMessage } from '../contract/queueMessage.js';
import { ConsumerError } from './consumerError.js';

/** A queue message: the full message, or the envelope of one stored in Blob storage (it has payloadBlobUrl). */
export function validateQueueMessage(value: unknown): MailMessage | EnvelopeMessage {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConsumerError('CONSUMER_ITEM_MALFORMED', 'Not a mail-drain queue message: its JSON is not an object.');
  }
  // Validated against one of the two shapes, chosen by payloadBlobUrl, so the error names a field, not "no union member matched".
  return 'payloadBlobUrl' in value ? validate(envelopeMessageSchema, value, 'queue message (envelope)') : validateMailMessage(value);
}

/** The full message: inline on the queue, or the payload blob an envelope points to. */
export function validateMailMessage(value: unknown, what = 'queue message'): MailMessage {
  return validate(mailMessageSchema, value, what);
}

function validate<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
  const path = [...issue.path, ...keys.slice(0, 1)];
  const field = path.length === 0 ? '(the message)' : path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
  const id = typeof (value as { id?: unknown }).id === 'string' ? (value as { id: string }).id : undefined;
  const extra = result.error.issues.length > 1 ? ` (and ${result.error.issues.length - 1} more)` : '';
  return fail(
    new ConsumerError(
      'CONSUMER_SCHEMA_MISMATCH',
      `The ${what} does not match schemaVersion 1 at ${field}: ${keys.length ? 'a field this version does not know' : issue.message}${extra}.`,
      { field, ...(id && /^[0-9a-f]{64}$/.test(id) ? { id } : {}) },
      { cause: result.error },
    ),
  );
}

function fail(error: ConsumerError): never {
  throw error;
}
