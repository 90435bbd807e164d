/**
 * Storage misbehaves while the drain hands off: the queue and blob services
 * answer 500/503 for a while, connections are reset just after Storage took a
 * message or cut in the middle of an upload, a connection stalls. The Storage
 * SDK retries (its default policy: 4 tries, 0 s, 4 s and 12 s apart) and the
 * drain keeps the promise: nothing settled before the queue has it, duplicates
 * only under the same id, and what is left waits for the next run.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { drain, isComplete, type DrainReport } from '../../shared/drain/drain.js';
import { capturingLogger, type TestStack, useTestStack } from '../support/localStack.js';
import { ensureDovecot, startDovecot, type Dovecot } from '../support/dovecot.js';
import { startFaultyProxy, type FaultRule as HttpFaultRule } from '../support/faultyProxy.js';
import { startTcpFaultProxy, targetOf, type TcpFaultProxy } from '../support/tcpFaults.js';
import { assertAllDelivered, assertPromiseKept, checkPromise, Deliveries, seedBulk, variedMessages, type MailboxMessage, type PromiseReport } from './deliveryPromise.js';

const dovecotAvailable = ensureDovecot();
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
/** The queue's send: POST /<account>/<queue>/messages. */
const isQueueSend = (method: string | undefined, url: string | undefined) => method === 'POST' && /\/inbound-mail\/messages/.test(url ?? '');
/** A message's blobs (not the lease blob under locks/). */
const isMessageBlobPut = (method: string | undefined, url: string | undefined) =>
  method === 'PUT' && /\/inbound-mail\/(?!locks\/)/.test(url ?? '');

