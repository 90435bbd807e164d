/**
 * "Nothing lost, nothing blocked" where the review broke it outside the IMAP
 * server: queue messages that expired, a Storage outage that quarantined good
 * mail, a message that kills the process, bodies that blow up in JSON, a SAS in
 * every URL, a settle reserve too short for a large batch. Local stack:
 * Azurite, the in-process IMAP server, the drain as its own process where it
 * must be killed. Each test is named after what broke.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { BlobServiceClient, StorageSharedKeyCredential, generateAccountSASQueryParameters, AccountSASPermissions, AccountSASResourceTypes, AccountSASServices } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { drain, isComplete } from '../../../shared/drain/drain.js';
import { SETTLE_RESERVE_MS } from '../../../shared/drain/plan.js';
import type { MailMessage, QueueMessage } from '../../../shared/contract/queueMessage.js';
import { capturingLogger, useTestStack, type SeededDemo, type TestStack } from '../../support/localStack.js';
import { startFaultyProxy } from '../../support/faultyProxy.js';
import { startDrainProcess } from '../../support/drainProcess.js';

let stack: TestStack;
let seeded: SeededDemo;
useTestStack((s, d) => {
  stack = s;
  seeded = d;
});

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const MiB = 1024 * 1024;
const queues = () => QueueServiceClient.fromConnectionString(stack.azurite.connectionString);
const container = () => BlobServiceClient.fromConnectionString(stack.azurite.connectionString).getContainerClient(stack.containerName);
const plain = (n: number, body = `body ${n}`) =>
  Buffer.from(`From: a@example.com\r\nSubject: message ${n}\r\nMessage-ID: <p${n}@example.com>\r\n\r\n${body}\r\n`);
const fullMessage = async (message: QueueMessage): Promise<MailMessage> =>
  'payloadBlobUrl' in message ? JSON.parse((await stack.readBlob(message.payloadBlobUrl)).toString('utf8')) : message;

/** Frees every mailbox lease a killed drain left behind, as its expiry would 30 s later. */
async function breakLeases(): Promise<void> {
  for await (const blob of container().listBlobsFlat({ prefix: 'locks/' })) {
    await container().getBlobClient(blob.name).getBlobLeaseClient().breakLease(0).catch(() => {});
  }
}

test('queue messages and poison notices never expire: a consumer outage longer than 7 days loses nothing', async () => {
  await stack.reseed([{ raw: plain(1) }, { raw: plain(2, 'x'.repeat(3000)) }]);
  const report = await drain(stack.settingsWith({ MAX_MESSAGE_BYTES: '2000' }), capturingLogger().logger);
  assert.ok(isComplete(report));
  const inAYear = Date.now() + 365 * 24 * 3600 * 1000;
  for (const name of [stack.queueName, `${stack.queueName}-poison`]) {
    const { peekedMessageItems } = await queues().getQueueClient(name).peekMessages({ numberOfMessages: 32 });
    assert.equal(peekedMessageItems.length, 1, name);
    assert.ok(peekedMessageItems[0]!.expiresOn.getTime() > inAYear, `${name}: expires ${peekedMessageItems[0]!.expiresOn.toISOString()}, not in 7 days`);
  }
});

