import assert from 'node:assert/strict';
import { DrainError } from '../../shared/errors/errors.js';

/** Awaits `promise` and asserts it fails with a DrainError of `code`; returns the error. */
export async function expectDrainError(promise: Promise<unknown>, code: string): Promise<DrainError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof DrainError, `expected a DrainError, got ${String(error)}`);
    assert.equal(error.code, code, error.explain());
    return error;
  }
  assert.fail(`the drain did not fail with ${code}`);
}
