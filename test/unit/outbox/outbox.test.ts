/** The outbox's pure part: URLs as they may be shown or sent. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { publicUrl } from '../../../shared/outbox/outbox.js';

test('publicUrl drops a SAS query string and nothing else', () => {
  assert.equal(publicUrl('https://a.blob.core.windows.net/c/messages/x/raw.eml?sv=2024&sig=abc%3D'), 'https://a.blob.core.windows.net/c/messages/x/raw.eml');
  assert.equal(publicUrl('https://a.blob.core.windows.net/c/messages/a%3Fb/raw.eml'), 'https://a.blob.core.windows.net/c/messages/a%3Fb/raw.eml');
  assert.equal(publicUrl('https://a.queue.core.windows.net/q'), 'https://a.queue.core.windows.net/q');
});
