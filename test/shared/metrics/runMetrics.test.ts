/**
 * Each mailbox run's metrics, as the file exporter writes them (METRICS_EXPORTER=file),
 * from real drains of the local stack: one mailbox with a message that is
 * quarantined and a throttled command, one the app may not open, one left with
 * a backlog by its time budget. Every value is read back from the exporter's output.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { drain } from '../../../shared/drain/drain.js';
import { MailboxLease } from '../../../shared/outbox/mailboxLease.js';
import { findMailbox, forMailbox, type Settings } from '../../../shared/config/settings.js';
import { METRICS } from '../../../shared/metrics/metricNames.js';
import type { MetricLine } from '../../../shared/metrics/fileMetricExporter.js';
import { EXCHANGE_RESPONSES } from '../../../local/imapServer.js';
import { hostileMessages } from '../../support/hostileMail.js';
import { capturingLogger, seededDemo, startTestStack, type TestStack } from '../../support/localStack.js';

const QUARANTINE = 'Invoices@Contoso.example';
const DENIED = 'orders@contoso.example';
const BACKLOG = 'scans@contoso.example';
const BASE = Date.UTC(2026, 10, 20, 8, 0);
const minutes = (n: number) => new Date(BASE + n * 60_000);

let stack: TestStack;
let dir: string;
let file: string;
let demoCount: number;

before(async () => {
  const { messages } = await seededDemo(QUARANTINE);
  demoCount = messages.length;
  const refused = hostileMessages().find((m) => m.name === 'nesting/multipart-1200-deep')!.raw;
  stack = await startTestStack({
    mailboxes: [
      { mailbox: QUARANTINE, messages: [...messages, { raw: refused, internalDate: minutes(30) }] },
      { mailbox: DENIED, messages: messages.slice(0, 2) },
      { mailbox: BACKLOG, messages: Array.from({ length: 30 }, (_, i) => ({ raw: Buffer.from(`Subject: s${i}\r\n\r\nx\r\n`), internalDate: minutes(i) })) },
    ],
  });
  // Add-MailboxPermission missing for one of them: Exchange lets the app in, then refuses the mailbox.
  stack.mailboxGrants.delete(DENIED);
  // The secret expires in ten days.
  stack.vault.setSecret('mail-drain-client-secret', { value: stack.clientSecret, expiresOn: new Date(Date.now() + 10 * 86_400_000) });
  dir = mkdtempSync(join(tmpdir(), 'mail-drain-metrics-'));
  file = join(dir, 'metrics.jsonl');
});
after(async () => {
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const settingsFor = (mailbox: string): Settings => {
  const settings = stack.settingsWith({ METRICS_EXPORTER: 'file', METRICS_FILE: file });
  return forMailbox(settings, findMailbox(settings, mailbox)!);
};
const lines = (): MetricLine[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as MetricLine);
/** The one data point of `metric` for the mailbox's run. */
const pointOf = (all: MetricLine[], mailbox: string, metric: keyof typeof METRICS) => {
  const found = all.filter((l) => l.name === METRICS[metric].name && l.attributes.mailbox === mailbox.toLowerCase());
  assert.ok(found.length <= 1, `${metric} of ${mailbox} once: ${JSON.stringify(found)}`);
  return found[0];
};

