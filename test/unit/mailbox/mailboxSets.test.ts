/** Pure helpers of the mailbox, outbox and hand-off: UID sets, folder names, URLs, failure attribution. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RestError } from '@azure/storage-blob';
import { canonicalPath } from '../../../shared/mailbox/folders.js';
import { uidSet } from '../../../shared/mailbox/uidSet.js';
import { publicUrl } from '../../../shared/outbox/outbox.js';
import { isOwnFailure } from '../../../shared/drain/isOwnFailure.js';
import { explainStorageError } from '../../../shared/errors/explain.js';
import { DrainError } from '../../../shared/errors/errors.js';
import { inBatches } from '../../../shared/drain/plan.js';

test('uidSet packs UIDs into ranges, sorted and deduplicated, however many there are', () => {
  assert.equal(uidSet([3, 1, 2, 2, 7, 9, 8, 12]), '1:3,7:9,12');
  assert.equal(uidSet([5]), '5');
  const backlog = Array.from({ length: 20_000 }, (_, i) => i + 1);
  assert.equal(uidSet(backlog), '1:20000', 'a contiguous backlog is one short argument');
});

test('canonicalPath: INBOX in any case is INBOX; another folder takes the listed spelling only when one differs just by case', () => {
  assert.equal(canonicalPath('inbox', []), 'INBOX');
  assert.equal(canonicalPath('InBoX', ['INBOX']), 'INBOX');
  assert.equal(canonicalPath('invoices', ['INBOX', 'Invoices']), 'Invoices');
  assert.equal(canonicalPath('Invoices', ['INBOX', 'Invoices', 'invoices']), 'Invoices', 'an exact match wins');
  assert.equal(canonicalPath('INVOICES', ['Invoices', 'invoices']), 'INVOICES', 'ambiguous: as typed');
  assert.equal(canonicalPath('Archive/2026', ['INBOX']), 'Archive/2026', 'unknown: as typed (the server says whether it exists)');
});

test('publicUrl drops a SAS query string and nothing else', () => {
  assert.equal(publicUrl('https://a.blob.core.windows.net/c/messages/x/raw.eml?sv=2024&sig=abc%3D'), 'https://a.blob.core.windows.net/c/messages/x/raw.eml');
  assert.equal(publicUrl('https://a.blob.core.windows.net/c/messages/a%3Fb/raw.eml'), 'https://a.blob.core.windows.net/c/messages/a%3Fb/raw.eml');
  assert.equal(publicUrl('https://a.queue.core.windows.net/q'), 'https://a.queue.core.windows.net/q');
});

test('isOwnFailure: Storage refusing a request for its content is the message\'s; Storage or the session down is not', () => {
  const storage = (statusCode: number) => explainStorageError(new RestError('x', { statusCode }), 'blob b');
  for (const status of [400, 413]) assert.equal(isOwnFailure(storage(status)), true, `HTTP ${status}`);
  for (const status of [401, 403, 404, 409, 500, 503]) assert.equal(isOwnFailure(storage(status)), false, `HTTP ${status}`);
  assert.equal(isOwnFailure(new DrainError('IMAP_MESSAGE_UNREADABLE', 'm', 'r')), true);
  assert.equal(isOwnFailure(new DrainError('IMAP_UNREACHABLE', 'm', 'r')), false);
  assert.equal(isOwnFailure(new DrainError('STORAGE_UNREACHABLE', 'm', 'r')), false);
  assert.equal(isOwnFailure(new TypeError('our code failed on this message')), true);
});

test('inBatches bounds batches by count and bytes, in UID order; a larger message is a batch of its own', () => {
  const m = (uid: number, size: number) => ({ uid, size });
  assert.deepEqual(inBatches([m(1, 10), m(2, 10), m(3, 10)], 2, 100).map((b) => b.map((x) => x.uid)), [[1, 2], [3]]);
  assert.deepEqual(inBatches([m(1, 60), m(2, 60), m(3, 500), m(4, 1)], 10, 100).map((b) => b.map((x) => x.uid)), [[1], [2], [3], [4]]);
});
