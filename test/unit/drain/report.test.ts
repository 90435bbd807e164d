/** The drain report: what each outcome adds, what stopping early leaves, and the line and verdict read from it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyReport, isComplete, record, stopEarly, summaryLine, type DrainReport } from '../../../shared/drain/report.js';
import type { HandOffResult } from '../../../shared/drain/handOff.js';
import { DrainError } from '../../../shared/errors/errors.js';
import { createLogger, type LogSink } from '../../../shared/errors/logger.js';
import { mailMessage } from '../support/mailMessage.js';

function capture() {
  const lines: string[] = [];
  const sink: LogSink = { debug: (l) => lines.push(`debug ${l}`), info: (l) => lines.push(`info ${l}`), warn: (l) => lines.push(`warn ${l}`), error: (l) => lines.push(`error ${l}`) };
  return { lines, logger: createLogger(sink, 'debug') };
}

const report = (found = 0): DrainReport => ({
  ...emptyReport({ mailbox: 'invoices@contoso.com', folder: 'INBOX', queueUrl: 'https://a.queue.core.windows.net/q', containerUrl: 'https://a.blob.core.windows.net/c' }),
  found,
});
const handedOff = (uid: number, viaBlob = false): HandOffResult => ({ outcome: 'handedOff', uid, message: mailMessage({ uid, id: `id${uid}`, subject: `S${uid}` }), viaBlob });
const quarantined = (uid: number): HandOffResult => ({ outcome: 'quarantined', uid, id: `id${uid}`, reason: 'unparseable', detail: 'bad MIME', rawBlobUrl: `https://b/quarantine/id${uid}/raw.eml` });
const failed = (uid: number): HandOffResult => ({ outcome: 'failed', uid, id: `id${uid}`, error: new Error('Storage said no'), own: true });

test('record files each outcome under its kind, with what the report shows of it, and logs it at its level', () => {
  const r = report(4);
  const { lines, logger } = capture();
  record(r, [handedOff(1), handedOff(2, true), quarantined(3), failed(4)], logger);
  assert.deepEqual(r.handedOff, [
    { uid: 1, id: 'id1', subject: 'S1', viaBlob: false },
    { uid: 2, id: 'id2', subject: 'S2', viaBlob: true },
  ]);
  assert.deepEqual(r.quarantined, [{ uid: 3, id: 'id3', reason: 'unparseable', detail: 'bad MIME', rawBlobUrl: 'https://b/quarantine/id3/raw.eml' }]);
  assert.deepEqual(r.failed, [{ uid: 4, id: 'id4', error: 'Storage said no', code: null }], 'not one of ours: no code');
  assert.deepEqual(lines.map((l) => l.split(' ')[0]), ['debug', 'debug', 'warn', 'error']);
  assert.match(lines[1]!, /UID 2 as id2 \(payload in blob\)/);
  assert.match(lines[3]!, /UID 4.*stays in the mailbox.*Storage said no/);
});

test('record keeps what earlier steps recorded', () => {
  const r = report(3);
  const { logger } = capture();
  record(r, [handedOff(1)], logger);
  record(r, [handedOff(2), failed(3)], logger);
  assert.deepEqual(r.handedOff.map((h) => h.uid), [1, 2]);
  assert.deepEqual(r.failed.map((f) => f.uid), [3]);
});

test('stopEarly: what was found and not yet handed off, quarantined or failed is left for the next run', () => {
  const r = report(10);
  const { lines, logger } = capture();
  record(r, [handedOff(1), handedOff(2), quarantined(3), failed(4)], logger);
  stopEarly(r, 'the mailbox lease was lost', logger);
  assert.equal(r.notAttempted, 6);
  assert.equal(r.stoppedBecause, 'the mailbox lease was lost');
  assert.match(lines.at(-1)!, /^warn Stopping early: the mailbox lease was lost\. 6 message\(s\) stay/);
});

test('stopEarly never leaves a negative count, even if more results than messages found were recorded', () => {
  const r = report(1);
  const { logger } = capture();
  record(r, [handedOff(1), handedOff(2)], logger);
  stopEarly(r, 'time', logger);
  assert.equal(r.notAttempted, 0);
});

test('summaryLine counts each outcome; a stop reason is shown by its first line only', () => {
  const r = report(5);
  const { logger } = capture();
  record(r, [handedOff(1), quarantined(2), failed(3)], logger);
  assert.equal(summaryLine(r), 'Drain of invoices@contoso.com/INBOX: 5 found, 1 handed off, 1 quarantined, 1 failed, 0 left for the next run');
  stopEarly(r, new DrainError('STORAGE_UNREACHABLE', 'Storage could not be reached.').explain(), logger);
  assert.equal(
    summaryLine(r),
    'Drain of invoices@contoso.com/INBOX: 5 found, 1 handed off, 1 quarantined, 1 failed, 2 left for the next run (stopped: [STORAGE_UNREACHABLE] Storage could not be reached.)',
  );
});

test('summaryLine of a skipped drain says another drain holds the mailbox', () => {
  assert.equal(summaryLine({ ...report(), skipped: true }), 'Drain of invoices@contoso.com/INBOX: skipped, another drain holds the mailbox');
});

test('isComplete: only when nothing failed, nothing was left, and the drain did not stop early', () => {
  const { logger } = capture();
  assert.equal(isComplete(report()), true, 'an empty folder');
  assert.equal(isComplete({ ...report(), skipped: true }), true, 'another drain has the mailbox');
  const done = report(2);
  record(done, [handedOff(1), quarantined(2)], logger);
  assert.equal(isComplete(done), true);
  const withFailure = report(2);
  record(withFailure, [handedOff(1), failed(2)], logger);
  assert.equal(isComplete(withFailure), false);
  const left = report(3);
  record(left, [handedOff(1)], logger);
  stopEarly(left, 'time', logger);
  assert.equal(isComplete(left), false);
});

test('isComplete is false for a drain that stopped after its last hand-off: those messages were not settled in the mailbox', () => {
  const r = report(2);
  const { logger } = capture();
  record(r, [handedOff(1), handedOff(2)], logger);
  stopEarly(r, 'the IMAP session ended while settling', logger);
  assert.equal(r.notAttempted, 0);
  assert.equal(isComplete(r), false);
});