test('a Storage outage across more than MAX_ATTEMPTS runs quarantines no healthy mail', async () => {
  await stack.reseed(Array.from({ length: 5 }, (_, i) => ({ raw: plain(i + 1) })));
  // The output queue is gone (404), then Storage answers 503: neither is any message's fault.
  let fault = { status: 404, code: 'QueueNotFound' };
  const proxy = await startFaultyProxy(stack.azurite.queueEndpoint, (req) => (req.method === 'POST' && /\/messages/.test(req.url ?? '') ? fault : undefined));
  try {
    const settings = stack.settingsWith({ OUTPUT_STORAGE: stack.azurite.connectionString.replace(stack.azurite.queueEndpoint, proxy.url), MAX_ATTEMPTS: '2' });
    for (const [index, status] of [404, 404, 503, 503].entries()) {
      fault = { status, code: status === 404 ? 'QueueNotFound' : 'ServerBusy' };
      const report = await drain(settings, capturingLogger().logger);
      assert.equal(report.quarantined.length, 0, `run ${index + 1} (HTTP ${status}) quarantined nothing`);
      assert.equal(report.handedOff.length, 0);
    }
  } finally {
    await proxy.close();
  }
  const healed = await drain(stack.settingsWith({ MAX_ATTEMPTS: '2' }), capturingLogger().logger);
  assert.ok(isComplete(healed));
  assert.equal(healed.handedOff.length, 5, 'every message reaches the queue once Storage is back');
  assert.equal(healed.quarantined.length, 0);
  assert.equal(stack.imap.messages('Failed').length, 0);
});

test('a message that kills the drain mid-hand-off is tried alone, counted before each hand-off alone, and quarantined after MAX_ATTEMPTS; the rest get through', async () => {
  // Large enough that parsing it takes a while: the kill lands before its hand-off ends.
  const killer = plain(2, `${'k'.repeat(998)}\r\n`.repeat(12 * 1024));
  await stack.reseed([{ raw: plain(1) }, { raw: killer }, { raw: plain(3) }]);
  const env = { ...stack.settings, ...stack.platformEnv, MAX_ATTEMPTS: '2', LOG_LEVEL: 'debug' };
  const kills: number[] = [];
  for (let run = 0; run < 5; run++) {
    const child = startDrainProcess(env);
    // "This message runs the process out of memory": it dies whenever it parses UID 2.
    child.onLine((line) => {
      if (/Parsing UID 2 /.test(line)) {
        child.kill();
        kills.push(run);
      }
    });
    const exit = await child.exited;
    if (exit.signal === 'SIGKILL') {
      assert.equal(stack.imap.messages('INBOX').some((m) => m.raw.equals(killer)), true, 'killed before UID 2 was settled');
      await breakLeases();
      continue;
    }
    assert.equal(exit.code, 0, child.lines.join('\n'));
    break;
  }
  assert.deepEqual(kills, [0, 1, 2], 'killed in the batch (which names no culprit), then twice when tried alone; then quarantined without parsing');
  const [poison] = await stack.drainPoisonQueue();
  assert.equal(poison?.uid, 2);
  assert.equal(poison.reason, 'max-attempts');
  assert.ok(poison.raw);
  assert.equal(poison.raw.sha256, sha256(killer), 'its bytes are kept');
  const queued = await stack.drainQueue();
  assert.deepEqual(queued.map((m) => m.uid).sort(), [1, 3], 'the other two were handed off');
  assert.equal(stack.imap.messages('INBOX').length, 0);
  assert.equal(stack.imap.messages('Failed').length, 1);
});

test('a drain killed in its first steps run after run, with runs that die before trying the suspects, quarantines none of the mail at the head of the folder', async () => {
  // Broke: every death counted against every message in flight, and a run forgot its suspects
  // as soon as it started; the kill loop quarantined the first 19 messages in the folder, which
  // had been handed off. Here each killed run counts at most one message, so none reaches 5.
  const messages = Array.from({ length: 30 }, (_, i) => plain(i + 1, `${'h'.repeat(998)}\r\n`.repeat(100)));
  await stack.reseed(messages.map((raw) => ({ raw })));
  const env = { ...stack.settings, ...stack.platformEnv, MAX_ATTEMPTS: '5', LOG_LEVEL: 'debug' };
  let kills = 0;
  for (let round = 0; round < 5; round++) {
    // Killed as its first message is parsed: a whole batch, or the first suspect alone, in flight.
    const child = startDrainProcess(env);
    child.onLine((line) => /Parsing UID \d+ /.test(line) && child.kill());
    if ((await child.exited).signal === 'SIGKILL') kills += 1;
    await breakLeases();
    // A run that takes the suspects in and stops before trying any (its time budget is spent).
    const now = Date.now();
    const stopped = await drain(stack.settingsWith({ MAX_ATTEMPTS: '5' }), capturingLogger().logger, { deadline: now, now: () => now });
    assert.equal(stopped.handedOff.length + stopped.quarantined.length, 0, 'it tried nothing');
  }
  assert.equal(kills, 5);
  const healed = await drain(stack.settingsWith({ MAX_ATTEMPTS: '5' }), capturingLogger().logger);
  assert.ok(isComplete(healed), JSON.stringify(healed.failed));
  assert.deepEqual(healed.quarantined, [], 'no message quarantined for deaths that were not its own');
  assert.deepEqual(await stack.drainPoisonQueue(), []);
  const queued = await stack.drainQueue();
  assert.equal(new Set(queued.map((m) => m.uid)).size, 30, 'every message on the queue');
  assert.equal(stack.imap.messages('INBOX').length, 0);
  assert.equal(stack.imap.messages('Failed').length, 0);
});