describe('Storage faults during the hand-off', { skip: dovecotAvailable.available ? false : dovecotAvailable.reason, timeout: 600_000 }, () => {
  let stack: TestStack;
  let dovecot: Dovecot;
  let queueWire: TcpFaultProxy;
  let blobWire: TcpFaultProxy;

  useTestStack((started) => (stack = started));
  before(async () => {
    dovecot = await startDovecot({ entra: stack.entra });
    queueWire = await startTcpFaultProxy({ target: targetOf(stack.azurite.queueEndpoint) });
    blobWire = await startTcpFaultProxy({ target: targetOf(stack.azurite.blobEndpoint) });
  });
  after(async () => {
    await queueWire?.close();
    await blobWire?.close();
    await dovecot?.stop();
  });

  /** Settings for a drain of `mailbox` on Dovecot, with Storage reached through the given endpoints. */
  const settingsFor = (mailbox: string, endpoints: { queue?: string; blob?: string } = {}) => {
    let storage = stack.azurite.connectionString;
    if (endpoints.queue) storage = storage.replace(stack.azurite.queueEndpoint, endpoints.queue);
    if (endpoints.blob) storage = storage.replace(stack.azurite.blobEndpoint, endpoints.blob);
    return stack.settingsWith({ IMAP_HOST: 'localhost', IMAP_PORT: String(dovecot.port), MAILBOX: mailbox, OUTPUT_STORAGE: storage });
  };

  async function mailboxOf(name: string, count: number): Promise<{ mailbox: string; seeded: MailboxMessage[] }> {
    const mailbox = `${name}@contoso.example`;
    await dovecot.grant(mailbox);
    return { mailbox, seeded: await seedBulk(dovecot, mailbox, variedMessages(name, count)) };
  }

  /** After the faulted drain: the promise kept; then a clean drain completes, and the promise is kept again. */
  async function checkThenRecover(t: TestContext, mailbox: string, seeded: MailboxMessage[], deliveries: Deliveries, faulted: DrainReport, fault: string) {
    const afterFault = await checkPromise(dovecot, mailbox, seeded, await deliveries.collect());
    assertPromiseKept(afterFault, 'after the fault');
    const clean = await drain(settingsFor(mailbox), capturingLogger().logger);
    assert.ok(isComplete(clean), `the clean drain completes: ${clean.stoppedBecause ?? JSON.stringify(clean.failed)}`);
    const afterRecovery = await checkPromise(dovecot, mailbox, seeded, await deliveries.collect());
    assertAllDelivered(afterRecovery, 'after the clean drain');
    t.diagnostic(
      `${fault}: the drain handed off ${faulted.handedOff.length} of ${seeded.length}, ${faulted.failed.length} failed` +
        `${faulted.stoppedBecause ? `, stopped (${faulted.stoppedBecause.split('\n')[0]})` : ''}; after the clean drain ${afterRecovery.duplicates} duplicate(s)`,
    );
    return { afterFault, afterRecovery };
  }

  /** Fails what `matches` for `ms` from the first request it matches, as a service briefly overloaded does. */
  function failingFor(ms: number, status: number, code: string, matches: (method?: string, url?: string) => boolean): HttpFaultRule {
    let until: number | undefined;
    return (req) => {
      if (!matches(req.method, req.url)) return undefined;
      until ??= Date.now() + ms;
      return Date.now() < until ? { status, code } : undefined;
    };
  }

  test('the queue answers 503 ServerBusy for 1.5 s: the SDK retries, the drain completes, each message once', async (t) => {
    const { mailbox, seeded } = await mailboxOf('queue-503', 30);
    const proxy = await startFaultyProxy(stack.azurite.queueEndpoint, failingFor(1_500, 503, 'ServerBusy', isQueueSend));
    const deliveries = new Deliveries(stack);
    let report: DrainReport;
    try {
      report = await drain(settingsFor(mailbox, { queue: proxy.url }), capturingLogger().logger);
    } finally {
      await proxy.close();
    }
    assert.ok(proxy.failed > 0, 'sends were refused');
    assert.ok(isComplete(report), `${report.stoppedBecause} ${JSON.stringify(report.failed)}`);
    const { afterFault } = await checkThenRecover(t, mailbox, seeded, deliveries, report, `${proxy.failed} sends answered 503`);
    assert.equal(afterFault.delivered, seeded.length);
    assert.equal(afterFault.duplicates, 0, 'a refused send left nothing on the queue');
  });

  test('the blob service answers 500 InternalError for 1.5 s: the SDK retries, the drain completes', async (t) => {
    const { mailbox, seeded } = await mailboxOf('blob-500', 30);
    const proxy = await startFaultyProxy(stack.azurite.blobEndpoint, failingFor(1_500, 500, 'InternalError', isMessageBlobPut));
    const deliveries = new Deliveries(stack);
    let report: DrainReport;
    try {
      report = await drain(settingsFor(mailbox, { blob: proxy.url }), capturingLogger().logger);
    } finally {
      await proxy.close();
    }
    assert.ok(proxy.failed > 0, 'uploads were refused');
    assert.ok(isComplete(report), `${report.stoppedBecause} ${JSON.stringify(report.failed)}`);
    const { afterFault } = await checkThenRecover(t, mailbox, seeded, deliveries, report, `${proxy.failed} uploads answered 500`);
    assert.equal(afterFault.delivered, seeded.length);
  });

  test('the connection is reset just as the queue acknowledged a send: the SDK sends again, a duplicate under the same id', async (t) => {
    const { mailbox, seeded } = await mailboxOf('queue-reset', 30);
    const rule = queueWire.addRule({ name: 'RST instead of 201 Created', direction: 'toClient', pattern: 'HTTP/1.1 201', before: true, action: 'reset', times: 3 });
    const deliveries = new Deliveries(stack);
    let report: DrainReport;
    try {
      report = await drain(settingsFor(mailbox, { queue: queueWire.endpointFor(stack.azurite.queueEndpoint) }), capturingLogger().logger);
    } finally {
      rule.remove();
    }
    assert.equal(rule.fired, 3);
    assert.ok(isComplete(report), `${report.stoppedBecause} ${JSON.stringify(report.failed)}`);
    const { afterFault } = await checkThenRecover(t, mailbox, seeded, deliveries, report, '3 acknowledgements lost to a reset');
    assert.equal(afterFault.duplicates, 3, 'each lost acknowledgement made one duplicate, under the same id (checked)');
  });

  test('an upload cut halfway through its request: the SDK uploads again, and every raw blob is whole', async (t) => {
    const { mailbox, seeded } = await mailboxOf('blob-cut', 30);
    const rule = blobWire.addRule({
      name: 'cut 200 bytes into a message blob upload',
      direction: 'toServer',
      pattern: 'PUT /devstoreaccount1/inbound-mail/',
      thenBytes: 200,
      action: 'cut',
    });
    const deliveries = new Deliveries(stack);
    let report: DrainReport;
    try {
      report = await drain(settingsFor(mailbox, { blob: blobWire.endpointFor(stack.azurite.blobEndpoint) }), capturingLogger().logger);
    } finally {
      rule.remove();
    }
    assert.equal(rule.fired, 1);
    assert.ok(isComplete(report), `${report.stoppedBecause} ${JSON.stringify(report.failed)}`);
    await checkThenRecover(t, mailbox, seeded, deliveries, report, 'an upload cut');
    const bySha = new Map(seeded.map((m) => [sha256(m.raw), m]));
    for (const message of deliveries.queued) {
      assert.ok('raw' in message, 'small messages travel whole');
      assert.ok(bySha.has(message.raw.sha256), `UID ${message.uid}: the drain hashed the bytes it fetched`);
      assert.equal(sha256(await stack.readBlob(message.raw.blobUrl)), message.raw.sha256, `UID ${message.uid}: the raw blob is whole`);
    }
  });

  test('a queue connection stalls for 3 s: the drain waits it out and completes', async (t) => {
    const { mailbox, seeded } = await mailboxOf('queue-stall', 30);
    const rule = queueWire.addRule({ name: 'stall 3 s at a send', direction: 'toServer', pattern: 'POST /devstoreaccount1/inbound-mail/messages', before: true, action: { stallMs: 3_000 } });
    const deliveries = new Deliveries(stack);
    const started = Date.now();
    let report: DrainReport;
    try {
      report = await drain(settingsFor(mailbox, { queue: queueWire.endpointFor(stack.azurite.queueEndpoint) }), capturingLogger().logger);
    } finally {
      rule.remove();
    }
    assert.equal(rule.fired, 1);
    assert.ok(Date.now() - started >= 3_000, 'the drain waited for the stalled send');
    assert.ok(isComplete(report), `${report.stoppedBecause} ${JSON.stringify(report.failed)}`);
    const { afterFault } = await checkThenRecover(t, mailbox, seeded, deliveries, report, 'a send stalled 3 s');
    assert.equal(afterFault.duplicates, 0);
  });

  test('the queue refuses every send (503) for the whole run: each hand-off fails after the SDK retries, explained; nothing is settled; the next run delivers', async (t) => {
    const { mailbox, seeded } = await mailboxOf('queue-down', 3);
    const proxy = await startFaultyProxy(stack.azurite.queueEndpoint, (req) => (isQueueSend(req.method, req.url) ? { status: 503, code: 'ServerBusy' } : undefined));
    const deliveries = new Deliveries(stack);
    let report: DrainReport;
    try {
      report = await drain(settingsFor(mailbox, { queue: proxy.url }), capturingLogger().logger);
    } finally {
      await proxy.close();
    }
    assert.equal(proxy.failed, 3 * 4, 'each send tried 4 times (the SDK default)');
    assert.equal(report.failed.length, 3);
    assert.equal(report.handedOff.length, 0);
    for (const failure of report.failed) assert.match(failure.error, /\[STORAGE_FAILED\].*queue inbound-mail/s, 'the error names the queue and the code');
    const { afterFault } = await checkThenRecover(t, mailbox, seeded, deliveries, report, 'every send answered 503');
    assert.equal(afterFault.waiting, 3, 'all three stayed in the mailbox');
  });

  test(
    'a queue send that never gets an answer ends the drain in bounded time, with the mailbox free for the next run',
    { timeout: 240_000 },
    async (t) => {
      const bound = 60_000;
      const { mailbox, seeded } = await mailboxOf('queue-hang', 3);
      const rule = queueWire.addRule({ name: 'stall every send until released', direction: 'toServer', pattern: 'POST ', before: true, action: 'stall', times: 100 });
      const deliveries = new Deliveries(stack);
      const settings = settingsFor(mailbox, { queue: queueWire.endpointFor(stack.azurite.queueEndpoint) });
      const running = drain(settings, capturingLogger().logger).then(
        (report) => ({ report }),
        (error: unknown) => ({ error }),
      );
      try {
        const ended = await Promise.race([running, new Promise<undefined>((resolve) => setTimeout(resolve, bound))]);
        if (!ended) {
          // Meanwhile the next timer run finds the mailbox taken: the hung drain keeps renewing its lease.
          const next = await drain(settingsFor(mailbox), capturingLogger().logger);
          t.diagnostic(`after ${bound / 1000} s the drain still waits on the stalled send; a second drain ${next.skipped ? 'skips the mailbox (lease held)' : 'ran'}`);
        }
        assert.ok(ended, `the drain ended within ${bound / 1000} s of a send that never answers`);
      } finally {
        rule.remove();
        queueWire.resetAll();
        await running;
      }
      const after: PromiseReport = await checkPromise(dovecot, mailbox, seeded, await deliveries.collect());
      assertPromiseKept(after, 'after the stall');
    },
  );
});
