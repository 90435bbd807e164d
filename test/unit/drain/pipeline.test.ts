/** The pipeline: steps overlap, bounded by count and bytes, and none is lost or left running. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pipeline } from '../../../shared/drain/pipeline.js';

/** A step error no test expects: it fails the test through idle(). */
const unexpected = (error: unknown) => {
  throw error;
};
const tick = () => new Promise((resolve) => setImmediate(resolve));

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

test('room() waits while the count bound is reached, and returns as soon as a step ends', async () => {
  const pipeline = new Pipeline(2, 1_000);
  const gates = [gate(), gate()];
  pipeline.start(1, () => gates[0]!.opened, unexpected);
  pipeline.start(1, () => gates[1]!.opened, unexpected);
  let roomy = false;
  const room = pipeline.room(1).then(() => (roomy = true));
  await tick();
  assert.equal(roomy, false, 'two steps in flight, at most two');
  gates[1]!.open();
  await room;
  assert.equal(roomy, true);
  gates[0]!.open();
  await pipeline.idle();
});

test('room() waits while the bytes would pass the bound; a step larger than the bound still runs alone', async () => {
  const pipeline = new Pipeline(10, 100);
  const first = gate();
  pipeline.start(60, () => first.opened, unexpected);
  let roomy = false;
  const room = pipeline.room(50).then(() => (roomy = true));
  await tick();
  assert.equal(roomy, false, '60 + 50 bytes > 100');
  first.open();
  await room;
  await pipeline.room(5_000);
  pipeline.start(5_000, async () => {}, unexpected);
  await pipeline.idle();
});

test('a failing step reaches onError, frees its room, and idle() waits for the rest', async () => {
  const pipeline = new Pipeline(2, 100);
  const errors: unknown[] = [];
  const slow = gate();
  let slowDone = false;
  pipeline.start(50, async () => Promise.reject(new Error('lost')), (e) => errors.push(e));
  pipeline.start(50, async () => {
    await slow.opened;
    slowDone = true;
  }, unexpected);
  await pipeline.room(50);
  assert.equal((errors[0] as Error).message, 'lost');
  const idle = pipeline.idle();
  slow.open();
  await idle;
  assert.equal(slowDone, true, 'idle() returns only when every started step has ended');
});