test('a huge body of control characters goes to a blob instead of swelling six-fold inline in the JSON', async () => {
  const text = '\u0001\u0002\u001f'.repeat(400 * 1024);
  const raw = Buffer.from(`From: a@example.com\r\nSubject: controls\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${text}\r\n`);
  await stack.reseed([{ raw }, { raw: plain(2) }]);
  const report = await drain(stack.settingsWith(), capturingLogger().logger);
  assert.ok(isComplete(report));
  const queued = await Promise.all((await stack.drainQueue()).map(fullMessage));
  const big = queued.find((m) => m.subject === 'controls')!;
  assert.equal(big.text, null, 'the text is not inline');
  assert.ok(big.textBlob, 'it is a blob the message points to');
  const stored = await stack.readBlob(big.textBlob.blobUrl);
  assert.equal(stored.toString('utf8').replace(/\r?\n$/, ''), text);
  assert.equal(big.textBlob.sha256, sha256(stored));
  assert.ok(JSON.stringify(big).length < 64 * 1024, 'the message JSON stays small');
  const small = queued.find((m) => m.subject === 'message 2')!;
  assert.equal(small.text, 'body 2\n', 'a small body stays inline');
  assert.equal(small.textBlob, undefined);
});

test('a SAS connection string never puts its signature into a blob URL, the report or the log', async () => {
  await stack.reseed([{ raw: seeded.messages[0]!.raw }, { raw: plain(2, 'x'.repeat(3000)) }]);
  const [, accountName, accountKey] = /AccountName=([^;]+);AccountKey=([^;]+)/.exec(stack.azurite.connectionString)!;
  const sas = generateAccountSASQueryParameters(
    {
      expiresOn: new Date(Date.now() + 3600_000),
      permissions: AccountSASPermissions.parse('rwdlacup'),
      resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
      services: AccountSASServices.parse('bq').toString(),
    },
    new StorageSharedKeyCredential(accountName!, accountKey!),
  ).toString();
  const connection = `BlobEndpoint=${stack.azurite.blobEndpoint};QueueEndpoint=${stack.azurite.queueEndpoint};SharedAccessSignature=${sas}`;
  const { logger, lines } = capturingLogger();
  const report = await drain(stack.settingsWith({ OUTPUT_STORAGE: connection, MAX_MESSAGE_BYTES: '2000' }), logger);
  assert.ok(isComplete(report), JSON.stringify(report.failed));
  const queued = await stack.drainQueue();
  const poisoned = await stack.drainPoisonQueue();
  const everything = JSON.stringify({ report, queued, poisoned, full: await Promise.all(queued.map(fullMessage)), lines });
  assert.ok(!everything.includes('sig='), 'no signature anywhere');
  assert.ok(!everything.includes(new URLSearchParams(sas).get('sig')!), 'not even its value');
  assert.ok(queued.length === 1 && poisoned.length === 1);
  assert.ok(!(await fullMessage(queued[0]!)).raw.blobUrl.includes('?'));
});

