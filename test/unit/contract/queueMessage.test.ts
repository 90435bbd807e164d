/** The queue message contract: the idempotency key, the queue encoding and its limit, and what the schemas accept. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import {
  decodeFromQueue,
  encodeForQueue,
  envelopeMessageSchema,
  INLINE_BODY_LIMIT,
  mailMessageSchema,
  messageKey,
  poisonMessageSchema,
  QUEUE_JSON_LIMIT,
  QUEUE_MESSAGE_LIMIT,
  queueMessageSchema,
  SCHEMA_VERSION,
  type EnvelopeMessage,
  type PoisonMessage,
} from '../../../shared/contract/queueMessage.js';
import { mailMessage } from '../support/mailMessage.js';

const envelope = (): EnvelopeMessage => {
  const { schemaVersion, id, mailbox, folder, uid, uidValidity, receivedAt, date } = mailMessage();
  return { schemaVersion, id, mailbox, folder, uid, uidValidity, receivedAt, date, payloadBlobUrl: 'https://a.blob.core.windows.net/c/messages/x/message.json', payloadSize: 70_000 };
};

const poison = (): PoisonMessage => ({
  schemaVersion: SCHEMA_VERSION,
  id: messageKey('invoices@contoso.com', 'INBOX', 7, 42),
  mailbox: 'invoices@contoso.com',
  folder: 'INBOX',
  uid: 42,
  uidValidity: 7,
  reason: 'unparseable',
  detail: 'mailparser could not parse the message: Max header size for a MIME node exceeded',
  raw: { blobUrl: 'https://a.blob.core.windows.net/c/quarantine/x/raw.eml', size: 10, sha256: 'b'.repeat(64) },
  movedTo: 'Failed',
  quarantinedAt: '2026-01-02T03:04:05.000Z',
});

test('messageKey is the same in every release: consumers dedupe re-deliveries on it', () => {
  assert.equal(messageKey('invoices@contoso.com', 'INBOX', 7, 42), '7329097733d9244eb70c9fc361be7d4ef1ed5d59be0c6c280c7f09a098466077');
});

test('messageKey: the mailbox in any case is one mailbox; the folder is taken as spelled (canonicalPath spells it)', () => {
  const key = messageKey('invoices@contoso.com', 'INBOX', 7, 42);
  assert.equal(messageKey('Invoices@Contoso.COM', 'INBOX', 7, 42), key);
  assert.notEqual(messageKey('invoices@contoso.com', 'Inbox', 7, 42), key);
  assert.notEqual(messageKey('invoices@contoso.com', 'Archive', 7, 42), messageKey('invoices@contoso.com', 'archive', 7, 42));
});

test('messageKey changes with each of mailbox, folder, UIDVALIDITY and UID, and no two of them run into each other', () => {
  const keys = [
    messageKey('invoices@contoso.com', 'INBOX', 7, 42),
    messageKey('orders@contoso.com', 'INBOX', 7, 42),
    messageKey('invoices@contoso.com', 'Archive', 7, 42),
    messageKey('invoices@contoso.com', 'INBOX', 8, 42),
    messageKey('invoices@contoso.com', 'INBOX', 7, 43),
    messageKey('invoices@contoso.com', 'INBOX', 74, 2),
    messageKey('invoices@contoso.com', 'INBOX7', 4, 2),
  ];
  assert.equal(new Set(keys).size, keys.length);
  for (const key of keys) assert.match(key, /^[0-9a-f]{64}$/);
});

test('a full message, an envelope and a poison notice survive encodeForQueue and decoding unchanged, non-ASCII text included', () => {
  const full = mailMessage({ subject: 'Rechnung für März 🧾', from: [{ name: '山田 太郎', address: 'yamada@example.jp' }] });
  assert.deepEqual(decodeFromQueue(encodeForQueue(full)), full);
  assert.deepEqual(decodeFromQueue(encodeForQueue(envelope())), envelope());
  const notice = poison();
  assert.deepEqual(poisonMessageSchema.parse(JSON.parse(Buffer.from(encodeForQueue(notice), 'base64').toString('utf8'))), notice);
});

test('encodeForQueue is base64 of the UTF-8 JSON: the Functions queue trigger reads it without settings', () => {
  const full = mailMessage({ subject: 'é' });
  assert.equal(encodeForQueue(full), Buffer.from(JSON.stringify(full), 'utf8').toString('base64'));
  assert.match(encodeForQueue(full), /^[A-Za-z0-9+/]+=*$/);
});

test('QUEUE_JSON_LIMIT bytes of JSON, counted in UTF-8, are exactly the 64 KiB a queue message may be once encoded', () => {
  assert.equal(QUEUE_MESSAGE_LIMIT, 64 * 1024);
  const sized = (subjectChar: string) => {
    const base = Buffer.byteLength(JSON.stringify(mailMessage({ subject: '' })), 'utf8');
    const perChar = Buffer.byteLength(subjectChar, 'utf8');
    const count = Math.floor((QUEUE_JSON_LIMIT - base) / perChar);
    return mailMessage({ subject: subjectChar.repeat(count) + 's'.repeat(QUEUE_JSON_LIMIT - base - count * perChar) });
  };
  for (const char of ['s', 'é']) {
    const atLimit = sized(char);
    assert.equal(Buffer.byteLength(JSON.stringify(atLimit), 'utf8'), QUEUE_JSON_LIMIT, `filled with ${char}`);
    assert.equal(encodeForQueue(atLimit).length, QUEUE_MESSAGE_LIMIT, `filled with ${char}`);
    assert.ok(encodeForQueue({ ...atLimit, subject: `${atLimit.subject}s` }).length > QUEUE_MESSAGE_LIMIT, 'one byte more does not fit');
  }
});

test('decodeFromQueue throws on what is not a queue message, rather than passing it on', () => {
  assert.throws(() => decodeFromQueue('not base64 JSON'), SyntaxError);
  assert.throws(() => decodeFromQueue(Buffer.from('{"hello":"world"}').toString('base64')), z.ZodError);
  assert.throws(() => decodeFromQueue(encodeForQueue(poison())), z.ZodError, 'a poison notice is not a queue message');
});

test('mailMessageSchema accepts a valid message, nullable fields null and optional body blobs present', () => {
  assert.deepEqual(mailMessageSchema.parse(mailMessage()), mailMessage());
  const sparse = mailMessage({ messageId: null, date: null, subject: null, from: [], text: null, html: null, attachments: [] });
  assert.deepEqual(mailMessageSchema.parse(sparse), sparse);
  const blob = { blobUrl: 'https://a.blob.core.windows.net/c/messages/x/body.txt', size: INLINE_BODY_LIMIT + 1, sha256: 'c'.repeat(64) };
  const big = mailMessage({ text: null, textBlob: blob, html: null, htmlBlob: { ...blob, blobUrl: blob.blobUrl.replace('txt', 'html') } });
  assert.deepEqual(mailMessageSchema.parse(big), big);
});

test('mailMessageSchema rejects malformed messages, each for its own reason', () => {
  const base = mailMessage();
  const attachment = base.attachments[0]!;
  const malformed: Record<string, unknown> = {
    'an id that is not 64 hex digits': { ...base, id: 'abc' },
    'an id in upper case': { ...base, id: base.id.toUpperCase() },
    'another schema version': { ...base, schemaVersion: 2 },
    'UID 0': { ...base, uid: 0 },
    'a fractional UID': { ...base, uid: 1.5 },
    'a negative UIDVALIDITY': { ...base, uidValidity: -1 },
    'no raw blob': { ...base, raw: undefined },
    'a raw blob of negative size': { ...base, raw: { ...base.raw, size: -1 } },
    'an attachment without a hash': { ...base, attachments: [{ ...attachment, sha256: '' }] },
    'an attachment whose inline is a string': { ...base, attachments: [{ ...attachment, inline: 'true' }] },
    'an address without its name': { ...base, from: [{ address: 'billing@fabrikam.com' }] },
    'a field the contract does not have': { ...base, priority: 'high' },
    'a missing subject': Object.fromEntries(Object.entries(base).filter(([k]) => k !== 'subject')),
  };
  for (const [why, message] of Object.entries(malformed)) assert.equal(mailMessageSchema.safeParse(message).success, false, why);
});

test('envelopeMessageSchema: identity fields and the payload blob are required, the descriptive ones optional', () => {
  assert.equal(envelopeMessageSchema.safeParse(envelope()).success, true);
  const { subject, from, messageId } = mailMessage();
  assert.equal(envelopeMessageSchema.safeParse({ ...envelope(), subject, from, messageId }).success, true);
  for (const field of ['id', 'uid', 'uidValidity', 'receivedAt', 'payloadBlobUrl', 'payloadSize'] as const) {
    const { [field]: _, ...without } = envelope();
    assert.equal(envelopeMessageSchema.safeParse(without).success, false, `without ${field}`);
  }
  assert.equal(envelopeMessageSchema.safeParse({ ...envelope(), payloadSize: 0 }).success, false, 'an empty payload');
  assert.equal(envelopeMessageSchema.safeParse({ ...envelope(), text: 'body' }).success, false, 'a body in an envelope');
});

test('queueMessageSchema takes a full message or an envelope, never a mix of both', () => {
  assert.equal(queueMessageSchema.safeParse(mailMessage()).success, true);
  assert.equal(queueMessageSchema.safeParse(envelope()).success, true);
  const { payloadBlobUrl, payloadSize } = envelope();
  assert.equal(queueMessageSchema.safeParse({ ...mailMessage(), payloadBlobUrl, payloadSize }).success, false);
});

test('poisonMessageSchema: raw may be null (the server would not return the bytes); the reason is one of three', () => {
  assert.equal(poisonMessageSchema.safeParse({ ...poison(), reason: 'max-attempts', raw: null }).success, true);
  for (const reason of ['unparseable', 'too-large', 'max-attempts']) assert.equal(poisonMessageSchema.safeParse({ ...poison(), reason }).success, true, reason);
  assert.equal(poisonMessageSchema.safeParse({ ...poison(), reason: 'spam' }).success, false);
  assert.equal(poisonMessageSchema.safeParse({ ...poison(), movedTo: undefined }).success, false);
});

test('INLINE_BODY_LIMIT is the 256 KiB the schema promises consumers, and keeps a body of control characters under 1.5 MiB of JSON', () => {
  assert.equal(INLINE_BODY_LIMIT, 256 * 1024);
  for (const blob of [mailMessageSchema.shape.textBlob, mailMessageSchema.shape.htmlBlob]) {
    assert.match(blob.description ?? '', new RegExp(`over ${INLINE_BODY_LIMIT / 1024} KiB`));
  }
  // The worst case: JSON writes each control character as six (\u0001); two more for the quotes.
  assert.ok(JSON.stringify('\x01'.repeat(INLINE_BODY_LIMIT)).length <= 1.5 * 1024 * 1024 + 2);
});
