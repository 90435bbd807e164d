/** The deadline every Storage call gets: a fixed allowance plus time for what it carries. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STORAGE_CALL_MS, storageDeadline, storageDeadlineMs } from '../../../shared/outbox/storageLimits.js';

const MiB = 1024 * 1024;

test('storageDeadlineMs: STORAGE_CALL_MS, plus a second for each MiB begun', () => {
  assert.equal(storageDeadlineMs(), STORAGE_CALL_MS);
  assert.equal(storageDeadlineMs(0), STORAGE_CALL_MS);
  assert.equal(storageDeadlineMs(1), STORAGE_CALL_MS + 1000, 'a byte begins a MiB');
  assert.equal(storageDeadlineMs(MiB), STORAGE_CALL_MS + 1000);
  assert.equal(storageDeadlineMs(MiB + 1), STORAGE_CALL_MS + 2000);
  assert.equal(storageDeadlineMs(150 * MiB), STORAGE_CALL_MS + 150_000, 'a 150 MiB message: 1 MiB/s');
});

test('storageDeadlineMs grows with the bytes and never shrinks', () => {
  let previous = 0;
  for (let bytes = 0; bytes <= 64 * MiB; bytes += 3 * MiB + 12345) {
    const ms = storageDeadlineMs(bytes);
    assert.ok(ms >= previous, `${bytes} bytes`);
    previous = ms;
  }
  assert.ok(storageDeadlineMs(64 * MiB) > storageDeadlineMs(4 * MiB));
});

test('storageDeadline is a signal that is not yet aborted and ends after storageDeadlineMs of the bytes', (t) => {
  const timeout = t.mock.method(AbortSignal, 'timeout');
  const signal = storageDeadline(10 * MiB);
  assert.equal(signal.aborted, false);
  assert.deepEqual(timeout.mock.calls.map((c) => c.arguments), [[storageDeadlineMs(10 * MiB)]]);
  storageDeadline();
  assert.deepEqual(timeout.mock.calls[1]!.arguments, [STORAGE_CALL_MS]);
});
