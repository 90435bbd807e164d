/** isOwnFailure: which failed hand-offs count towards MAX_ATTEMPTS. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RestError } from '@azure/storage-blob';
import { isOwnFailure } from '../../../shared/drain/isOwnFailure.js';
import { explainStorageError } from '../../../shared/errors/explain.js';
import { DrainError, type DrainErrorCode } from '../../../shared/errors/errors.js';

const storage = (error: unknown) => explainStorageError(error, { container: 'c', blob: 'messages/x/raw.eml' });
const status = (statusCode: number) => storage(new RestError(`HTTP ${statusCode}`, { statusCode }));

test('isOwnFailure: every status Storage gives for what a request carries (400, 413, 414, 431) is the message\'s', () => {
  for (const s of [400, 413, 414, 431]) assert.equal(isOwnFailure(status(s)), true, `HTTP ${s}`);
});

test('isOwnFailure: Storage refusing access, missing, throttling or failing is not the message\'s', () => {
  for (const s of [401, 403, 404, 408, 409, 412, 429, 500, 502, 503, 504]) assert.equal(isOwnFailure(status(s)), false, `HTTP ${s}`);
});

test('isOwnFailure: Storage not answering in time, or not reachable, is not the message\'s', () => {
  const named = (name: string) => Object.assign(new Error('The operation was aborted.'), { name });
  const coded = (code: string) => Object.assign(new Error(`connect ${code}`), { code });
  for (const error of [named('AbortError'), named('TimeoutError'), coded('ECONNRESET'), coded('ENOTFOUND'), coded('ETIMEDOUT'), new RestError('send failed', { code: 'REQUEST_SEND_ERROR' })]) {
    const explained = storage(error);
    assert.equal(explained.code, 'STORAGE_UNREACHABLE', `${error.name} ${(error as { code?: string }).code ?? ''}`);
    assert.equal(isOwnFailure(explained), false, explained.message);
  }
});

test('isOwnFailure: a Storage error without an HTTP status is not the message\'s', () => {
  assert.equal(isOwnFailure(new DrainError('STORAGE_FAILED', 'm')), false);
  assert.equal(isOwnFailure(new DrainError('STORAGE_FAILED', 'm', {}, { cause: new Error('no status') })), false);
});

test('isOwnFailure: of the IMAP errors only a message the server will not return is the message\'s', () => {
  const passing: DrainErrorCode[] = ['IMAP_AUTH_FAILED', 'IMAP_MAILBOX_NOT_CONNECTED', 'IMAP_TOKEN_EXPIRED', 'IMAP_THROTTLED', 'IMAP_TLS', 'IMAP_UNREACHABLE', 'IMAP_CONNECTION_LOST', 'IMAP_FOLDER_NOT_FOUND', 'IMAP_UIDVALIDITY_CHANGED', 'IMAP_FAILED', 'ENTRA_UNAVAILABLE', 'KEYVAULT_UNREACHABLE'];
  for (const code of passing) assert.equal(isOwnFailure(new DrainError(code, 'm')), false, code);
  assert.equal(isOwnFailure(new DrainError('IMAP_MESSAGE_UNREADABLE', 'm')), true);
});

test('isOwnFailure: anything that is not a DrainError is our code failing on this message, whatever was thrown', () => {
  for (const thrown of [new RangeError('Invalid string length'), new Error('x'), 'a string', undefined, { statusCode: 503 }]) {
    assert.equal(isOwnFailure(thrown), true, String(thrown));
  }
});
