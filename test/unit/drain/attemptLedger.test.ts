/** The attempt ledger on its own: what counts, what is forgotten, what a death leaves behind. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AttemptLedger } from '../../../shared/drain/attemptLedger.js';
import type { HandOffResult } from '../../../shared/drain/handOff.js';
import type { DrainState } from '../../../shared/outbox/mailboxLease.js';

const failed = (uid: number, own: boolean): HandOffResult => ({ outcome: 'failed', uid, id: `id${uid}`, error: new Error('x'), own });
const quarantined = (uid: number): HandOffResult => ({ outcome: 'quarantined', uid, id: `id${uid}`, reason: 'max-attempts', detail: '', rawBlobUrl: null });

test('own failures count, passing ones never, and a settled message is forgotten', () => {
  const state: DrainState = { attempts: {}, inFlight: [] };
  const ledger = new AttemptLedger(state);
  ledger.begin([1, 2, 3]);
  assert.deepEqual(state.inFlight, [1, 2, 3], 'in flight before the hand-off');
  ledger.settle([failed(1, true), failed(2, false), quarantined(3)]);
  assert.equal(ledger.attemptsOf(1), 1);
  assert.equal(ledger.attemptsOf(2), 0, 'Storage down is not the message\'s fault');
  assert.deepEqual(state.inFlight, []);
  ledger.settle([failed(1, true)]);
  assert.equal(ledger.attemptsOf(1), 2);
  ledger.settle([quarantined(1)]);
  assert.equal(ledger.attemptsOf(1), 0);
  assert.deepEqual(state.attempts, {});
});

test('a drain that died mid-step: each UID in flight counts once and is returned to be tried alone', () => {
  const state: DrainState = { uidValidity: 7, attempts: { 2: 1, 9: 3 }, inFlight: [1, 2, 5] };
  const ledger = new AttemptLedger(state);
  const suspects = ledger.recoverFromDeath(new Set([1, 2, 3]));
  assert.deepEqual([...suspects].sort(), [1, 2], 'UID 5 left the folder meanwhile');
  assert.equal(ledger.attemptsOf(1), 1);
  assert.equal(ledger.attemptsOf(2), 2);
  assert.equal(ledger.attemptsOf(9), 0, 'counts of messages no longer in the folder are forgotten');
  assert.deepEqual(state.inFlight, []);
});

test('an abandoned step counts nothing; a new UIDVALIDITY clears the counts', () => {
  const state: DrainState = { uidValidity: 7, attempts: { 4: 2 }, inFlight: [] };
  const ledger = new AttemptLedger(state);
  ledger.begin([4]);
  ledger.abandon();
  assert.equal(ledger.attemptsOf(4), 2);
  assert.equal(ledger.keyTo(7), undefined, 'same UIDVALIDITY');
  assert.equal(ledger.attemptsOf(4), 2);
  assert.equal(ledger.keyTo(8), 7, 'renumbered from 7');
  assert.deepEqual(state, { uidValidity: 8, attempts: {}, inFlight: [] });
});
