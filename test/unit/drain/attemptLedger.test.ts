/** The attempt ledger on its own: what counts, what is forgotten, what a death leaves behind, and when it is saved. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AttemptLedger, type LedgerStore } from '../../../shared/drain/attemptLedger.js';
import type { HandOffResult } from '../../../shared/drain/handOff.js';
import type { DrainState } from '../../../shared/outbox/mailboxLease.js';

const failed = (uid: number, own: boolean): HandOffResult => ({ outcome: 'failed', uid, id: `id${uid}`, error: new Error('x'), own });
const quarantined = (uid: number): HandOffResult => ({ outcome: 'quarantined', uid, id: `id${uid}`, reason: 'max-attempts', detail: '', rawBlobUrl: null });

/** A lease's state and every version of it that was saved. */
function store(state: DrainState): LedgerStore & { saved: DrainState[] } {
  const saved: DrainState[] = [];
  return { state, saved, save: async () => void saved.push(structuredClone(state)) };
}

test('own failures count, passing ones never, and a settled message is forgotten', async () => {
  const lease = store({ attempts: {}, inFlight: [], suspects: [] });
  const ledger = new AttemptLedger(lease);
  await ledger.begin([1, 2, 3]);
  assert.deepEqual(lease.saved.at(-1)!.inFlight, [1, 2, 3], 'saved in flight before the hand-off');
  await ledger.settle([1, 2, 3], [failed(1, true), failed(2, false), quarantined(3)]);
  assert.deepEqual(lease.saved.at(-1), { attempts: { 1: 1 }, inFlight: [], suspects: [] }, 'saved after the hand-off');
  assert.equal(ledger.attemptsOf(2), 0, "Storage down is not the message's fault");
  await ledger.settle([1], [failed(1, true)]);
  assert.equal(ledger.attemptsOf(1), 2);
  await ledger.settle([1], [quarantined(1)]);
  assert.equal(ledger.attemptsOf(1), 0);
  assert.deepEqual(lease.saved.at(-1), { attempts: {}, inFlight: [], suspects: [] });
});

test('a drain that died with several messages in flight counts against none: each is returned to be tried alone, and that is saved', async () => {
  const lease = store({ uidValidity: 7, attempts: { 2: 1, 9: 3 }, inFlight: [1, 2, 5], suspects: [] });
  const ledger = new AttemptLedger(lease);
  const { suspects, renumberedFrom } = await ledger.recover(7, new Set([1, 2, 3]));
  assert.deepEqual([...suspects].sort(), [1, 2], 'UID 5 left the folder meanwhile');
  assert.equal(renumberedFrom, undefined);
  assert.equal(ledger.attemptsOf(1), 0, 'which of three killed the drain is not known');
  assert.equal(ledger.attemptsOf(2), 1, 'its own earlier failure still counts');
  assert.equal(ledger.attemptsOf(9), 0, 'counts of messages no longer in the folder are forgotten');
  // Saved at once: a drain that stops before its first step must not count the same death again.
  assert.deepEqual(lease.saved, [{ uidValidity: 7, attempts: { 2: 1 }, inFlight: [], suspects: [1, 2] }]);
  await ledger.recover(7, new Set([1, 2, 3]));
  assert.equal(lease.saved.length, 1, 'nothing changed, nothing saved');
});

test('a drain that died with one message alone in flight counts once against it, however often it recovers', async () => {
  const lease = store({ uidValidity: 7, attempts: { 4: 2 }, inFlight: [4], suspects: [4, 6] });
  const ledger = new AttemptLedger(lease);
  const { suspects } = await ledger.recover(7, new Set([4, 6]));
  assert.deepEqual([...suspects], [4, 6]);
  assert.equal(ledger.attemptsOf(4), 3);
  await ledger.recover(7, new Set([4, 6]));
  assert.equal(ledger.attemptsOf(4), 3, 'recovering twice counts once');
});

