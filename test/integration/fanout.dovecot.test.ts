/**
 * The fan-out end to end on a real IMAP server (issue 11): MAILBOXES names 30
 * shared mailboxes of 10 to 200 messages in Dovecot; the timer's handler puts
 * one drain request each on the control queue in Azurite; separate worker
 * processes, standing in for Functions instances, serve that queue with the
 * queue trigger's handler (test/support/fanoutWorker.ts). What they did is
 * read back from outside: the mail from the output queues and Dovecot
 * (doveadm), the statuses from Storage, and, for "one drain per mailbox at a
 * time", the leases each worker's drains were granted by Storage.
 *
 * Also: a mailbox the app may not open fails alone with its remedy in its
 * status; a backlog larger than one run's time budget is finished by the
 * follow-up requests, with no second timer tick; duplicate requests, one for a
 * removed mailbox and a malformed one leave nothing on the poison queue.
 */
import { after, before, beforeEach, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import pLimit from 'p-limit';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import functions, { type Timer } from '@azure/functions';
import { QueueServiceClient } from '@azure/storage-queue';
import { requestDrains } from '../../functions/drainMailbox.js';
import { requestFor } from '../../shared/fanout/drainRequests.js';
import { Outbox } from '../../shared/outbox/outbox.js';
import { decodeFromQueue, type QueueMessage } from '../../shared/contract/queueMessage.js';
import { DRAIN_REQUESTS_QUEUE } from '../../local/stack.js';
import { useTestStack, type TestStack } from '../support/localStack.js';
import { ensureDovecot, startDovecot, type Dovecot } from '../support/dovecot.js';
import { startFanoutWorkers, type FanoutEvent, type InvocationEvent, type LeaseEvent } from '../support/fanoutWorker.js';
import { assertAllDelivered, checkPromise, Deliveries, listFolder, seedBulk, variedMessages, type MailboxMessage } from '../faults/deliveryPromise.js';

const { InvocationContext } = functions;
const dovecotAvailable = ensureDovecot();

/** The fan-out: 30 mailboxes of 10 to 200 messages, the sizes spread evenly (3,150 messages in all). */
const MAILBOX_COUNT = 30;
const sizeOf = (i: number) => 10 + Math.round((i * 190) / (MAILBOX_COUNT - 1));
/**
 * Each test's mailboxes spread over three output queues of its own, to check each message
 * lands on its own mailbox's. Their own, and read without deleting: Azurite's queue
 * service sweeps deleted messages once a minute, and sweeping thousands blocks it for
 * seconds, which would stall the next fan-out and its figures.
 */
const outputQueues = (tag: string) => ['a', 'b', 'c'].map((x) => `${tag}-out-${x}`);
/** A backlog for the time-budget test: far more than one run of a few seconds hands off. */
const BACKLOG = 1_000;
/**
 * The function timeout for it: plan.ts keeps SETTLE_RESERVE_MS (60 s) plus a second
 * per MiB a step moves back from the deadline, so a batch may start only in the run's
 * first ~3 s (its start-up, the first run's credential included, counts too).
 */
const SHORT_TIMEOUT = '00:01:04';

/** FANOUT_COMPARE=1 (npm run test:fanout): also drain the mailboxes with one worker, for the throughput with one against three. */
const COMPARE = process.env.FANOUT_COMPARE === '1';

const timer: Timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: '', next: '', lastUpdated: '' } };

interface Target {
  mailbox: string;
  outputQueue: string;
  seeded: MailboxMessage[];
}

/** Runs `work` with `count` of `items` at a time. */
async function inParallel<T, R>(items: T[], count: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const limit = pLimit(count);
  return Promise.all(items.map((item) => limit(() => work(item))));
}

