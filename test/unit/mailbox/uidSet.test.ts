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

test('uidSet: gaps split ranges; a lone UID between ranges stands alone', () => {
  assert.equal(uidSet([1, 3, 5]), '1,3,5');
  assert.equal(uidSet([10, 11, 13, 20, 21, 22]), '10:11,13,20:22');
  assert.equal(uidSet([4294967294, 4294967295, 1]), '1,4294967294:4294967295', 'the largest UIDs IMAP allows');
});

test('uidSet sorts numerically, not as text', () => {
  assert.equal(uidSet([100, 9, 10, 11]), '9:11,100');
});

test('uidSet of a sparse backlog stays one range per gap, never one argument per UID', () => {
  const everyOther = Array.from({ length: 1_000 }, (_, i) => 2 * i + 1);
  const set = uidSet(everyOther);
  assert.equal(set.split(',').length, 1_000);
  assert.ok(!set.includes(':'));
  const runs = Array.from({ length: 10_000 }, (_, i) => i + 1 + Math.floor(i / 100) * 5);
  assert.equal(uidSet(runs).split(',').length, 100, '100 runs of 100 UIDs: 100 ranges');
});

test('uidSet of no UIDs is empty: every caller skips its command then', () => {
  assert.equal(uidSet([]), '');
});
