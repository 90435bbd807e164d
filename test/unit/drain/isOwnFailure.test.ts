/** isOwnFailure: which failed hand-offs count towards MAX_ATTEMPTS. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RestError } from '@azure/storage-blob';
import { isOwnFailure } from '../../../shared/drain/isOwnFailure.js';
import { explainStorageError } from '../../../shared/errors/explain.js';
import { DrainError } from '../../../shared/errors/errors.js';

test('isOwnFailure: Storage refusing a request for its content is the message\'s; Storage or the session down is not', () => {
  const storage = (statusCode: number) => explainStorageError(new RestError('x', { statusCode }), 'blob b');
  for (const status of [400, 413]) assert.equal(isOwnFailure(storage(status)), true, `HTTP ${status}`);
  for (const status of [401, 403, 404, 409, 500, 503]) assert.equal(isOwnFailure(storage(status)), false, `HTTP ${status}`);
  assert.equal(isOwnFailure(new DrainError('IMAP_MESSAGE_UNREADABLE', 'm', 'r')), true);
  assert.equal(isOwnFailure(new DrainError('IMAP_UNREACHABLE', 'm', 'r')), false);
  assert.equal(isOwnFailure(new DrainError('STORAGE_UNREACHABLE', 'm', 'r')), false);
  assert.equal(isOwnFailure(new TypeError('our code failed on this message')), true);
});
