/**
 * "Nothing lost, nothing blocked" against a real IMAP server, as an outside
 * review broke it: a person working in the mailbox during the drain (a second,
 * real IMAP session), a server without UIDPLUS (Dovecot told not to advertise
 * it), a backlog larger than one UID command can name, a message the server
 * will not serve (its file unreadable to Dovecot). Each test is named after
 * what broke. What the drain did is read back with doveadm, not taken from its
 * report.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync } from 'node:fs';
import { BlobServiceClient } from '@azure/storage-blob';
import { ImapFlow } from 'imapflow';
import { drain, isComplete } from '../../shared/drain/drain.js';
import { BATCH_SIZE } from '../../shared/drain/plan.js';
import { runDoctor } from '../../shared/operate/doctor.js';
import { messageKey, type MailMessage, type QueueMessage } from '../../shared/contract/queueMessage.js';
import { EXCHANGE_AUDIENCE, IMAP_ROLE } from '../../local/stack.js';
import { capturingLogger, startTestStack, type TestStack } from '../support/localStack.js';
import { expectDrainError } from '../support/assertions.js';
import { startFaultyProxy } from '../support/faultyProxy.js';
import { capabilitiesWithout, ensureDovecot, startDovecot, type Dovecot } from '../support/dovecot.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const crlf = (raw: Buffer) => Buffer.from(raw.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
const mail = (n: number, body = `body ${n}`) =>
  crlf(Buffer.from(`From: sender@example.com\nTo: shared@contoso.example\nSubject: message ${n}\nMessage-ID: <m${n}@example.com>\n\n${body}\n`));

const dovecotAvailable = ensureDovecot();

describe('the promise under an adversarial review, on Dovecot', { skip: dovecotAvailable.available ? false : dovecotAvailable.reason }, () => {
  let stack: TestStack;
  let dovecot: Dovecot;

  before(async () => {
    stack = await startTestStack();
    dovecot = await startDovecot({ entra: stack.entra });
  });
  after(async () => {
    await dovecot?.stop();
    await stack?.stop();
  });
  beforeEach(async () => {
    await stack.drainQueue();
    await stack.drainPoisonQueue();
  });

  const settingsFor = (server: Dovecot, mailbox: string, overrides: Record<string, string> = {}) =>
    stack.settingsWith({ IMAP_HOST: server.host, IMAP_PORT: String(server.port), MAILBOX: mailbox, ...overrides });
  const fullMessage = async (message: QueueMessage): Promise<MailMessage> =>
    'payloadBlobUrl' in message ? JSON.parse((await stack.readBlob(message.payloadBlobUrl)).toString('utf8')) : message;
  /** A person's mail client: a second, real IMAP session on the same mailbox. */
  const personSession = async (server: Dovecot, user: string) => {
    const accessToken = stack.entra.issueToken({ aud: EXCHANGE_AUDIENCE, appid: stack.clientId, roles: [IMAP_ROLE] });
    const client = new ImapFlow({ host: 'localhost', port: server.port, secure: true, auth: { user, accessToken }, logger: false, disableAutoEnable: true });
    client.on('error', () => {});
    await client.connect();
    await client.mailboxOpen('INBOX');
    return client;
  };
  /** A person flagging and unflagging every message, over and over, until stopped. */
  const keepFlagging = async (server: Dovecot, user: string) => {
    const client = await personSession(server, user);
    let running = true;
    let stores = 0;
    const loop = (async () => {
      while (running) {
        await client.messageFlagsAdd('1:*', ['\\Flagged']).catch(() => {});
        await client.messageFlagsRemove('1:*', ['\\Flagged']).catch(() => {});
        stores += 2;
      }
    })();
    return {
      get stores() {
        return stores;
      },
      async stop() {
        running = false;
        await loop;
        await client.logout().catch(() => client.close());
      },
    };
  };
  /** Every queued message checked against what was seeded: each once, whole, with its UID. */
  const assertQueuedExactly = async (seeded: Buffer[], queued: QueueMessage[]) => {
    const expected = new Map(seeded.map((raw) => [sha256(raw), raw]));
    const seen = new Set<string>();
    for (const message of queued) {
      const full = await fullMessage(message);
      assert.ok(Number.isInteger(full.uid) && full.uid > 0, `queued message ${full.id} has a UID`);
      assert.ok(full.raw.size > 0, `queued UID ${full.uid} is not empty`);
      const raw = await stack.readBlob(full.raw.blobUrl);
      assert.ok(expected.has(sha256(raw)), `queued UID ${full.uid} is a seeded message, byte for byte`);
      assert.ok(!seen.has(full.id), `id ${full.id} is queued once`);
      seen.add(full.id);
    }
    assert.equal(seen.size, seeded.length, 'every seeded message is on the queue');
  };

  for (const mode of ['move', 'delete'] as const) {
    test(`a person flagging mail during the drain (${mode}): unsolicited FETCH responses never become empty messages`, async () => {
      const mailbox = `flagging-${mode}@contoso.example`;
      await dovecot.grant(mailbox);
      const seeded = Array.from({ length: BATCH_SIZE * 3 }, (_, i) => mail(i + 1, `${'x'.repeat(2000)} ${i}`));
      for (const raw of seeded) await dovecot.seed(mailbox, 'INBOX', raw);
      const { logger } = capturingLogger();

      const person = await keepFlagging(dovecot, mailbox);
      let report;
      try {
        report = await drain(settingsFor(dovecot, mailbox, { AFTER_PROCESSING: mode }), logger);
      } finally {
        await person.stop();
      }

      // Dovecot reports each change to the drain's session as "* N FETCH (FLAGS (...))", no UID, no body, in
      // the middle of the drain's own UID FETCH: imapflow yields those as fetched messages.
      assert.ok(person.stores > 10, `the person kept changing flags throughout (${person.stores} stores)`);
      assert.ok(isComplete(report), JSON.stringify(report.failed));
      assert.equal(report.handedOff.length, seeded.length);
      await assertQueuedExactly(seeded, await stack.drainQueue());
      assert.deepEqual(await dovecot.messages(mailbox, 'INBOX'), [], 'the inbox is settled');
      if (mode === 'move') assert.equal((await dovecot.messages(mailbox, 'Processed')).length, seeded.length, 'every message is in Processed, once');
    });
  }

  test('a person flagging a message being streamed to quarantine does not truncate it', async () => {
    const mailbox = 'flagging-large@contoso.example';
    await dovecot.grant(mailbox);
    // 40 partial fetches of 64 KiB: the person's flag changes arrive during them.
    const large = mail(1, `${'y'.repeat(76)}\n`.repeat(34_000));
    await dovecot.seed(mailbox, 'INBOX', large);
    const person = await keepFlagging(dovecot, mailbox);
    let report;
    try {
      report = await drain(settingsFor(dovecot, mailbox, { MAX_MESSAGE_BYTES: String(1024 * 1024), LOG_LEVEL: 'debug' }), capturingLogger().logger);
    } finally {
      await person.stop();
    }
    assert.ok(isComplete(report), JSON.stringify(report.failed));
    const [poison] = await stack.drainPoisonQueue();
    assert.equal(poison?.reason, 'too-large');
    assert.ok(poison.raw, 'its bytes were kept');
    const stored = await stack.readBlob(poison.raw.blobUrl);
    assert.equal(stored.length, large.length, 'the quarantined copy is whole');
    assert.equal(sha256(stored), sha256(large));
    assert.equal((await dovecot.messages(mailbox, 'Failed')).length, 1);
  });

  describe('a server without UIDPLUS', () => {
    let bare: Dovecot;
    before(async () => {
      bare = await startDovecot({ entra: stack.entra, capabilities: capabilitiesWithout('UIDPLUS', 'MOVE') });
    });
    after(() => bare?.stop());

    /** Two of ours to drain, and a person's message flagged \Deleted (Outlook's "mark as deleted"), not expunged. */
    const seedWithPersonsDeleted = async (mailbox: string) => {
      await bare.grant(mailbox);
      for (const n of [1, 2]) await bare.seed(mailbox, 'INBOX', mail(n));
      await bare.seed(mailbox, 'INBOX', mail(99, 'the person deleted this one and may still undo it'));
      await bare.doveadm(['flags', 'add', '-u', mailbox, '\\Deleted', 'mailbox', 'INBOX', 'uid', '3']);
    };

    for (const mode of ['delete', 'move'] as const) {
      test(`${mode} is refused before anything is touched, so another person's \\Deleted mail is never expunged`, async () => {
        const mailbox = `no-uidplus-${mode}@contoso.example`;
        await seedWithPersonsDeleted(mailbox);
        const error = await expectDrainError(drain(settingsFor(bare, mailbox, { AFTER_PROCESSING: mode }), capturingLogger().logger), 'IMAP_CAPABILITY_MISSING');
        assert.match(error.remedy, /AFTER_PROCESSING=flag/);
        assert.match(error.remedy, /UIDPLUS/);
        const inbox = await bare.messages(mailbox, 'INBOX');
        assert.equal(inbox.length, 3, 'all three messages are still in the inbox');
        assert.ok(inbox.find((m) => m.uid === 3)?.flags.includes('\\Deleted'), "the person's message is still there, still \\Deleted");
        assert.deepEqual(await stack.drainQueue(), [], 'nothing was handed off');
        assert.deepEqual(await bare.folders(mailbox), ['INBOX'], 'no folder was created');
      });
    }

    test('flag mode drains, and quarantines by copying to Failed and flagging \\Seen: nothing is expunged', async () => {
      const mailbox = 'no-uidplus-flag@contoso.example';
      await seedWithPersonsDeleted(mailbox);
      await bare.seed(mailbox, 'INBOX', mail(4, 'x'.repeat(5000)));
      const report = await drain(settingsFor(bare, mailbox, { AFTER_PROCESSING: 'flag', MAX_MESSAGE_BYTES: '4000' }), capturingLogger().logger);
      assert.ok(isComplete(report), JSON.stringify(report.failed));
      assert.equal(report.quarantined.length, 1);
      const inbox = await bare.messages(mailbox, 'INBOX');
      assert.equal(inbox.length, 4, 'nothing left the inbox: flag mode expunges nothing');
      assert.ok(inbox.every((m) => m.flags.includes('\\Seen')), 'every message is \\Seen, so flag mode never drains it again');
      assert.equal((await bare.messages(mailbox, 'Failed')).length, 1, 'the quarantined copy is in Failed');
      const again = await drain(settingsFor(bare, mailbox, { AFTER_PROCESSING: 'flag' }), capturingLogger().logger);
      assert.equal(again.found, 0);
    });
  });

  test('a backlog of 20,000 messages starts draining instead of failing every run with "Too long argument"', async () => {
    const mailbox = 'backlog@contoso.example';
    await dovecot.grant(mailbox);
    const total = 20_000;
    dovecot.deliver(mailbox, Array.from({ length: total }, (_, i) => mail(i + 1)));
    // Three steps, then the time budget is spent: enough to show every command fits.
    let steps = 0;
    const report = await drain(settingsFor(dovecot, mailbox, { AFTER_PROCESSING: 'delete' }), capturingLogger().logger, {
      deadline: Date.now() + 3_600_000,
      now: () => (steps++ < 3 ? Date.now() : Number.MAX_SAFE_INTEGER),
    });
    assert.equal(report.found, total);
    assert.equal(report.handedOff.length, BATCH_SIZE * 3);
    assert.equal(report.notAttempted, total - BATCH_SIZE * 3);
    assert.match(report.stoppedBecause ?? '', /time budget/);
    assert.equal((await stack.drainQueue()).length, BATCH_SIZE * 3);
    const left = Number(/messages=(\d+)/.exec((await dovecot.doveadm(['-f', 'flow', 'mailbox', 'status', '-u', mailbox, 'messages', 'INBOX'])).toString())![1]);
    assert.equal(left, total - BATCH_SIZE * 3, 'exactly the handed-off messages were deleted');
  });

  test('one message the server will not FETCH is quarantined after MAX_ATTEMPTS; the rest drain on every run', async () => {
    const mailbox = 'unreadable@contoso.example';
    await dovecot.grant(mailbox);
    for (const n of [1, 2, 3, 4]) await dovecot.seed(mailbox, 'INBOX', mail(n));
    // Dovecot's mail processes run as "dovecot": a file they cannot read is a message the server cannot serve.
    chmodSync(await dovecot.maildirFile(mailbox, 2), 0o000);
    const settings = settingsFor(dovecot, mailbox, { MAX_ATTEMPTS: '2' });

    const first = await drain(settings, capturingLogger().logger);
    assert.deepEqual(first.handedOff.map((m) => m.uid).sort(), [1, 3, 4], `the rest of the batch was drained around it: ${JSON.stringify(first)}`);
    assert.deepEqual(first.failed.map((m) => m.uid), [2]);
    await dovecot.seed(mailbox, 'INBOX', mail(5));
    const second = await drain(settings, capturingLogger().logger);
    assert.deepEqual(second.handedOff.map((m) => m.uid), [5], 'new mail is not held up behind it');
    assert.deepEqual(second.failed.map((m) => m.uid), [2]);
    const third = await drain(settings, capturingLogger().logger);
    assert.ok(isComplete(third), JSON.stringify(third));
    assert.deepEqual(third.quarantined.map((q) => [q.uid, q.reason]), [[2, 'max-attempts']]);

    const [poison] = await stack.drainPoisonQueue();
    assert.equal(poison?.uid, 2);
    assert.equal(poison.raw, null, 'no bytes could be had; the notice says so');
    assert.equal(poison.movedTo, 'Failed');
    assert.equal((await dovecot.messages(mailbox, 'INBOX')).length, 0);
    const failedFolder = await dovecot.doveadm(['-f', 'flow', 'mailbox', 'status', '-u', mailbox, 'messages', 'Failed']);
    assert.match(failedFolder.toString(), /messages=1/, 'the message itself is in Failed');
    assert.equal((await stack.drainQueue()).length, 4);
  });

  test('an oversized message whose upload keeps failing never stops the rest, and is not counted as its own failure', async () => {
    const mailbox = 'oversized-failing@contoso.example';
    await dovecot.grant(mailbox);
    await dovecot.seed(mailbox, 'INBOX', mail(1, 'z'.repeat(300_000)));
    for (const n of [2, 3]) await dovecot.seed(mailbox, 'INBOX', mail(n));
    const proxy = await startFaultyProxy(stack.azurite.blobEndpoint, (req) =>
      req.method === 'PUT' && (req.url ?? '').includes('/quarantine/') ? { status: 503, code: 'ServerBusy' } : undefined,
    );
    const through = (extra: Record<string, string> = {}) =>
      settingsFor(dovecot, mailbox, { MAX_MESSAGE_BYTES: '100000', MAX_ATTEMPTS: '1', ...extra });
    try {
      const settings = through({ OUTPUT_STORAGE: stack.azurite.connectionString.replace(stack.azurite.blobEndpoint, proxy.url) });
      const first = await drain(settings, capturingLogger().logger);
      assert.deepEqual(first.failed.map((m) => m.uid), [1]);
      assert.deepEqual(first.handedOff.map((m) => m.uid).sort(), [2, 3], 'the rest went on');
      assert.equal(first.stoppedBecause, undefined);
      const second = await drain(settings, capturingLogger().logger);
      assert.deepEqual(second.failed.map((m) => m.uid), [1], 'Storage failing is not the message\'s fault: with MAX_ATTEMPTS=1 it is still not quarantined');
    } finally {
      await proxy.close();
    }
    const healed = await drain(through(), capturingLogger().logger);
    assert.deepEqual(healed.quarantined.map((q) => [q.uid, q.reason]), [[1, 'too-large']]);
  });

  test('"inbox" and "INBOX" are one folder: one lease, one id', async () => {
    const mailbox = 'folder-case@contoso.example';
    await dovecot.grant(mailbox);
    await dovecot.seed(mailbox, 'INBOX', mail(1));
    const uidValidity = Number(/uidvalidity=(\d+)/.exec((await dovecot.doveadm(['-f', 'flow', 'mailbox', 'status', '-u', mailbox, 'uidvalidity', 'INBOX'])).toString())![1]);
    const [lower, upper] = await Promise.all([
      drain(settingsFor(dovecot, mailbox, { MAIL_FOLDER: 'inbox' }), capturingLogger().logger),
      drain(settingsFor(dovecot, mailbox, { MAIL_FOLDER: 'INBOX' }), capturingLogger().logger),
    ]);
    // Whether the two overlapped is timing; which lease they took is not: the one named after "INBOX".
    assert.equal(lower.folder, 'INBOX');
    assert.equal(upper.folder, 'INBOX');
    const leaseOf = (folder: string) => `locks/${createHash('sha256').update(`${mailbox}\n${folder}`).digest('hex')}.json`;
    const locks = BlobServiceClient.fromConnectionString(stack.azurite.connectionString).getContainerClient(stack.containerName);
    assert.equal(await locks.getBlobClient(leaseOf('INBOX')).exists(), true, 'the lease of INBOX');
    assert.equal(await locks.getBlobClient(leaseOf('inbox')).exists(), false, 'no second lease for "inbox"');
    const queued = await stack.drainQueue();
    assert.equal(queued.length, 1, 'handed off once');
    assert.equal(queued[0]!.folder, 'INBOX');
    assert.equal(queued[0]!.id, messageKey(mailbox, 'INBOX', uidValidity, 1));
  });

  test('a folder that does not exist is IMAP_FOLDER_NOT_FOUND (imapflow verifies it with LIST), and nothing is touched', async () => {
    const mailbox = 'no-such-folder@contoso.example';
    await dovecot.grant(mailbox);
    await dovecot.seed(mailbox, 'INBOX', mail(1));
    const error = await expectDrainError(drain(settingsFor(dovecot, mailbox, { MAIL_FOLDER: 'INBOX/Invoices' }), capturingLogger().logger), 'IMAP_FOLDER_NOT_FOUND');
    assert.match(error.message, /INBOX\/Invoices/);
    assert.equal((await dovecot.messages(mailbox, 'INBOX')).length, 1);
  });

  test('doctor says how many \\Seen messages flag mode will never drain', async () => {
    const mailbox = 'flag-seen@contoso.example';
    await dovecot.grant(mailbox);
    for (const n of [1, 2, 3]) await dovecot.seed(mailbox, 'INBOX', mail(n));
    await dovecot.doveadm(['flags', 'add', '-u', mailbox, '\\Seen', 'mailbox', 'INBOX', 'uid', '1:2']);
    const env = { ...stack.settings, IMAP_HOST: dovecot.host, IMAP_PORT: String(dovecot.port), MAILBOX: mailbox, AFTER_PROCESSING: 'flag' };
    const result = await runDoctor(env, () => {}, { logSink: { debug() {}, info() {}, warn() {}, error() {} } });
    const imap = result.steps.find((s) => s.name === 'imap');
    assert.match(imap?.detail ?? '', /1 unseen message\(s\) to drain/);
    assert.match(imap?.detail ?? '', /2 message\(s\) already \\Seen .* never drained/);
  });
});