test('the settle reserve follows what a step moves: a 40 MiB message is not started 95 s before the deadline, a small batch is at 70 s', async () => {
  const large = plain(1, `${'L'.repeat(998)}\r\n`.repeat(40 * 1024));
  await stack.reseed([{ raw: large }]);
  const settings = stack.settingsWith({ MAX_MESSAGE_BYTES: String(10 * MiB) });
  const start = Date.now();
  const late = await drain(settings, capturingLogger().logger, { deadline: start + 95_000, now: () => start });
  assert.equal(late.notAttempted, 1, '40 MiB needs more than 95 s of reserve');
  assert.match(late.stoppedBecause ?? '', /time budget/);
  assert.equal(stack.imap.messages('INBOX').length, 1, 'untouched');

  await stack.reseed([{ raw: plain(1) }, { raw: plain(2) }]);
  assert.ok(SETTLE_RESERVE_MS < 70_000);
  const small = await drain(stack.settingsWith(), capturingLogger().logger, { deadline: start + 70_000, now: () => start });
  assert.ok(isComplete(small), 'a small batch fits in 70 s');
  assert.equal(small.handedOff.length, 2);
});

/** Whether a UID set ("1:3,7") names `uid`. */
const names = (set: string, uid: number) =>
  set.split(',').some((part) => {
    const [from, to = from] = part.split(':');
    return uid >= Number(from) && (to === '*' || uid <= Number(to));
  });

test('a server that answers NO to one message\'s FETCH: the rest drain, and that one is quarantined after MAX_ATTEMPTS', async () => {
  await stack.reseed([1, 2, 3].map((n) => ({ raw: plain(n) })));
  // Exchange answers a message it cannot convert with a tagged NO for the whole FETCH.
  stack.imap.intercept((command, args) => {
    const [set = ''] = args.split(' ');
    return command === 'UID FETCH' && /BODY/i.test(args) && names(set, 2) ? { kind: 'NO', text: '[SERVERBUG] The message could not be retrieved.' } : undefined;
  });
  try {
    const settings = stack.settingsWith({ MAX_ATTEMPTS: '1' });
    const first = await drain(settings, capturingLogger().logger);
    assert.deepEqual(first.handedOff.map((m) => m.uid).sort(), [1, 3], 'fetched one by one, the others got through');
    assert.deepEqual(first.failed.map((m) => m.uid), [2]);
    assert.match(first.failed[0]!.error, /IMAP_MESSAGE_UNREADABLE/);
    const second = await drain(settings, capturingLogger().logger);
    assert.ok(isComplete(second), JSON.stringify(second));
    assert.deepEqual(second.quarantined.map((q) => [q.uid, q.reason]), [[2, 'max-attempts']]);
  } finally {
    stack.imap.intercept(undefined);
  }
  const [poison] = await stack.drainPoisonQueue();
  assert.equal(poison?.raw, null, 'the server never gave its bytes');
  assert.equal(stack.imap.messages('Failed').length, 1, 'the message itself is in Failed');
  assert.equal(stack.imap.messages('INBOX').length, 0);
});

test('a server that refuses to list the whole folder at once is listed in parts, and drained', async () => {
  await stack.reseed([1, 2, 3, 4].map((n) => ({ raw: plain(n) })));
  stack.imap.intercept((command, args) =>
    command === 'UID FETCH' && args.startsWith('1:* ') ? { kind: 'NO', text: 'Command failed: too many messages.' } : undefined,
  );
  try {
    const { logger, lines } = capturingLogger();
    const report = await drain(stack.settingsWith(), logger);
    assert.ok(isComplete(report), JSON.stringify(report));
    assert.equal(report.handedOff.length, 4);
    assert.ok(lines.some((l) => /listing it in parts/.test(l)));
  } finally {
    stack.imap.intercept(undefined);
  }
});
