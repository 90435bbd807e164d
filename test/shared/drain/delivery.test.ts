/**
 * The delivery guarantees: one drain per mailbox, a time budget, and no message
 * able to block the rest (too large, failing again and again).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { BlobServiceClient } from '@azure/storage-blob';
import { drain, isComplete } from '../../../shared/drain/drain.js';
import { handOff } from '../../../shared/drain/handOff.js';
import { SETTLE_RESERVE_MS, STREAM_PARSE_BYTES } from '../../../shared/drain/plan.js';
import { Outbox } from '../../../shared/outbox/outbox.js';
import { storageCredential } from '../../../shared/identity/storageCredential.js';
import type { MailMessage } from '../../../shared/contract/queueMessage.js';
import { largeMessages } from '../../support/largeMail.js';
import { MailboxLease } from '../../../shared/outbox/mailboxLease.js';
import { messageKey } from '../../../shared/contract/queueMessage.js';
import { capturingLogger, useTestStack, type SeededDemo, type TestStack } from '../../support/localStack.js';
import { startFaultyProxy } from '../../support/faultyProxy.js';

let stack: TestStack;
let seeded: SeededDemo;
useTestStack((s, d) => {
  stack = s;
  seeded = d;
});

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const container = () => BlobServiceClient.fromConnectionString(stack.azurite.connectionString).getContainerClient(stack.containerName);

test('two drains started at once on the same mailbox: exactly one drains', async () => {
  await stack.reseed(seeded.messages);
  const [a, b] = await Promise.all([
    drain(stack.settingsWith(), capturingLogger().logger),
    drain(stack.settingsWith(), capturingLogger().logger),
  ]);
  assert.deepEqual([a.skipped, b.skipped].sort(), [false, true]);
  const worker = a.skipped ? b : a;
  assert.ok(isComplete(worker));
  assert.equal(worker.handedOff.length, seeded.messages.length);
  const queued = await stack.drainQueue();
  assert.equal(queued.length, seeded.messages.length, 'each message once');
});

test('a lease held elsewhere makes a drain skip; once it is released the next drain runs', async () => {
  await stack.reseed(seeded.messages.slice(0, 2));
  const other = await MailboxLease.acquire(container(), stack.mailbox, 'INBOX', capturingLogger().logger);
  assert.ok(other);
  try {
    const skipped = await drain(stack.settingsWith(), capturingLogger().logger);
    assert.equal(skipped.skipped, true);
    assert.ok(isComplete(skipped), 'a skipped run is not a failure');
    assert.equal(stack.imap.messages('INBOX').length, 2, 'untouched');
  } finally {
    await other.release();
  }
  const report = await drain(stack.settingsWith(), capturingLogger().logger);
  assert.equal(report.handedOff.length, 2);
});

test('the time budget stops new batches in time and reports what is left', async () => {
  const total = 60;
  await stack.reseed(Array.from({ length: total }, (_, i) => ({ raw: Buffer.from(`Subject: t${i}\r\n\r\nx\r\n`) })));
  // A clock that passes the deadline once the first batch is done.
  let batchesStarted = 0;
  const start = Date.now();
  const report = await drain(stack.settingsWith(), capturingLogger().logger, {
    deadline: start + SETTLE_RESERVE_MS + 60_000,
    now: () => (batchesStarted++ === 0 ? start : start + 60_001),
  });
  assert.equal(report.handedOff.length, 25);
  assert.equal(report.notAttempted, total - 25);
  assert.match(report.stoppedBecause ?? '', /time budget/);
  assert.equal(stack.imap.messages('INBOX').length, total - 25);
  assert.equal(stack.imap.messages('Processed').length, 25);
});

test('a message over MAX_MESSAGE_BYTES is quarantined unparsed, streamed byte for byte, and the rest goes on', async () => {
  const big = seeded.demo.find((m) => m.kind === 'PDF attachment over 100 KB')!;
  const small = seeded.demo.slice(0, 2);
  await stack.reseed([...small, big].map((m) => ({ raw: m.raw })));
  const report = await drain(stack.settingsWith({ MAX_MESSAGE_BYTES: String(100 * 1024) }), capturingLogger().logger);
  assert.ok(isComplete(report));
  assert.equal(report.handedOff.length, 2);
  assert.equal(report.quarantined.length, 1);
  assert.equal(report.quarantined[0]!.reason, 'too-large');

  const [poison] = await stack.drainPoisonQueue();
  assert.ok(poison);
  assert.equal(poison.reason, 'too-large');
  assert.equal(poison.uid, 3);
  assert.equal(poison.id, messageKey(stack.mailbox, 'INBOX', 1, 3));
  assert.equal(poison.movedTo, 'Failed');
  assert.ok(poison.raw, 'raw bytes kept');
  assert.equal(poison.raw.size, big.raw.length);
  assert.equal(poison.raw.sha256, sha256(big.raw));
  assert.deepEqual(await stack.readBlob(poison.raw.blobUrl), big.raw, 'raw bytes intact');
  assert.equal(stack.imap.messages('Failed').length, 1);
  assert.equal(stack.imap.messages('INBOX').length, 0);
});

test('a message over STREAM_PARSE_BYTES is handed off streamed where it falls among the others, with the queue message a whole parse makes', async () => {
  const large = largeMessages().filter((m) => m.raw.length > STREAM_PARSE_BYTES);
  assert.ok(large.length > 0, 'the generated corpus has a message over STREAM_PARSE_BYTES');
  const internalDate = new Date(Date.UTC(2026, 10, 22, 7, 15, 0));
  const small = seeded.messages.slice(0, 2);
  const mail = [small[0]!, ...large.map((m) => ({ raw: m.raw })), small[1]!].map((m) => ({ raw: m.raw, internalDate }));
  await stack.reseed(mail);
  const { logger, lines } = capturingLogger();
  const report = await drain(stack.settingsWith(), logger);
  assert.ok(isComplete(report));
  assert.equal(report.handedOff.length, mail.length);
  assert.ok(lines.some((l) => /Parsing UID 2 \(\d+ bytes, streamed\)/.test(l)), 'the large message took the streamed path');
  const queued = await stack.drainQueue();
  // Steps overlap, so the queue's order is not the mailbox's: each message once is the promise.
  assert.deepEqual(queued.map((q) => q.uid).sort((a, b) => a - b), mail.map((_, i) => i + 1), 'each message once');

  const settings = stack.settingsWith();
  const outbox = Outbox.open(settings.output.storage, settings.output, () => storageCredential(settings));
  const ref = { mailbox: settings.mailbox, folder: 'INBOX', uidValidity: 1, failedFolder: settings.failedFolder };
  for (const [i, { raw }] of large.entries()) {
    const uid = i + 2;
    const streamed = queued.find((q) => q.uid === uid) as MailMessage;
    const whole = await handOff({ uid, size: raw.length, receivedAt: internalDate, source: raw }, ref, outbox, { previous: 0, max: 5 });
    assert.equal(whole.outcome, 'handedOff');
    assert.deepEqual(streamed, (whole as Extract<typeof whole, { outcome: 'handedOff' }>).message, `UID ${uid}`);
    assert.deepEqual(await stack.readBlob(streamed.raw.blobUrl), raw, 'raw bytes intact');
  }
  await stack.drainQueue();
});

test('a message whose hand-off fails MAX_ATTEMPTS times, across runs, is quarantined; the others are not held up', async () => {
  await stack.reseed(seeded.messages.slice(0, 3));
  const badId = messageKey(stack.mailbox, 'INBOX', 1, 2);
  // Storage refuses this one message's blobs (as it would a name or content it cannot take).
  const proxy = await startFaultyProxy(stack.azurite.blobEndpoint, (req) =>
    req.method === 'PUT' && (req.url ?? '').includes(`/${stack.containerName}/messages/${badId}/`) ? { status: 400, code: 'InvalidInput' } : undefined,
  );
  try {
    const settings = stack.settingsWith({
      OUTPUT_STORAGE: stack.azurite.connectionString.replace(stack.azurite.blobEndpoint, proxy.url),
      MAX_ATTEMPTS: '2',
    });
    const first = await drain(settings, capturingLogger().logger);
    assert.deepEqual(first.failed.map((f) => f.uid), [2]);
    assert.equal(first.handedOff.length, 2, 'the others were handed off');
    const second = await drain(settings, capturingLogger().logger);
    assert.deepEqual(second.failed.map((f) => f.uid), [2], 'second failed attempt');
    const third = await drain(settings, capturingLogger().logger);
    assert.ok(isComplete(third));
    assert.deepEqual(third.quarantined.map((q) => [q.uid, q.reason]), [[2, 'max-attempts']]);
  } finally {
    await proxy.close();
  }
  const [poison] = await stack.drainPoisonQueue();
  assert.equal(poison?.reason, 'max-attempts');
  assert.match(poison?.detail ?? '', /failed 2 times/);
  assert.deepEqual(await stack.readBlob(poison!.raw!.blobUrl), seeded.messages[1]!.raw);
  assert.equal(stack.imap.messages('Failed').length, 1);
  assert.equal(stack.imap.messages('INBOX').length, 0);
  assert.equal((await stack.drainQueue()).length, 2);
});

test('a UIDVALIDITY change is detected and logged; each message is still handed off once, under its new id', async () => {
  await stack.reseed(seeded.messages.slice(0, 2), { uidValidity: 1 });
  await drain(stack.settingsWith({ AFTER_PROCESSING: 'flag' }), capturingLogger().logger);
  const before = await stack.drainQueue();
  // The server renumbers the folder: same messages, new UIDVALIDITY, none seen.
  await stack.reseed(seeded.messages.slice(0, 2), { uidValidity: 7 });
  const { lines, logger } = capturingLogger();
  const report = await drain(stack.settingsWith({ AFTER_PROCESSING: 'flag' }), logger);
  assert.ok(lines.some((l) => /UIDVALIDITY changed from 1 to 7/.test(l)), lines.join('\n'));
  assert.equal(report.handedOff.length, 2);
  const after = await stack.drainQueue();
  assert.equal(after.length, 2, 'once each in this run');
  assert.deepEqual(after.map((m) => m.uidValidity), [7, 7]);
  assert.deepEqual(
    after.map((m) => m.messageId).sort(),
    before.map((m) => m.messageId).sort(),
    'consumers can recognise them by messageId',
  );
  assert.ok(after.every((m) => !before.some((b) => b.id === m.id)), 'new ids');
});
