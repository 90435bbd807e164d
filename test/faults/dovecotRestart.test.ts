/**
 * The IMAP server itself goes away mid-drain: Dovecot is restarted (its
 * sessions die with it, and for a moment nothing listens) while a batch is
 * being fetched, and while a fetched batch is being handed off to the queue.
 * The promise holds, and the next clean drain finishes the job.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { drain, isComplete, STEPS_IN_FLIGHT } from '../../shared/drain/drain.js';
import { BATCH_SIZE } from '../../shared/drain/plan.js';
import { loadOrCreateLocalCa } from '../../local/ca.js';
import { capturingLogger, type TestStack, useTestStack } from '../support/localStack.js';
import { ensureDovecot, startDovecot, type Dovecot } from '../support/dovecot.js';
import { startTcpFaultProxy, targetOf, type FaultRule, type TcpFaultProxy } from '../support/tcpFaults.js';
import { assertAllDelivered, assertPromiseKept, checkPromise, Deliveries, seedBulk, variedMessages } from './deliveryPromise.js';

const dovecotAvailable = ensureDovecot();

/**
 * Restarts Dovecot the hard way, as a crash or a failover does: its session
 * processes die with it. `Dovecot.restart()` alone stops only the master, and the
 * sessions it leaves behind go on serving their clients.
 */
async function hardRestart(dovecot: Dovecot): Promise<void> {
  // This instance's processes are titled "dovecot-mail-drain-<port>/<service>".
  const title = `dovecot-mail-drain-${dovecot.dovecotPort}/`;
  const sessions = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const name = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0')[0]!;
        return name === `${title}imap` || name === `${title}imap-login`;
      } catch {
        return false; // gone already
      }
    })
    .map(Number);
  for (const pid of sessions) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  await dovecot.restart();
}

describe('Dovecot restarted mid-drain', { skip: dovecotAvailable.available ? false : dovecotAvailable.reason, timeout: 300_000 }, () => {
  let stack: TestStack;
  let dovecot: Dovecot;
  /** A TLS hop in front of Dovecot, to see where the FETCH is. */
  let imapHop: TcpFaultProxy;
  /** In front of Azurite's queue service, to see the hand-off. */
  let queueWire: TcpFaultProxy;

  useTestStack((started) => (stack = started));
  before(async () => {
    dovecot = await startDovecot({ entra: stack.entra });
    const ca = loadOrCreateLocalCa();
    imapHop = await startTcpFaultProxy({
      target: { host: '127.0.0.1', port: dovecot.port },
      tls: { ...ca.issue(['localhost']), ca: ca.certPem, servername: 'localhost' },
    });
    queueWire = await startTcpFaultProxy({ target: targetOf(stack.azurite.queueEndpoint) });
  });
  after(async () => {
    await imapHop?.close();
    await queueWire?.close();
    await dovecot?.stop();
  });

  /**
   * Restarts Dovecot the `nth` time `rule` fires on `proxy` during a drain, counted over all
   * its connections; then checks, drains cleanly, checks again.
   */
  async function restartWhen(t: TestContext, name: string, proxy: TcpFaultProxy, rule: Omit<FaultRule, 'onFire' | 'times'>, nth = 1) {
    const mailbox = `${name}@contoso.example`;
    await dovecot.grant(mailbox);
    const seeded = await seedBulk(dovecot, mailbox, variedMessages(name, 60, { bodyBytes: 4_000 }));
    const deliveries = new Deliveries(stack);

    let restarted: Promise<void> | undefined;
    let firings = 0;
    const handle = proxy.addRule({ ...rule, times: nth, onFire: () => void (++firings === nth && (restarted = hardRestart(dovecot))) });
    const { lines, logger } = capturingLogger();
    const settings = stack.settingsWith({
      IMAP_HOST: 'localhost',
      IMAP_PORT: String(imapHop.port),
      MAILBOX: mailbox,
      OUTPUT_STORAGE: stack.azurite.connectionString.replace(stack.azurite.queueEndpoint, queueWire.endpointFor(stack.azurite.queueEndpoint)),
    });
    let outcome: string;
    try {
      const report = await drain(settings, logger);
      outcome = `handed off ${report.handedOff.length} of ${seeded.length}${report.stoppedBecause ? `, stopped (${report.stoppedBecause.split('\n')[0]})` : ', completed'}`;
    } catch (error) {
      // Reconnecting while Dovecot is down may fail the drain outright: allowed, as long as the promise holds.
      outcome = `failed: ${(error as Error).message}`;
    } finally {
      handle.remove();
    }
    assert.equal(handle.fired, nth, 'Dovecot was restarted mid-drain');
    assert.ok(restarted, 'Dovecot was restarted mid-drain');
    await restarted;

    const afterFault = await checkPromise(dovecot, mailbox, seeded, await deliveries.collect());
    assertPromiseKept(afterFault, 'after the restart');
    const clean = await drain(stack.settingsWith({ IMAP_HOST: 'localhost', IMAP_PORT: String(dovecot.port), MAILBOX: mailbox }), capturingLogger().logger);
    assert.ok(isComplete(clean), `the clean drain completes: ${clean.stoppedBecause ?? JSON.stringify(clean.failed)}`);
    const afterRecovery = await checkPromise(dovecot, mailbox, seeded, await deliveries.collect());
    assertAllDelivered(afterRecovery, 'after the clean drain');
    // Steps overlap: the batches in flight when the session went may all have been handed off and not settled.
    assert.ok(afterRecovery.duplicates <= BATCH_SIZE * STEPS_IN_FLIGHT, `duplicates come from the batches in flight at most: ${afterRecovery.duplicates}`);
    t.diagnostic(
      `the drain ${outcome}${lines.some((l) => /reconnecting/i.test(l)) ? ' (it reconnected)' : ''}; after the restart ${afterFault.delivered} on the queue, ` +
        `${afterFault.deliveredNotSettled} of them not settled; after the clean drain ${afterRecovery.duplicates} duplicate(s), same ids`,
    );
    return { afterFault, afterRecovery };
  }

  test('while the second batch is being fetched: the session ends inside a literal and the server is down for a moment', async (t) => {
    await restartWhen(t, 'restart-mid-fetch', imapHop, {
      name: 'Dovecot restarted 1,000 bytes into the 30th BODY[] literal',
      direction: 'toClient',
      pattern: 'BODY[] {',
      occurrence: 30,
      thenBytes: 1_000,
      // What the client sees of a server that dies mid-response: the stream ends there.
      action: 'cut',
    });
  });

  test('while a fetched batch is being handed off, before it is settled: the session dies idle', async (t) => {
    await restartWhen(
      t,
      'restart-mid-hand-off',
      queueWire,
      { name: 'a queue send', direction: 'toServer', pattern: 'POST /devstoreaccount1/inbound-mail/messages', action: 'none' },
      // Counted over every connection: the sends in flight spread over as many keep-alive
      // connections as the hand-off's concurrency, so no one connection is sure to see ten.
      30,
    );
  });
});
