/** A finished run as its data points (shared/metrics/runMeasurements.ts): names, values and dimensions. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runMeasurements, type FinishedRun } from '../../../shared/metrics/runMeasurements.js';
import { METRICS } from '../../../shared/metrics/metricNames.js';
import type { RunStatus } from '../../../shared/outbox/mailboxStatus.js';

const status = (over: Partial<RunStatus> = {}): RunStatus => ({
  startedAt: '2026-12-01T10:00:00.000Z',
  endedAt: '2026-12-01T10:00:42.500Z',
  outcome: 'completed',
  handedOff: 7,
  quarantined: 1,
  left: 0,
  oldestWaitingSince: null,
  error: null,
  ...over,
});
const run = (over: Partial<FinishedRun> = {}): FinishedRun => ({ mailbox: 'Invoices@Contoso.com', folder: 'inbox', status: status(), failed: 0, throttledMs: 0, ...over });
const byMetric = (r: FinishedRun) => Object.fromEntries(runMeasurements(r).map((m) => [m.metric, m]));
const where = { mailbox: 'invoices@contoso.com', folder: 'INBOX' };

test('a completed run: its counts, duration, no backlog (oldest age 0), the mailbox in lower case and INBOX as INBOX', () => {
  const points = runMeasurements(run({ throttledMs: 1500 }));
  assert.deepEqual(
    points.map((p) => [p.metric, p.value, p.attributes]),
    [
      ['runs', 1, { ...where, outcome: 'completed' }],
      ['handedOff', 7, where],
      ['quarantined', 1, where],
      ['failed', 0, where],
      ['duration', 42.5, where],
      ['throttledWait', 1500, where],
      ['backlog', 0, where],
      ['oldestWaitingAge', 0, where],
    ],
  );
});

test('an incomplete run: its backlog, the oldest waiting age in minutes, failed hand-offs, its stop code', () => {
  const m = byMetric(
    run({
      folder: 'Scans',
      failed: 2,
      status: status({ outcome: 'incomplete', left: 12, oldestWaitingSince: '2026-12-01T09:30:42.500Z', error: { code: 'STORAGE_UNAVAILABLE', message: 'x', remedy: null } }),
    }),
  );
  assert.equal(m.backlog!.value, 12);
  assert.equal(m.oldestWaitingAge!.value, 30);
  assert.equal(m.failed!.value, 2);
  assert.deepEqual(m.runs!.attributes, { mailbox: 'invoices@contoso.com', folder: 'Scans', outcome: 'incomplete', error_code: 'STORAGE_UNAVAILABLE' });
});

test('a backlog whose age the server did not say has no oldest age rather than a wrong one', () => {
  const m = byMetric(run({ status: status({ outcome: 'incomplete', left: 3, oldestWaitingSince: null }) }));
  assert.equal(m.backlog!.value, 3);
  assert.equal(m.oldestWaitingAge, undefined);
});

test('a failed run: outcome and code on runs, no backlog (it never listed the folder)', () => {
  const m = byMetric(run({ status: status({ outcome: 'failed', handedOff: 0, quarantined: 0, left: null, error: { code: 'IMAP_MAILBOX_NOT_CONNECTED', message: 'x', remedy: 'y' } }) }));
  assert.deepEqual(m.runs!.attributes, { ...where, outcome: 'failed', error_code: 'IMAP_MAILBOX_NOT_CONNECTED' });
  assert.equal(m.backlog, undefined);
  assert.equal(m.oldestWaitingAge, undefined);
});

test('a failure that is not ours has no error_code dimension', () => {
  const m = byMetric(run({ status: status({ outcome: 'failed', left: null, error: { code: null, message: 'bug', remedy: null } }) }));
  assert.deepEqual(m.runs!.attributes, { ...where, outcome: 'failed' });
});

test('credential days left, fractional, from the end of the run; none without an expiry (federated)', () => {
  assert.equal(byMetric(run({ credentialExpiresOn: new Date('2026-12-11T22:00:42.500Z') })).credentialDaysLeft!.value, 10.5);
  assert.equal(byMetric(run()).credentialDaysLeft, undefined);
});

test('every data point is a declared metric, and nothing but mailbox, folder, outcome and error_code is a dimension', () => {
  const points = runMeasurements(
    run({ credentialExpiresOn: new Date('2027-01-01'), status: status({ outcome: 'incomplete', left: 1, oldestWaitingSince: '2026-12-01T09:00:00Z', error: { code: 'IMAP_THROTTLED', message: 'x', remedy: null } }) }),
  );
  assert.deepEqual(new Set(points.map((p) => p.metric)), new Set(Object.keys(METRICS)), 'a run with everything emits every metric');
  for (const p of points) for (const key of Object.keys(p.attributes)) assert.ok(['mailbox', 'folder', 'outcome', 'error_code'].includes(key), key);
});
