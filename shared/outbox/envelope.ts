/** The small queue message that points at a message's full JSON in Blob storage (the claim check). */
import { QUEUE_JSON_LIMIT, type EnvelopeMessage, type QueueMessage } from '../contract/queueMessage.js';
import type { StoredBlob } from './outbox.js';

/**
 * The envelope for a claim-checked message: identity fields always, the
 * descriptive ones only while they fit (a hostile subject can be megabytes).
 */
export function envelopeFor(message: QueueMessage, payload: StoredBlob): EnvelopeMessage {
  const { schemaVersion, id, mailbox, folder, uid, uidValidity, receivedAt, date } = message;
  const minimal = {
    schemaVersion, id, mailbox, folder, uid, uidValidity, receivedAt, date,
    payloadBlobUrl: payload.blobUrl,
    payloadSize: payload.size,
  };
  const full = { ...minimal, messageId: message.messageId, subject: message.subject, from: message.from };
  return Buffer.byteLength(JSON.stringify(full), 'utf8') <= QUEUE_JSON_LIMIT ? full : minimal;
}
