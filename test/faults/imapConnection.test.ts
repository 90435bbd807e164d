/**
 * The IMAP connection to a real server (Dovecot, like Exchange Online) breaks
 * at the worst moments: inside the literal of a message being fetched, and
 * around the MOVE that settles a batch. Whatever breaks, the promise holds:
 * nothing lost, nothing settled before the queue had it, duplicates only under
 * the same id; and the next clean drain finishes the job.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { drain, isComplete, type DrainReport, STEPS_IN_FLIGHT } from '../../shared/drain/drain.js';
import { BATCH_SIZE } from '../../shared/drain/plan.js';
import { loadOrCreateLocalCa } from '../../local/ca.js';
import { capturingLogger, type TestStack, useTestStack } from '../support/localStack.js';
import { ensureDovecot, startDovecot, type Dovecot } from '../support/dovecot.js';
import { startTcpFaultProxy, type FaultRule, type TcpFaultProxy } from '../support/tcpFaults.js';
import { assertAllDelivered, assertPromiseKept, checkPromise, Deliveries, seedBulk, variedMessages, type MailboxMessage } from './deliveryPromise.js';

const dovecotAvailable = ensureDovecot();

describe('IMAP connection faults', { skip: dovecotAvailable.available ? false : dovecotAvailable.reason, timeout: 300_000 }, () => {
  let stack: TestStack;
  let dovecot: Dovecot;
  /** A TLS hop in front of Dovecot: its rules see the IMAP conversation. */
  let imapHop: TcpFaultProxy;
  /** Below TLS: its rules see only bytes. */
  let imapWire: TcpFaultProxy;

  useTestStack((started) => (stack = started));
  before(async () => {
    dovecot = await startDovecot({ entra: stack.entra });
    const ca = loadOrCreateLocalCa();
    const target = { host: '127.0.0.1', port: dovecot.port };
    imapHop = await startTcpFaultProxy({ target, tls: { ...ca.issue(['localhost']), ca: ca.certPem, servername: 'localhost' } });
    imapWire = await startTcpFaultProxy({ target });
  });
  after(async () => {
    await imapHop?.close();
    await imapWire?.close();
    await dovecot?.stop();
  });

  const settingsFor = (mailbox: string, proxy?: TcpFaultProxy) =>
    stack.settingsWith({ IMAP_HOST: 'localhost', IMAP_PORT: String(proxy?.port ?? dovecot.port), MAILBOX: mailbox });

  /** A mailbox of `count` messages whose bodies are `bodyBytes` long, each test its own. */
  async function mailboxOf(name: string, count: number, bodyBytes: number): Promise<{ mailbox: string; seeded: MailboxMessage[] }> {
    const mailbox = `${name}@contoso.example`;
    await dovecot.grant(mailbox);
    return { mailbox, seeded: await seedBulk(dovecot, mailbox, variedMessages(name, count, { bodyBytes })) };
  }

  /**
   * One drain through `proxy` with `rule` armed, then the promise checked; then a
   * clean drain that must finish the job. Whether the faulted drain reconnected or
   * stopped early is the product's choice; what it may not do is break the promise.
   */
  async function faultThenRecover(t: TestContext, mailbox: string, seeded: MailboxMessage[], proxy: TcpFaultProxy, rule: FaultRule) {
    const deliveries = new Deliveries(stack);
    const handle = proxy.addRule(rule);
    const { lines, logger } = capturingLogger();
    let faulted: DrainReport;
    try {
      faulted = await drain(settingsFor(mailbox, proxy), logger);
    } finally {
      handle.remove();
    }
    assert.ok(handle.fired >= 1, `the fault happened (${rule.name})`);
    const afterFault = await checkPromise(dovecot, mailbox, seeded, await deliveries.collect());
    assertPromiseKept(afterFault, 'after the fault');

    const clean = await drain(settingsFor(mailbox), capturingLogger().logger);
    assert.ok(isComplete(clean), `the clean drain completes: ${JSON.stringify(clean.failed)} ${clean.stoppedBecause ?? ''}`);
    const afterRecovery = await checkPromise(dovecot, mailbox, seeded, await deliveries.collect());
    assertAllDelivered(afterRecovery, 'after the clean drain');
    // Steps overlap: the batches in flight when the session went may all have been handed off and not settled.
    assert.ok(afterRecovery.duplicates <= BATCH_SIZE * STEPS_IN_FLIGHT, `duplicates come from the batches in flight at most: ${afterRecovery.duplicates}`);

    const reconnected = lines.some((l) => /reconnecting/i.test(l));
    t.diagnostic(
      `${rule.name}: the faulted drain handed off ${faulted.handedOff.length} of ${seeded.length}` +
        `${faulted.stoppedBecause ? `, then stopped (${faulted.stoppedBecause.split('\n')[0]})` : ', and completed'}${reconnected ? ' after reconnecting' : ''}; ` +
        `${afterFault.deliveredNotSettled} handed off but not settled; after the clean drain ${afterRecovery.duplicates} duplicate(s), same ids`,
    );
    return { faulted, afterFault, afterRecovery, lines };
  }

  test('cut inside the literal of a message body (mid-FETCH): nothing of that batch is settled before the queue has it, nothing twice', async (t) => {
    const { mailbox, seeded } = await mailboxOf('cut-mid-fetch', 40, 20_000);
    // The 27th body is the second message of the second batch: 5,000 bytes into its 20 KB literal.
    const { afterFault, afterRecovery } = await faultThenRecover(t, mailbox, seeded, imapHop, {
      name: 'cut 5,000 bytes into the 27th BODY[] literal',
      direction: 'toClient',
      pattern: 'BODY[] {',
      occurrence: 27,
      thenBytes: 5_000,
      action: 'cut',
    });
    assert.ok(afterFault.delivered >= BATCH_SIZE, 'the batch before the cut went through');
    assert.equal(afterFault.deliveredNotSettled, 0, 'a batch cut while fetched was not handed off half');
    assert.equal(afterRecovery.duplicates, 0, 'a cut mid-FETCH duplicates nothing');
  });

  test('a TCP reset below TLS, 200 KB into the FETCH response: nothing settled before the queue has it, nothing twice', async (t) => {
    const { mailbox, seeded } = await mailboxOf('reset-mid-fetch', 30, 20_000);
    const { afterRecovery } = await faultThenRecover(t, mailbox, seeded, imapWire, {
      name: 'RST 200 KB into the session (inside a 20 KB literal of the first batch)',
      direction: 'toClient',
      afterBytes: 200_000,
      action: 'reset',
    });
    assert.equal(afterRecovery.duplicates, 0);
  });

  test('cut as UID MOVE is sent, so it never reaches the server: the batch is on the queue and stays in the mailbox until a MOVE gets through', async (t) => {
    const { mailbox, seeded } = await mailboxOf('cut-before-move', 30, 200);
    const { faulted, afterFault, afterRecovery } = await faultThenRecover(t, mailbox, seeded, imapHop, {
      name: 'cut before UID MOVE reaches Dovecot',
      direction: 'toServer',
      pattern: 'UID MOVE',
      before: true,
      action: 'cut',
    });
    assert.ok(faulted.handedOff.length >= BATCH_SIZE);
    // Either the drain moved the batch on a new connection, or it left it for the next run, which hands it off again.
    assert.equal(afterRecovery.duplicates, afterFault.deliveredNotSettled, 'exactly the unsettled messages came again, under their ids');
  });

  test('every UID MOVE cut, so nothing can be settled in this run: the batch stays in the mailbox, and the next run hands it off again under the same ids', async (t) => {
    const { mailbox, seeded } = await mailboxOf('cut-every-move', 30, 200);
    const { faulted, afterFault, afterRecovery } = await faultThenRecover(t, mailbox, seeded, imapHop, {
      name: 'cut before every UID MOVE',
      direction: 'toServer',
      pattern: 'UID MOVE',
      before: true,
      action: 'cut',
      times: 10,
    });
    // The first batch was handed off, and those fetched while it was (steps overlap); the drain went no further.
    assert.ok(faulted.handedOff.length >= BATCH_SIZE && faulted.handedOff.length <= BATCH_SIZE * STEPS_IN_FLIGHT, `${faulted.handedOff.length} handed off`);
    assert.match(faulted.stoppedBecause ?? '', new RegExp(`${faulted.handedOff.length} message\\(s\\) were handed off but not settled`));
    assert.equal(afterFault.deliveredNotSettled, faulted.handedOff.length, 'on the queue and still in the mailbox');
    assert.equal(afterFault.waiting, 30 - faulted.handedOff.length);
    assert.equal(afterRecovery.duplicates, faulted.handedOff.length, 'the unsettled batches came again, each message under its own id');
  });

  test('cut after Dovecot moved the batch, before its answer arrives: on the queue once, in Processed, nothing handed off twice', async (t) => {
    const { mailbox, seeded } = await mailboxOf('cut-after-move', 30, 200);
    const { afterFault, afterRecovery } = await faultThenRecover(t, mailbox, seeded, imapHop, {
      name: 'cut before the tagged OK of UID MOVE',
      direction: 'toClient',
      pattern: 'OK Move completed',
      before: true,
      action: 'cut',
    });
    assert.ok(afterFault.delivered >= BATCH_SIZE);
    assert.equal(afterFault.deliveredNotSettled, 0, 'Dovecot did move them, whatever the drain heard');
    assert.equal(afterRecovery.duplicates, 0);
  });
});
