/**
 * The streamed hand-off's memory, measured in a process of its own (the drain's
 * alone, Azurite apart): a 60 MB message, and the 150 MB one of issue 10 with a
 * 50 MB body of control characters. The figures are printed; only the 60 MB
 * message's heap growth is asserted, with a wide margin: it must not follow the
 * message's size.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useTestStack, type TestStack } from '../../support/localStack.js';
import { measureStreamedHandOff } from '../../support/streamedHandOffProcess.js';

let stack: TestStack;
useTestStack((s) => (stack = s));

const MB = 1000 * 1000;
const measure = (totalBytes: number, bodyBytes: number) =>
  measureStreamedHandOff({ connectionString: stack.azurite.connectionString, queueName: stack.queueName, containerName: stack.containerName, totalBytes, bodyBytes });

test('a 60 MB message with a 20 MB body: heap growth stays under 64 MiB', async (t) => {
  const figures = await measure(60 * MB, 20 * MB);
  t.diagnostic(`60 MB: ${JSON.stringify(figures)}`);
  console.log(`# memory, 60 MB message: ${JSON.stringify(figures)}`);
  assert.equal(figures.outcome, 'handedOff');
  assert.ok(figures.sizeBytes >= 58 * MB && figures.textBlobBytes !== null && figures.textBlobBytes >= 19 * MB);
  assert.ok(figures.peakHeapMiB - figures.baselineHeapMiB < 64, `heap grew ${figures.peakHeapMiB - figures.baselineHeapMiB} MiB`);
});

test('the 150 MB message of issue 10, a 50 MB body of control characters: peak RSS printed', async (t) => {
  const figures = await measure(150 * MB, 50 * MB);
  t.diagnostic(`150 MB: ${JSON.stringify(figures)}`);
  console.log(`# memory, 150 MB message: ${JSON.stringify(figures)}`);
  assert.equal(figures.outcome, 'handedOff');
  assert.ok(figures.textBlobBytes !== null && figures.textBlobBytes >= 49 * MB);
});