/** App settings as the Functions host provides them: in the environment, for the length of `run`. */
async function withAppSettings<T>(settings: Record<string, string>, run: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  Object.assign(process.env, settings);
  try {
    return await run();
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

const invocationsOf = (events: FanoutEvent[]) => events.filter((e): e is InvocationEvent => e.type === 'invocation');
const leasesOf = (events: FanoutEvent[]) => events.filter((e): e is LeaseEvent => e.type === 'lease');
const requestedMailbox = (e: InvocationEvent) => ((e.item as { mailbox?: unknown } | null)?.mailbox as string | undefined)?.toLowerCase();

describe('the fan-out on Dovecot: one request per mailbox, served by several workers', { skip: dovecotAvailable.available ? false : dovecotAvailable.reason, timeout: 300_000 }, () => {
  let stack: TestStack;
  let dovecot: Dovecot;
  const throughput: Record<number, { messages: number; seconds: number }> = {};
  const names = (tag: string) => Array.from({ length: MAILBOX_COUNT }, (_, i) => `${tag}-${String(i + 1).padStart(2, '0')}@contoso.example`);
  const denied = 'fan3-denied@contoso.example';
  const backlog = 'backlog@contoso.example';

  useTestStack((started) => (stack = started));
  before(async () => {
    // Granted from the start: one grant at a time waits a second each for Dovecot to see it.
    dovecot = await startDovecot({ entra: stack.entra, grants: [...names('fan1'), ...names('fan3'), backlog] });
    const queues = QueueServiceClient.fromConnectionString(stack.azurite.connectionString);
    for (const name of ['fan1', 'fan3', 'backlog'].flatMap(outputQueues)) {
      await queues.getQueueClient(name).createIfNotExists();
      await queues.getQueueClient(`${name}-poison`).createIfNotExists();
    }
  });
  after(() => dovecot?.stop());
  const queue = (name: string) => QueueServiceClient.fromConnectionString(stack.azurite.connectionString).getQueueClient(name);
  // Each test starts with an empty control queue, whatever the one before left.
  beforeEach(async () => {
    for (const name of [DRAIN_REQUESTS_QUEUE, `${DRAIN_REQUESTS_QUEUE}-poison`]) await queue(name).clearMessages();
  });
  /** Every message on a queue, received and left hidden (not deleted: see outputQueues) for longer than the test runs. */
  const readAll = async (name: string): Promise<QueueMessage[]> => {
    const client = queue(name);
    const messages: QueueMessage[] = [];
    for (;;) {
      const { receivedMessageItems } = await client.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 3600 });
      if (receivedMessageItems.length === 0) return messages;
      messages.push(...receivedMessageItems.map((m) => decodeFromQueue(m.messageText)));
    }
  };

  const control = () => queue(DRAIN_REQUESTS_QUEUE);
  const controlPoison = () => queue(`${DRAIN_REQUESTS_QUEUE}-poison`);
  /** A message on the control queue as anyone could send it: base64, as the trigger expects. */
  const sendRaw = (text: string) => control().sendMessage(Buffer.from(text, 'utf8').toString('base64'));
  const statusOf = (mailbox: string) =>
    Outbox.open({ kind: 'connectionString', connectionString: stack.azurite.connectionString }, stack, () => assert.fail('no identity')).readStatus(mailbox, 'INBOX');

  /** The workers' settings: the deployment's, with MAILBOXES instead of MAILBOX, and what the platform provides. */
  const workerEnv = (mailboxes: object[], extra: Record<string, string> = {}) => {
    const { MAILBOX: _, ...deployment } = stack.settings;
    return {
      ...deployment,
      ...stack.platformEnv,
      IMAP_HOST: dovecot.host,
      IMAP_PORT: String(dovecot.port),
      MAILBOXES: JSON.stringify(mailboxes),
      // FANOUT_EVENTS (below): every line the drains log, at debug level, with its time.
      ...(process.env.FANOUT_EVENTS ? { LOG_LEVEL: 'debug', FANOUT_WORKER_LOG: '1' } : {}),
      ...extra,
    };
  };

  const seedTargets = async (tag: string, seed: number): Promise<Target[]> =>
    inParallel(names(tag), 4, async (mailbox) => {
      const i = Number(/-(\d+)@/.exec(mailbox)![1]) - 1;
      return { mailbox, outputQueue: outputQueues(tag)[i % 3]!, seeded: await seedBulk(dovecot, mailbox, variedMessages(`${tag}-${i}`, sizeOf(i), { seed: seed + i })) };
    });

  /**
   * Starts `workers` worker processes, sends `before` to the control queue, runs the
   * timer's handler, sends `after`, and waits until the queue is drained and the workers idle.
   */
  async function fanOut(workers: number, env: Record<string, string>, extra: { before?: string[]; after?: string[] } = {}) {
    const pool = await startFanoutWorkers(workers, env);
    let startedAt: number;
    try {
      for (const text of extra.before ?? []) await sendRaw(text);
      startedAt = Date.now();
      const lines: string[] = [];
      const context = new InvocationContext({ functionName: 'requestDrains', invocationId: 'fanout-timer', logHandler: (_level, ...args) => lines.push(args.join(' ')) });
      await withAppSettings(env, () => requestDrains(timer, context));
      for (const text of extra.after ?? []) await sendRaw(text);
      await pool.untilQuiet({ timeoutMs: 150_000 });
      // FANOUT_EVENTS=<dir>: what the workers did, one JSON line an event, for a closer look.
      if (process.env.FANOUT_EVENTS) writeFileSync(join(process.env.FANOUT_EVENTS, `fanout-${workers}-${startedAt}.jsonl`), pool.events.map((e) => JSON.stringify(e)).join('\n'));
      return { events: pool.events, startedAt, timerLines: lines, stderr: pool.stderr() };
    } finally {
      await pool.stop();
    }
  }

  /** No two drains of one mailbox folder ever held its lease at once, by the leases Storage granted. */
  function assertLeasesExclusive(events: FanoutEvent[]): number {
    const byFolder = new Map<string, LeaseEvent[]>();
    for (const lease of leasesOf(events)) {
      const key = `${lease.mailbox.toLowerCase()}\n${lease.folder}`;
      byFolder.set(key, [...(byFolder.get(key) ?? []), lease]);
    }
    let pairs = 0;
    for (const [key, leases] of byFolder) {
      leases.sort((a, b) => a.acquiredAt - b.acquiredAt);
      for (let i = 1; i < leases.length; i++) {
        const [previous, next] = [leases[i - 1]!, leases[i]!];
        pairs += 1;
        assert.ok(
          next.acquiredAt >= previous.releasingAt,
          `${key.replace('\n', '/')}: ${next.worker}'s drain held the lease from ${next.acquiredAt}, before ${previous.worker}'s released it at ${previous.releasingAt}`,
        );
      }
    }
    return pairs;
  }

  /** Every seeded message on its mailbox's output queue once, under its id, and settled in Dovecot. */
  async function assertDelivered(targets: Target[]): Promise<{ queued: number; duplicates: number }> {
    const queued = new Map<string, QueueMessage[]>();
    for (const name of [...new Set(targets.map((x) => x.outputQueue))]) {
      for (const message of await readAll(name)) {
        const target = targets.find((t) => t.mailbox === message.mailbox.toLowerCase());
        assert.ok(target, `${name} carries a message of ${message.mailbox}, which this fan-out did not drain`);
        assert.equal(target.outputQueue, name, `a message of ${message.mailbox} is on ${name}, not on its mailbox's ${target.outputQueue}`);
        queued.set(target.mailbox, [...(queued.get(target.mailbox) ?? []), message]);
      }
      assert.deepEqual((await queue(`${name}-poison`).peekMessages()).peekedMessageItems, [], `nothing quarantined to ${name}-poison`);
    }
    assert.deepEqual((await queue(stack.queueName).peekMessages()).peekedMessageItems, [], 'nothing on the deployment-wide OUTPUT_QUEUE: every mailbox has its own');
    let duplicates = 0;
    await inParallel(targets, 4, async (target) => {
      const deliveries = new Deliveries(stack);
      deliveries.queued.push(...(queued.get(target.mailbox) ?? []));
      const report = await checkPromise(dovecot, target.mailbox, target.seeded, deliveries);
      assertAllDelivered(report, target.mailbox);
      duplicates += report.duplicates;
    });
    return { queued: [...queued.values()].reduce((n, q) => n + q.length, 0), duplicates };
  }

  /** Each mailbox's status says its last run completed with nothing left, and its runs handed off exactly what was seeded. */
  async function assertStatuses(targets: Target[], events: FanoutEvent[]): Promise<void> {
    const invocations = invocationsOf(events);
    await inParallel(targets, 8, async ({ mailbox, seeded }) => {
      const runs = invocations.filter((e) => e.summary?.mailbox.toLowerCase() === mailbox).sort((a, b) => a.startedAt - b.startedAt);
      assert.ok(runs.length >= 1, `${mailbox} was drained`);
      const handedOff = runs.reduce((n, r) => n + r.summary!.handedOff, 0);
      assert.equal(handedOff, seeded.length, `${mailbox}: its runs handed off ${runs.map((r) => r.summary!.handedOff).join(' + ')}, seeded ${seeded.length}`);
      const status = await statusOf(mailbox);
      assert.ok(status, `${mailbox} has a status`);
      assert.equal(status.lastRun.outcome, 'completed', `${mailbox}: ${JSON.stringify(status)}`);
      assert.equal(status.lastRun.left, 0, mailbox);
      assert.equal(status.lastRun.error, null, mailbox);
      assert.equal(status.lastRun.handedOff, runs.at(-1)!.summary!.handedOff, `${mailbox}: the status is its last run's`);
      assert.equal(status.lastCompletedAt, status.lastRun.endedAt, mailbox);
    });
  }

  /** Messages handed off per second, from the timer's requests to the end of the last drain that handed any off. */
  function measure(t: TestContext, workers: number, startedAt: number, events: FanoutEvent[]) {
    const invocations = invocationsOf(events).filter((e) => e.summary);
    const messages = invocations.reduce((n, e) => n + e.summary!.handedOff, 0);
    const seconds = (Math.max(...invocations.filter((e) => e.summary!.handedOff > 0).map((e) => e.endedAt)) - startedAt) / 1000;
    throughput[workers] = { messages, seconds };
    const perWorker = [...new Set(invocations.map((e) => e.worker))]
      .sort()
      .map((w) => `${w} ${invocations.filter((e) => e.worker === w).length} drains`)
      .join(', ');
    t.diagnostic(`${workers} worker(s): ${messages} messages from ${MAILBOX_COUNT} mailboxes in ${seconds.toFixed(1)} s = ${(messages / seconds).toFixed(0)} messages/s (${perWorker})`);
  }

  // A measurement more than a check (the three-worker test checks all of this and more): the
  // one-worker figure to compare the fan-out against, run by `npm run test:fanout`.
  test('one worker drains all 30 mailboxes, one request each: every message once on its queue, every status completed', { skip: COMPARE ? false : 'the one-worker comparison: npm run test:fanout' }, async (t) => {
    const t0 = Date.now();
    const targets = await seedTargets('fan1', 100);
    const t1 = Date.now();
    const env = workerEnv(targets.map((x) => ({ mailbox: x.mailbox, outputQueue: x.outputQueue })));
    const { events, startedAt, timerLines } = await fanOut(1, env);
    assert.ok(timerLines.some((l) => new RegExp(`Requested a drain of ${MAILBOX_COUNT} mailbox folder\\(s\\) on ${DRAIN_REQUESTS_QUEUE}`).test(l)), timerLines.join('\n'));
    const invocations = invocationsOf(events);
    assert.deepEqual(invocations.filter((e) => e.threw), [], 'no invocation failed');
    assert.equal(invocations.length, MAILBOX_COUNT, 'one invocation per request');
    assert.deepEqual([...new Set(invocations.map(requestedMailbox))].sort(), targets.map((x) => x.mailbox).sort());
    measure(t, 1, startedAt, events);
    const t2 = Date.now();
    assertLeasesExclusive(events);
    const { duplicates } = await assertDelivered(targets);
    assert.equal(duplicates, 0, 'no message handed off twice');
    const t3 = Date.now();
    await assertStatuses(targets, events);
    t.diagnostic(`phases: seed ${(t1 - t0) / 1000} s, fan-out ${(t2 - t1) / 1000} s, delivery check ${(t3 - t2) / 1000} s, statuses ${(Date.now() - t3) / 1000} s`);
  });

  test('three workers: duplicate requests are refused the lease, never drained at once; a removed mailbox and a malformed request are dropped; a mailbox the app may not open fails alone', async (t) => {
    const targets = await seedTargets('fan3', 300);
    await seedBulk(dovecot, denied, variedMessages('denied', 5));
    const env = workerEnv([...targets.map((x) => ({ mailbox: x.mailbox, outputQueue: x.outputQueue })), { mailbox: denied }]);
    // The two largest mailboxes asked for twice before the timer asks for them again: adjacent
    // on the queue, each pair reaches two workers at once.
    const largest = targets.slice(-2).map((x) => x.mailbox);
    const duplicated = largest.flatMap((m) => [m, m]);
    const { events, startedAt } = await fanOut(3, env, {
      before: duplicated.map((m) => JSON.stringify(requestFor({ mailbox: m, folder: 'INBOX' }, 'schedule'))),
      after: [JSON.stringify(requestFor({ mailbox: 'removed@contoso.example', folder: 'INBOX' }, 'schedule')), 'not a drain request'],
    });
    const invocations = invocationsOf(events);
    assert.deepEqual(invocations.filter((e) => e.threw), [], 'no invocation failed, so none is retried towards the poison queue');
    assert.ok(invocations.every((e) => e.disposition === 'deleted'));
    assert.equal(invocations.length, MAILBOX_COUNT + 1 + duplicated.length + 2, 'one invocation per request');
    measure(t, 3, startedAt, events);
    assert.ok(new Set(invocations.map((e) => e.worker)).size === 3, 'all three workers served requests');

    // One drain per mailbox at a time, by the lease: each refusal is a skipped drain, and the leases granted never overlap.
    const refused = events.filter((e) => e.type === 'leaseRefused');
    const skipped = invocations.filter((e) => e.skipped);
    assert.ok(refused.length >= 1, 'the duplicates reached the lease while another worker held it');
    assert.equal(skipped.length, refused.length, 'every refused lease is a skipped drain, and only those');
    assert.ok(skipped.every((e) => largest.includes(requestedMailbox(e)!)), 'only duplicated mailboxes were skipped');
    const pairs = assertLeasesExclusive(events);
    const drained = invocations.filter((e) => e.summary);
    assert.equal(leasesOf(events).length, drained.length, 'every drain that ran held the lease');
    t.diagnostic(
      `${refused.length} drain(s) of a duplicated mailbox refused the lease and skipped; ${pairs} later drain(s) of a mailbox took its lease only after the one before released it`,
    );

    // The removed mailbox and the malformed message: dropped, deleted, not retried.
    const dropped = invocations.filter((e) => e.dropped);
    assert.equal(dropped.length, 2);
    assert.ok(dropped.some((e) => e.problems.some((p) => /removed@contoso\.example folder "INBOX" is not in MAILBOXES/.test(p))), JSON.stringify(dropped));
    assert.ok(dropped.some((e) => e.problems.some((p) => /Dropped a message on mail-drain-requests: the message is not a drain request/.test(p))), JSON.stringify(dropped));
    assert.deepEqual((await control().peekMessages({ numberOfMessages: 32 })).peekedMessageItems, [], 'the control queue ends empty');
    assert.equal((await control().getProperties()).approximateMessagesCount, 0, 'not even an invisible request left on the control queue');
    assert.deepEqual((await controlPoison().peekMessages({ numberOfMessages: 32 })).peekedMessageItems, [], 'nothing on its poison queue');

    // The mailbox the app may not open: failed alone, with what to do in its status; its mail untouched.
    const deniedRun = invocations.find((e) => requestedMailbox(e) === denied)!;
    assert.equal(deniedRun.threw, undefined);
    // Dovecot refuses the login itself ("AUTHENTICATE failed", as test/integration/dovecot.test.ts shows), where
    // Exchange logs in and answers "User is authenticated but not connected": IMAP_AUTH_FAILED, not IMAP_MAILBOX_NOT_CONNECTED.
    assert.ok(deniedRun.problems.some((p) => /\[IMAP_AUTH_FAILED\]/.test(p)), JSON.stringify(deniedRun.problems));
    const status = await statusOf(denied);
    assert.equal(status?.lastRun.outcome, 'failed');
    assert.equal(status?.lastRun.error?.code, 'IMAP_AUTH_FAILED');
    assert.match(status?.lastRun.error?.remedy ?? '', new RegExp(`Add-MailboxPermission -Identity ${denied}`));
    assert.equal(status?.lastCompletedAt, null);
    assert.equal((await listFolder(dovecot, denied, 'INBOX')).length, 5, 'its mail is still in the mailbox');

    const { duplicates } = await assertDelivered(targets);
    assert.equal(duplicates, 0, 'no message handed off twice');
    await assertStatuses(targets, events);
    const [one, three] = [throughput[1], throughput[3]];
    if (one && three) {
      t.diagnostic(
        `fan-out throughput: 1 worker ${(one.messages / one.seconds).toFixed(0)} messages/s, 3 workers ${(three.messages / three.seconds).toFixed(0)} messages/s ` +
          `(${((three.messages / three.seconds) / (one.messages / one.seconds)).toFixed(2)}x; ${MAILBOX_COUNT} mailboxes, ${three.messages} messages)`,
      );
    }
  });

  test(`a backlog larger than one run's time budget (function timeout ${SHORT_TIMEOUT}) is finished by follow-up requests, with one timer tick`, async (t) => {
    const seeded = await seedBulk(dovecot, backlog, variedMessages('backlog', BACKLOG, { seed: 7 }));
    const target = { mailbox: backlog, outputQueue: outputQueues('backlog')[0]!, seeded };
    const env = workerEnv([{ mailbox: backlog, outputQueue: target.outputQueue }], { AzureFunctionsJobHost__functionTimeout: SHORT_TIMEOUT });
    const { events, startedAt } = await fanOut(3, env);
    const runs = invocationsOf(events).sort((a, b) => a.startedAt - b.startedAt);
    assert.deepEqual(runs.filter((e) => e.threw), [], 'no invocation failed');
    assert.ok(runs.length >= 2, `more than one run: ${runs.length}`);
    assert.deepEqual(
      runs.map((r) => (r.item as { reason: string }).reason),
      ['schedule', ...runs.slice(1).map(() => 'followUp')],
      'one request from the timer, the rest follow-ups',
    );
    for (const [i, run] of runs.entries()) {
      const last = i === runs.length - 1;
      assert.ok(run.summary, `run ${i + 1} drained`);
      assert.equal(run.skipped, false);
      assert.equal(run.followUp, !last, `run ${i + 1} ${last ? 'asked for no follow-up' : 'asked for a follow-up'}: ${JSON.stringify(run.summary)}`);
      if (!last) {
        assert.match(run.summary.stopped ?? '', /time budget/, `run ${i + 1} stopped on its time budget`);
        assert.ok(run.summary.left > 0);
      } else assert.equal(run.summary.left, 0, 'the last run left nothing');
    }
    assertLeasesExclusive(events);
    const { duplicates } = await assertDelivered([target]);
    assert.equal(duplicates, 0);
    await assertStatuses([target], events);
    const seconds = (runs.at(-1)!.endedAt - startedAt) / 1000;
    t.diagnostic(
      `${BACKLOG} messages in ${runs.length} runs of at most ${SHORT_TIMEOUT} (${runs.map((r) => r.summary!.handedOff).join(' + ')}), ` +
        `${seconds.toFixed(1)} s from the timer's request, on ${new Set(runs.map((r) => r.worker)).size} worker(s)`,
    );
    assert.deepEqual((await controlPoison().peekMessages({ numberOfMessages: 32 })).peekedMessageItems, []);
  });
});
