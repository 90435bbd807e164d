/**
 * The backlog soak: 20,000 messages waiting in a real IMAP server (Dovecot), as
 * on a first deployment against a full shared mailbox or the morning after an
 * outage, drained to empty by the product's drain, run after run as the timer
 * would. Every message must reach the queue once, under its own id, and the
 * inbox must end empty. Before every UID command named its messages as ranges,
 * Dovecot refused the first listing ("Too long argument") and every run failed
 * at its start.
 *
 * Not part of `npm test` (it takes minutes): `npm run test:backlog`.
 * BACKLOG_MESSAGES changes the size.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { QueueServiceClient } from '@azure/storage-queue';
import { drain, isComplete } from '../../shared/drain/drain.js';
import { decodeFromQueue } from '../../shared/contract/queueMessage.js';
import { capturingLogger, startTestStack, type TestStack } from '../support/localStack.js';
import { ensureDovecot, startDovecot, type Dovecot } from '../support/dovecot.js';
import { exitPromptly } from '../support/exitPromptly.js';

const MESSAGES = Number(process.env.BACKLOG_MESSAGES ?? 20_000);
/** Runs before the loop gives up: a drain that stops early is run again, as the next timer tick would. */
const MAX_RUNS = 20;

const dovecotAvailable = ensureDovecot();
const mailbox = 'backlog-soak@contoso.example';
let stack: TestStack;
let dovecot: Dovecot;

before(async () => {
  if (!dovecotAvailable.available) return;
  stack = await startTestStack();
  dovecot = await startDovecot({ entra: stack.entra, grants: [mailbox] });
});
after(async () => {
  await dovecot?.stop();
  await stack?.stop();
});

test(`a backlog of ${MESSAGES} messages drains to empty, each message queued once`, { skip: dovecotAvailable.available ? false : dovecotAvailable.reason, timeout: 40 * 60_000 }, async (t) => {
  dovecot.deliver(
    mailbox,
    Array.from({ length: MESSAGES }, (_, i) => Buffer.from(`From: a@example.com\r\nSubject: backlog ${i + 1}\r\nMessage-ID: <b${i + 1}@example.com>\r\n\r\nbody ${i + 1}\r\n`)),
  );
  const queue = QueueServiceClient.fromConnectionString(stack.azurite.connectionString).getQueueClient(stack.queueName);
  const ids = new Set<string>();
  let duplicates = 0;
  const collect = async () => {
    for (;;) {
      // Received, not deleted: hidden for the rest of the soak, so each is read once (deletes double the calls).
      const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 3 * 3600 });
      if (receivedMessageItems.length === 0) return;
      for (const item of receivedMessageItems) {
        const id = decodeFromQueue(item.messageText).id;
        if (ids.has(id)) duplicates++;
        ids.add(id);
      }
    }
  };

  const started = Date.now();
  let runs = 0;
  let found = 0;
  for (; runs < MAX_RUNS; runs++) {
    const report = await drain(stack.settingsWith({ IMAP_HOST: dovecot.host, IMAP_PORT: String(dovecot.port), MAILBOX: mailbox }), capturingLogger().logger);
    if (runs === 0) found = report.found;
    await collect();
    if (isComplete(report)) break;
    t.diagnostic(`run ${runs + 1} stopped early: ${report.stoppedBecause ?? `${report.failed.length} failed`}`);
  }
  const seconds = (Date.now() - started) / 1000;
  const left = Number(/messages=(\d+)/.exec((await dovecot.doveadm(['-f', 'flow', 'mailbox', 'status', '-u', mailbox, 'messages', 'INBOX'])).toString())![1]);
  const summary = `backlog: ${MESSAGES} messages, found ${found} by the first run, ${ids.size} queued (${duplicates} duplicates) in ${runs + 1} run(s), ${left} left, ${seconds.toFixed(0)} s`;
  console.log(summary);
  t.diagnostic(summary);
  assert.equal(found, MESSAGES, 'the first run lists the whole backlog');
  assert.equal(ids.size, MESSAGES, 'every message is on the queue');
  assert.equal(duplicates, 0, 'each once');
  assert.equal(left, 0, 'the inbox is empty');
});

exitPromptly();
