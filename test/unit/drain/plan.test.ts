/** The drain's plan: which messages go together, in which order, and the time each step keeps back. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BATCH_BYTES, BATCH_SIZE, inBatches, memoryOf, plan, reserveFor, SETTLE_RESERVE_MS, STREAM_PARSE_BYTES, STREAMED_STEP_BYTES, type Step } from '../../../shared/drain/plan.js';
import { storageDeadlineMs } from '../../../shared/outbox/storageLimits.js';

const MiB = 1024 * 1024;
const m = (uid: number, size: number) => ({ uid, size });
const uids = (steps: Step[]) =>
  steps.map((s) => `${s.kind === 'fetched' ? '' : `${s.kind} `}${s.alone ? 'alone ' : ''}${s.messages.map((x) => x.uid).join(',')}`);

test('plan: messages too large to parse are streamed first, one by one; then suspects alone; then the rest in batches, each in UID order', () => {
  const pending = [m(1, 10), m(2, 5_000), m(3, 10), m(4, 10), m(5, 9_000), m(6, 10), m(7, 10)];
  assert.deepEqual(uids(plan(pending, new Set([4, 6]), 1_000)), ['oversized alone 2', 'oversized alone 5', 'alone 4', 'alone 6', '1,3,7']);
});

test('plan: every message is in exactly one step; a suspect too large to parse is streamed, not also tried alone', () => {
  const pending = Array.from({ length: 80 }, (_, i) => m(i + 1, (i * 37) % 11 === 0 ? 2_000 : 100));
  const steps = plan(pending, new Set([3, 12, 23, 40]), 1_000);
  const planned = steps.flatMap((s) => s.messages.map((x) => x.uid)).sort((a, b) => a - b);
  assert.deepEqual(planned, pending.map((x) => x.uid));
  assert.deepEqual(uids(steps.filter((s) => s.messages.some((x) => x.uid === 12))), ['oversized alone 12'], 'UID 12 is 2,000 bytes');
});

test('plan: a message of exactly MAX_MESSAGE_BYTES is parsed; one byte more is streamed to quarantine', () => {
  assert.deepEqual(uids(plan([m(1, 1_000), m(2, 1_001)], new Set(), 1_000)), ['oversized alone 2', '1']);
});

test('plan of nothing is no step; of only suspects, one step each', () => {
  assert.deepEqual(plan([], new Set([1]), 1_000), []);
  assert.deepEqual(uids(plan([m(1, 1), m(2, 1)], new Set([1, 2]), 1_000)), ['alone 1', 'alone 2']);
});

test('plan batches by BATCH_SIZE and BATCH_BYTES when not told otherwise', () => {
  const small = Array.from({ length: 2 * BATCH_SIZE + 3 }, (_, i) => m(i + 1, 1_000));
  assert.deepEqual(plan(small, new Set(), 100 * MiB).map((s) => s.messages.length), [BATCH_SIZE, BATCH_SIZE, 3]);
  const large = Array.from({ length: 23 }, (_, i) => m(i + 1, 3 * MiB));
  assert.deepEqual(plan(large, new Set(), 100 * MiB).map((s) => s.messages.length), [21, 2], '21 messages of 3 MiB fit in 64 MiB, 22 do not');
});

test('plan: a message over STREAM_PARSE_BYTES is a streamed step of its own where it falls in UID order; exactly STREAM_PARSE_BYTES is fetched', () => {
  const pending = [m(1, 10), m(2, STREAM_PARSE_BYTES + 1), m(3, 10), m(4, STREAM_PARSE_BYTES), m(5, 30 * MiB), m(6, 10)];
  assert.deepEqual(uids(plan(pending, new Set(), 100 * MiB)), ['1', 'streamed 2', '3,4', 'streamed 5', '6']);
});

test('plan: a suspect over STREAM_PARSE_BYTES is streamed alone', () => {
  assert.deepEqual(uids(plan([m(1, 10), m(2, 5 * MiB), m(3, 10)], new Set([2]), 100 * MiB)), ['streamed alone 2', '1,3']);
});

test('memoryOf: a fetched step holds its bytes; a streamed one at most STREAMED_STEP_BYTES, whatever its size', () => {
  assert.equal(memoryOf({ messages: [m(1, 3 * MiB), m(2, MiB)], kind: 'fetched', alone: false }), 4 * MiB);
  assert.equal(memoryOf({ messages: [m(1, 150_000_000)], kind: 'streamed', alone: false }), STREAMED_STEP_BYTES);
  assert.equal(memoryOf({ messages: [m(1, 150_000_000)], kind: 'oversized', alone: true }), STREAMED_STEP_BYTES);
  assert.equal(memoryOf({ messages: [m(1, 5 * MiB)], kind: 'streamed', alone: false }), 5 * MiB);
});

test('inBatches bounds batches by count and bytes, in UID order; a larger message is a batch of its own', () => {
  assert.deepEqual(inBatches([m(1, 10), m(2, 10), m(3, 10)], 2, 100).map((b) => b.map((x) => x.uid)), [[1, 2], [3]]);
  assert.deepEqual(inBatches([m(1, 60), m(2, 60), m(3, 500), m(4, 1)], 10, 100).map((b) => b.map((x) => x.uid)), [[1], [2], [3], [4]]);
});

test('inBatches: a batch may reach the byte bound exactly; empty messages count towards the count bound', () => {
  assert.deepEqual(inBatches([m(1, 40), m(2, 60), m(3, 1)], 10, 100).map((b) => b.map((x) => x.uid)), [[1, 2], [3]]);
  assert.deepEqual(inBatches([m(1, 0), m(2, 0), m(3, 0)], 2, 100).map((b) => b.map((x) => x.uid)), [[1, 2], [3]]);
  assert.deepEqual(inBatches([], 2, 100), []);
});

test('reserveFor: a minute for the commands plus a second per MiB begun, as the comment on SETTLE_RESERVE_MS reckons', () => {
  const step = (...sizes: number[]): Step => ({ messages: sizes.map((size, i) => m(i + 1, size)), kind: 'fetched', alone: false });
  assert.equal(reserveFor(step()), SETTLE_RESERVE_MS);
  assert.equal(reserveFor(step(1)), SETTLE_RESERVE_MS + 1_000);
  assert.equal(reserveFor(step(MiB / 2, MiB / 2)), SETTLE_RESERVE_MS + 1_000, 'the bytes of the whole step, not per message');
  assert.equal(reserveFor(step(BATCH_BYTES)), 124_000, 'a full 64 MiB batch: about two minutes');
});

test('reserveFor: a message streamed to quarantine was started with less time left than its upload may take', () => {
  // The upload's deadline allows twice the size: 45 s + 287 s for 150 MB; the reserve was 204 s.
  const streamed: Step = { messages: [m(1, 150_000_000)], kind: 'oversized', alone: true };
  assert.equal(reserveFor(streamed), SETTLE_RESERVE_MS + storageDeadlineMs(300_000_000));
  assert.equal(reserveFor(streamed), 392_000, 'about six and a half minutes');
});
