/** The identity a raw blob's metadata records: ASCII on the wire, the mail's own names back, and never another message's. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { messageKey } from '../../../shared/contract/queueMessage.js';
import { identityMetadata, identityOf } from '../../../shared/drain/messageIdentity.js';

const ref = { mailbox: 'Orders@Contoso.example', folder: 'Eingang/Überprüft – 請求書', uidValidity: 1700000000 };
const receivedAt = new Date('2026-11-20T08:00:00Z');
const id = messageKey(ref.mailbox, ref.folder, ref.uidValidity, 42);

test('metadata is ASCII (it travels as HTTP headers) and reads back as the mail it came from', () => {
  const metadata = identityMetadata(ref, 42, receivedAt);
  for (const [name, value] of Object.entries(metadata)) assert.match(`${name}=${value}`, /^[\x21-\x7e]+$/, name);
  assert.deepEqual(identityOf(metadata, id), { ...ref, uid: 42, receivedAt: '2026-11-20T08:00:00.000Z' });
});

test('names in another case (as Storage may return them) are read', () => {
  const upper = Object.fromEntries(Object.entries(identityMetadata(ref, 42, receivedAt)).map(([k, v]) => [k.toUpperCase(), v]));
  assert.equal(identityOf(upper, id)?.uid, 42);
});

test('no identity, a partial one, or one of another id is none', () => {
  assert.equal(identityOf({}, id), undefined);
  const { uid: _uid, ...partial } = identityMetadata(ref, 42, receivedAt);
  assert.equal(identityOf(partial, id), undefined);
  assert.equal(identityOf(identityMetadata(ref, 43, receivedAt), id), undefined, 'metadata copied onto another message is not believed');
  assert.equal(identityOf({ ...identityMetadata(ref, 42, receivedAt), folder: '%E0%A4%A' }, id), undefined, 'malformed encoding');
});

test('without INTERNALDATE the identity has no receivedAt', () => {
  assert.equal(identityOf(identityMetadata(ref, 42, undefined), id)?.receivedAt, undefined);
});
