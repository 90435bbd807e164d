/** The drain's plan: which messages go together, in which order, and the time each step keeps back. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inBatches } from '../../../shared/drain/plan.js';

test('inBatches bounds batches by count and bytes, in UID order; a larger message is a batch of its own', () => {
  const m = (uid: number, size: number) => ({ uid, size });
  assert.deepEqual(inBatches([m(1, 10), m(2, 10), m(3, 10)], 2, 100).map((b) => b.map((x) => x.uid)), [[1, 2], [3]]);
  assert.deepEqual(inBatches([m(1, 60), m(2, 60), m(3, 500), m(4, 1)], 10, 100).map((b) => b.map((x) => x.uid)), [[1], [2], [3], [4]]);
});