test('suspects a drain died before trying stay suspects, and are no longer once tried, whatever the result', async () => {
  const lease = store({ uidValidity: 7, attempts: {}, inFlight: [1, 2, 3], suspects: [] });
  // The drain after the death takes them in, and is killed before it tries them.
  await new AttemptLedger(lease).recover(7, new Set([1, 2, 3]));
  const ledger = new AttemptLedger(lease);
  const { suspects } = await ledger.recover(7, new Set([1, 2, 3]));
  assert.deepEqual([...suspects], [1, 2, 3], 'still to be tried alone');
  await ledger.begin([1]);
  await ledger.settle([1], [quarantined(1)]);
  await ledger.begin([2]);
  await ledger.settle([2], [failed(2, false)]);
  await ledger.begin([3]);
  await ledger.abandon([3]);
  assert.deepEqual(lease.saved.at(-1), { uidValidity: 7, attempts: {}, inFlight: [], suspects: [3] }, 'UID 3 was never tried');
});

test('an abandoned step counts nothing; a new UIDVALIDITY clears the counts', async () => {
  const lease = store({ uidValidity: 7, attempts: { 4: 2 }, inFlight: [], suspects: [] });
  const ledger = new AttemptLedger(lease);
  await ledger.begin([4]);
  await ledger.abandon([4]);
  assert.equal(ledger.attemptsOf(4), 2);
  assert.deepEqual(lease.saved.at(-1)!.inFlight, []);
  const renumbered = await ledger.recover(8, new Set([4]));
  assert.equal(renumbered.renumberedFrom, 7);
  assert.deepEqual(lease.state, { uidValidity: 8, attempts: {}, inFlight: [], suspects: [] });
});

test('abandon() never throws: Storage may be what went away', async () => {
  const ledger = new AttemptLedger({ state: { attempts: {}, inFlight: [], suspects: [] }, save: async () => Promise.reject(new Error('503')) });
  await ledger.abandon([4]);
});

test('steps in flight together: each adds its UIDs and removes only its own', async () => {
  const lease = store({ attempts: {}, inFlight: [], suspects: [] });
  const ledger = new AttemptLedger(lease);
  await ledger.begin([1, 2]);
  await ledger.begin([3]);
  assert.deepEqual(lease.saved.at(-1)!.inFlight, [1, 2, 3], 'a death now counts against every message being handed off');
  await ledger.settle([1, 2], [failed(1, true), quarantined(2)]);
  assert.deepEqual(lease.saved.at(-1)!.inFlight, [3], 'the other step is still in flight');
  await ledger.abandon([3]);
  assert.deepEqual(lease.saved.at(-1)!.inFlight, []);
});

test('overlapping saves run one at a time, and each caller waits for a save that holds its change', async () => {
  const state: DrainState = { attempts: {}, inFlight: [], suspects: [] };
  const written: DrainState[] = [];
  let running = 0;
  let most = 0;
  const slowStore: LedgerStore = {
    state,
    save: async () => {
      // Serialised when the upload starts, as MailboxLease.save does.
      const snapshot = structuredClone(state);
      most = Math.max(most, ++running);
      await new Promise((resolve) => setTimeout(resolve, 20));
      written.push(snapshot);
      running--;
    },
  };
  const ledger = new AttemptLedger(slowStore);
  const begun = [ledger.begin([1]), ledger.begin([2]), ledger.begin([3])];
  await begun[0];
  assert.ok(written.at(-1)!.inFlight.includes(1));
  await Promise.all(begun);
  assert.equal(most, 1, 'never two uploads of the state at once: they could land in either order');
  assert.deepEqual(written.at(-1)!.inFlight, [1, 2, 3], 'the last save holds every change');
  assert.ok(written.length <= 2, `changes made while a save runs share the next one (${written.length} saves)`);
});

test('a message left for the next run by a stopping drain (no result) is no longer in flight, and counts nothing', async () => {
  const lease = store({ attempts: { 2: 1 }, inFlight: [], suspects: [] });
  const ledger = new AttemptLedger(lease);
  await ledger.begin([1, 2]);
  await ledger.settle([1, 2], [quarantined(1)]);
  assert.deepEqual(lease.saved.at(-1), { attempts: { 2: 1 }, inFlight: [], suspects: [] });
});
