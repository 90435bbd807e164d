/** publicUrl: URLs as they may be shown or sent, without a SAS. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { publicUrl } from '../../../shared/outbox/publicUrl.js';

test('publicUrl drops a SAS query string and nothing else', () => {
  assert.equal(publicUrl('https://a.blob.core.windows.net/c/messages/x/raw.eml?sv=2024&sig=abc%3D'), 'https://a.blob.core.windows.net/c/messages/x/raw.eml');
  assert.equal(publicUrl('https://a.blob.core.windows.net/c/messages/a%3Fb/raw.eml'), 'https://a.blob.core.windows.net/c/messages/a%3Fb/raw.eml');
  assert.equal(publicUrl('https://a.queue.core.windows.net/q'), 'https://a.queue.core.windows.net/q');
});

test('publicUrl: whatever follows the first "?" or "#" goes, so no part of a signature survives', () => {
  const sas = 'sv=2024-11-04&ss=bq&srt=sco&sp=rwdlacup&se=2026-01-01T00:00:00Z&sig=Zm9vYmFy%2Fbaz%3D';
  assert.equal(publicUrl(`https://a.queue.core.windows.net/q?${sas}`), 'https://a.queue.core.windows.net/q');
  assert.equal(publicUrl(`https://a.blob.core.windows.net/c?${sas}#frag`), 'https://a.blob.core.windows.net/c');
  assert.equal(publicUrl('https://a.blob.core.windows.net/c/x#sig=abc?sv=1'), 'https://a.blob.core.windows.net/c/x');
  assert.equal(publicUrl('https://a.blob.core.windows.net/c/x?sig=a\nb'), 'https://a.blob.core.windows.net/c/x', 'even across a line break');
  assert.equal(publicUrl('http://127.0.0.1:10000/devstoreaccount1/c/messages/a%23b%3Fc/raw.eml?sig=x'), 'http://127.0.0.1:10000/devstoreaccount1/c/messages/a%23b%3Fc/raw.eml');
});
