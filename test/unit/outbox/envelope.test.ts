/** envelopeFor: what the queue carries for a message whose JSON went to a blob. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { envelopeFor } from '../../../shared/outbox/envelope.js';
import { decodeFromQueue, encodeForQueue, QUEUE_JSON_LIMIT, QUEUE_MESSAGE_LIMIT, type Address } from '../../../shared/contract/queueMessage.js';
import { mailMessage } from '../support/mailMessage.js';

const payload = { blobUrl: 'https://a.blob.core.windows.net/c/messages/x/message.json', size: 900_000, sha256: 'd'.repeat(64) };
const IDENTITY = ['schemaVersion', 'id', 'mailbox', 'folder', 'uid', 'uidValidity', 'receivedAt', 'date'] as const;

test('the envelope carries the identity fields, the payload blob, and subject, from and Message-ID while they fit; no body, attachment or raw', () => {
  const message = mailMessage({ text: 'x'.repeat(100_000) });
  const envelope = envelopeFor(message, payload);
  for (const field of IDENTITY) assert.equal(envelope[field], message[field], field);
  assert.equal(envelope.payloadBlobUrl, payload.blobUrl);
  assert.equal(envelope.payloadSize, payload.size);
  assert.equal(envelope.subject, message.subject);
  assert.deepEqual(envelope.from, message.from);
  assert.equal(envelope.messageId, message.messageId);
  assert.deepEqual(Object.keys(envelope).sort(), [...IDENTITY, 'payloadBlobUrl', 'payloadSize', 'subject', 'from', 'messageId'].sort());
  assert.deepEqual(decodeFromQueue(encodeForQueue(envelope)), envelope, 'a valid queue message');
});

test('a hostile subject, sender list or Message-ID of megabytes leaves only the identity fields, and the envelope still fits the queue', () => {
  const many: Address[] = Array.from({ length: 20_000 }, (_, i) => ({ name: `Sender ${i}`, address: `s${i}@example.com` }));
  for (const [what, message] of [
    ['subject', mailMessage({ subject: 's'.repeat(2 * 1024 * 1024) })],
    ['from', mailMessage({ from: many })],
    ['Message-ID', mailMessage({ messageId: `<${'m'.repeat(QUEUE_JSON_LIMIT)}@example.com>` })],
  ] as const) {
    const envelope = envelopeFor(message, payload);
    assert.deepEqual(Object.keys(envelope).sort(), [...IDENTITY, 'payloadBlobUrl', 'payloadSize'].sort(), what);
    assert.ok(encodeForQueue(envelope).length <= QUEUE_MESSAGE_LIMIT, what);
    assert.deepEqual(decodeFromQueue(encodeForQueue(envelope)), envelope, what);
  }
});

test('the descriptive fields are kept up to the last byte that fits, and dropped together one byte beyond', () => {
  const withSubject = (subject: string) => envelopeFor(mailMessage({ subject }), payload);
  const room = QUEUE_JSON_LIMIT - Buffer.byteLength(JSON.stringify(withSubject('')), 'utf8');
  const fits = withSubject('s'.repeat(room));
  assert.equal(Buffer.byteLength(JSON.stringify(fits), 'utf8'), QUEUE_JSON_LIMIT);
  assert.equal(fits.subject?.length, room);
  const over = withSubject('s'.repeat(room + 1));
  assert.equal(over.subject, undefined);
  assert.equal(over.from, undefined, 'from goes with the subject');
  assert.equal(over.messageId, undefined, 'and so does the Message-ID');
});