test('per mailbox: handed off, quarantined, failed, duration, backlog, oldest age, credential days, throttling waits, outcome', async () => {
  const { logger, lines: logLines } = capturingLogger();
  // The first MOVE of the first mailbox is throttled for 300 ms.
  let throttles = 0;
  stack.imap.intercept((command) => (command === 'UID MOVE' && throttles++ === 0 ? { kind: 'NO', text: EXCHANGE_RESPONSES.throttled(300) } : undefined));
  const startedAt = Date.now();
  const quarantined = await drain(settingsFor(QUARANTINE), logger);
  stack.imap.intercept(undefined);
  assert.equal(quarantined.quarantined.length, 1);
  assert.ok(quarantined.throttledMs >= 300, `waited ${quarantined.throttledMs} ms`);

  await assert.rejects(drain(settingsFor(DENIED), logger), { code: 'IMAP_MAILBOX_NOT_CONNECTED' });

  let steps = 0;
  const start = Date.now();
  // A clock past the deadline once the first batch has started: 25 handed off, 5 left.
  const backlog = await drain(settingsFor(BACKLOG), logger, { deadline: start + 10 * 60_000, now: () => (steps++ === 0 ? start : start + 10 * 60_000) });
  assert.equal(backlog.notAttempted, 5);
  const endedAt = Date.now();
  assert.ok(!logLines.some((l) => /metrics .* could not be sent/.test(l)), logLines.join('\n'));

  const all = lines();
  const value = (mailbox: string, metric: keyof typeof METRICS) => pointOf(all, mailbox, metric)?.value;

  // The quarantining mailbox: everything but the refused message handed off, the throttled MOVE waited out.
  assert.deepEqual(pointOf(all, QUARANTINE, 'runs')?.attributes, { mailbox: QUARANTINE.toLowerCase(), folder: 'INBOX', outcome: 'completed' });
  assert.equal(value(QUARANTINE, 'handedOff'), demoCount);
  assert.equal(value(QUARANTINE, 'quarantined'), 1);
  assert.equal(value(QUARANTINE, 'failed'), 0);
  assert.equal(value(QUARANTINE, 'backlog'), 0);
  assert.equal(value(QUARANTINE, 'oldestWaitingAge'), 0);
  assert.ok(value(QUARANTINE, 'throttledWait')! >= 300);
  const duration = pointOf(all, QUARANTINE, 'duration')!;
  assert.equal(duration.count, 1);
  assert.ok(duration.value > 0.3 && duration.value < (endedAt - startedAt) / 1000, `duration ${duration.value} s`);
  const days = value(QUARANTINE, 'credentialDaysLeft')!;
  assert.ok(days > 9.99 && days <= 10, `credential days ${days}`);

  // The mailbox the app may not open: a failed run with its code, nothing it could not know.
  assert.deepEqual(pointOf(all, DENIED, 'runs')?.attributes, { mailbox: DENIED, folder: 'INBOX', outcome: 'failed', error_code: 'IMAP_MAILBOX_NOT_CONNECTED' });
  assert.equal(value(DENIED, 'handedOff'), 0);
  assert.equal(value(DENIED, 'backlog'), undefined);
  assert.equal(value(DENIED, 'oldestWaitingAge'), undefined);
  assert.ok(value(DENIED, 'credentialDaysLeft')! > 9.99, 'the credential was read before the mailbox refused the app');

  // The backlog: 5 left, the oldest of them received at minute 25.
  assert.deepEqual(pointOf(all, BACKLOG, 'runs')?.attributes, { mailbox: BACKLOG, folder: 'INBOX', outcome: 'incomplete' });
  assert.equal(value(BACKLOG, 'handedOff'), 25);
  assert.equal(value(BACKLOG, 'backlog'), 5);
  const age = value(BACKLOG, 'oldestWaitingAge')!;
  const expected = (t: number) => (t - minutes(25).getTime()) / 60_000;
  assert.ok(age >= expected(start) && age <= expected(Date.now()), `oldest age ${age} min`);
  assert.equal(value(BACKLOG, 'throttledWait'), 0);

  // Nothing secret in any line: no secret, no token, no connection string.
  const text = readFileSync(file, 'utf8');
  assert.ok(!text.includes(stack.clientSecret));
  assert.ok(!text.includes('AccountKey'));
  for (const token of stack.tokensSeen) assert.ok(!text.includes(token));
});

test('a run that finds another drain at work emits nothing, and METRICS_EXPORTER=none writes no file', async () => {
  const before = lines().length;
  const container = BlobServiceClient.fromConnectionString(stack.azurite.connectionString).getContainerClient(stack.containerName);
  const other = await MailboxLease.acquire(container, BACKLOG, 'INBOX', capturingLogger().logger);
  assert.ok(other);
  try {
    const skipped = await drain(settingsFor(BACKLOG), capturingLogger().logger);
    assert.equal(skipped.skipped, true);
  } finally {
    await other.release();
  }
  assert.equal(lines().length, before, 'no data point for a skipped run');

  const none = stack.settingsWith({ METRICS_EXPORTER: 'none', METRICS_FILE: join(dir, 'none.jsonl') });
  const report = await drain(forMailbox(none, findMailbox(none, BACKLOG)!), capturingLogger().logger);
  assert.equal(report.handedOff.length, 5, 'the backlog drained');
  assert.equal(lines().length, before);
  assert.throws(() => readFileSync(join(dir, 'none.jsonl')), { code: 'ENOENT' });
});

test('metrics that cannot be written are logged, and the drain goes on as if there were none', async () => {
  const { logger, lines: logLines } = capturingLogger();
  // A directory where the file should be: every export fails.
  const broken = stack.settingsWith({ METRICS_EXPORTER: 'file', METRICS_FILE: dir });
  const report = await drain(forMailbox(broken, findMailbox(broken, QUARANTINE)!), logger);
  assert.equal(report.skipped, false);
  assert.ok(
    logLines.some((l) => l.includes(`The metrics of ${QUARANTINE}/INBOX could not be sent to file`)),
    logLines.join('\n'),
  );
});
