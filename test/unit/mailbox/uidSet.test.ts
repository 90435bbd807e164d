/** uidSet: the UID sets every FETCH, STORE, MOVE and EXPUNGE names. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uidSet } from '../../../shared/mailbox/uidSet.js';

test('uidSet packs UIDs into ranges, sorted and deduplicated, however many there are', () => {
  assert.equal(uidSet([3, 1, 2, 2, 7, 9, 8, 12]), '1:3,7:9,12');
  assert.equal(uidSet([5]), '5');
  const backlog = Array.from({ length: 20_000 }, (_, i) => i + 1);
  assert.equal(uidSet(backlog), '1:20000', 'a contiguous backlog is one short argument');
});
