import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { messageKey, poisonMessageJsonSchema, queueMessageJsonSchema, QUEUE_JSON_LIMIT } from '../../../shared/contract/queueMessage.js';
import { inBatches } from '../../../shared/drain/plan.js';

test('the committed JSON Schemas are the ones generated from the code', () => {
  for (const [file, generated] of [
    ['queue-message.schema.json', queueMessageJsonSchema()],
    ['poison-message.schema.json', poisonMessageJsonSchema()],
  ] as const) {
    const committed = JSON.parse(readFileSync(new URL(`../../../schema/${file}`, import.meta.url), 'utf8'));
    assert.deepEqual(committed, generated, `run npm run schema and commit schema/${file}`);
  }
});

test('the idempotency key is stable and changes with mailbox, folder, UIDVALIDITY and UID', () => {
  const key = messageKey('Invoices@Contoso.com', 'INBOX', 7, 42);
  assert.equal(key, messageKey('invoices@contoso.com', 'INBOX', 7, 42));
  assert.match(key, /^[0-9a-f]{64}$/);
  const others = [
    messageKey('orders@contoso.com', 'INBOX', 7, 42),
    messageKey('invoices@contoso.com', 'Archive', 7, 42),
    messageKey('invoices@contoso.com', 'INBOX', 8, 42),
    messageKey('invoices@contoso.com', 'INBOX', 7, 43),
  ];
  assert.equal(new Set([key, ...others]).size, 5);
});

test('a queue message carries at most 48 KiB of JSON: 64 KiB once base64-encoded', () => {
  assert.equal(QUEUE_JSON_LIMIT, 49152);
  assert.equal(Buffer.alloc(QUEUE_JSON_LIMIT).toString('base64').length, 65536);
});

test('batches are bounded by count and bytes, in UID order; a huge message gets its own', () => {
  const pending = [10, 20, 30, 500, 40, 50].map((size, i) => ({ uid: i + 1, size }));
  const batches = inBatches(pending, 2, 100).map((b) => b.map((m) => m.uid));
  assert.deepEqual(batches, [[1, 2], [3], [4], [5, 6]]);
});
