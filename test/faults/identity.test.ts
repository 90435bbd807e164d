/**
 * Key Vault and the Entra token endpoint throttle (429) or are briefly
 * unavailable (503), as both do under load. The Azure SDK retries them (Key
 * Vault's client and @azure/identity honour Retry-After) and the drain goes on;
 * when the failures persist the drain fails before it touches the mailbox, with
 * an error that says what happened, and settles nothing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { drain, isComplete } from '../../shared/drain/drain.js';
import { DrainError } from '../../shared/errors/errors.js';
import { capturingLogger, type TestStack, useTestStack } from '../support/localStack.js';
import { ensureDovecot, startDovecot, type Dovecot } from '../support/dovecot.js';
import { assertAllDelivered, checkPromise, Deliveries, listFolder, seedBulk, variedMessages, type MailboxMessage } from './deliveryPromise.js';

const dovecotAvailable = ensureDovecot();
const TOKEN_PATH = /\/oauth2\/v2\.0\/token$/;

describe('Key Vault and token endpoint faults', { skip: dovecotAvailable.available ? false : dovecotAvailable.reason, timeout: 300_000 }, () => {
  let stack: TestStack;
  let dovecot: Dovecot;

  useTestStack((started) => (stack = started));
  before(async () => {
    dovecot = await startDovecot({ entra: stack.entra });
  });
  after(async () => {
    await dovecot?.stop();
  });

  const settingsFor = (mailbox: string) => stack.settingsWith({ IMAP_HOST: 'localhost', IMAP_PORT: String(dovecot.port), MAILBOX: mailbox });

  async function mailboxOf(name: string, count = 5): Promise<{ mailbox: string; seeded: MailboxMessage[] }> {
    const mailbox = `${name}@contoso.example`;
    await dovecot.grant(mailbox);
    return { mailbox, seeded: await seedBulk(dovecot, mailbox, variedMessages(name, count)) };
  }

  /** Runs a drain that must succeed despite `failures` injected ahead of it. */
  async function drainsDespite(name: string, inject: () => void, counted: () => number, expectedFailures: number) {
    const { mailbox, seeded } = await mailboxOf(name);
    const deliveries = new Deliveries(stack);
    const before = counted();
    inject();
    const report = await drain(settingsFor(mailbox), capturingLogger().logger);
    assert.equal(counted() - before, expectedFailures, 'the injected failures were all answered');
    assert.ok(isComplete(report), `${report.stoppedBecause} ${JSON.stringify(report.failed)}`);
    assertAllDelivered(await checkPromise(dovecot, mailbox, seeded, await deliveries.collect()), name);
  }

  const vaultFailures = (status: number) => () => stack.vault.requests.filter((r) => r.status === status).length;
  // The fake Entra records requests, not answers: the failures are the requests beyond the one that succeeded.
  const tokenRequests = () => stack.entra.requests.filter((r) => TOKEN_PATH.test(r.path)).length;

  for (const status of [429, 503]) {
    test(`Key Vault answers ${status} twice: the SDK retries and the drain succeeds`, async () => {
      await drainsDespite(`vault-${status}`, () => stack.vault.failNext(status, 2), vaultFailures(status), 2);
    });

    test(`the token endpoint answers ${status} twice: the SDK retries and the drain succeeds`, async () => {
      // Three token requests: two refused, one answered.
      await drainsDespite(`token-${status}`, () => stack.entra.failNext(status, undefined, 2), tokenRequests, 3);
    });
  }

  /** A drain that must fail with a DrainError before touching the mailbox. */
  async function failsCleanly(name: string, inject: () => void, clear: () => void): Promise<DrainError> {
    const { mailbox, seeded } = await mailboxOf(name, 3);
    const deliveries = new Deliveries(stack);
    inject();
    let failure: unknown;
    try {
      await drain(settingsFor(mailbox), capturingLogger().logger);
    } catch (error) {
      failure = error;
    } finally {
      clear();
    }
    assert.ok(failure instanceof DrainError, `the drain fails with an explained error, not ${String(failure)}`);
    const after = await checkPromise(dovecot, mailbox, seeded, await deliveries.collect());
    assert.equal(after.waiting, seeded.length, 'every message is still in the mailbox');
    assert.equal(after.delivered, 0, 'nothing on the queue');
    assert.deepEqual((await listFolder(dovecot, mailbox, 'Processed')).length, 0, 'nothing settled');

    // Once the service answers again, the next run (its own credential, as a new process) delivers everything.
    const report = await drain(settingsFor(mailbox), capturingLogger().logger);
    assert.ok(isComplete(report));
    assertAllDelivered(await checkPromise(dovecot, mailbox, seeded, await deliveries.collect()), name);
    return failure;
  }

  test('Key Vault keeps answering 503: the drain fails with an explained error and settles nothing', async (t) => {
    const error = await failsCleanly('vault-down', () => stack.vault.failNext(503, 1_000), () => stack.vault.failNext(503, 0));
    assert.match(error.explain(), /Key Vault/);
    assert.match(error.explain(), /503|unavailable/i, 'the explanation names the service\'s answer');
    t.diagnostic(error.explain());
  });

  test(
    'Key Vault keeps answering 429: the error says Key Vault is throttling, not that the credential is wrong',
    async () => {
      const error = await failsCleanly('vault-throttled', () => stack.vault.failNext(429, 1_000), () => stack.vault.failNext(429, 0));
      assert.equal(error.code, 'KEYVAULT_UNAVAILABLE', error.explain());
      assert.doesNotMatch(error.remedy, /name and content/, 'the remedy is not to fix the credential');
      assert.match(error.explain(), /throttl|429|busy|try again|next run/i);
    },
  );

  test('the token endpoint keeps answering 429: the drain fails with an explained error and settles nothing', async (t) => {
    const error = await failsCleanly('token-throttled', () => stack.entra.failNext(429, undefined, 1_000), () => stack.entra.failNext(429, undefined, 0));
    assert.match(error.explain(), /token/i);
    assert.match(error.explain(), /AADSTS90033|429|throttl|transient/i, 'the explanation names Entra\'s answer');
    assert.equal(error.code, 'ENTRA_UNAVAILABLE');
    assert.doesNotMatch(error.remedy, /check TENANT_ID/, 'the remedy is not to fix the settings');
    t.diagnostic(error.explain());
  });
});
