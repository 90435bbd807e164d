/**
 * The product's drain against a real IMAP server: Dovecot configured like Exchange
 * Online (test/support/dovecot.ts), with Azurite and the fake Entra, Key Vault and
 * managed identity. What the drain did to the mailbox is read back with doveadm,
 * not taken from the drain's report.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ImapFlow } from 'imapflow';
import { drain, isComplete } from '../../shared/drain/drain.js';
import { messageKey, type MailMessage, type QueueMessage } from '../../shared/contract/queueMessage.js';
import { EXCHANGE_AUDIENCE, IMAP_ROLE } from '../../local/stack.js';
import { startFakeEntra } from '../../local/entra.js';
import { capturingLogger, seededDemo, startTestStack, type TestStack } from '../support/localStack.js';
import { expectDrainError } from '../support/assertions.js';
import { startFaultyProxy } from '../support/faultyProxy.js';
import { ensureDovecot, startDovecot, type Dovecot } from '../support/dovecot.js';
import { ACCESS_TOKEN_EXPIRED_BYE } from '../support/tokenExpiryProxy.js';

const CORPUS = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/mime-corpus');
const CORPUS_FILES = [
  'mailparser/nested.eml',
  'mailparser/mixed.eml',
  'mailparser/delivery-status.eml',
  'mailparser/spam.eml',
  'mailparser/nodemailer.eml',
  'mimekit/japanese.txt',
  'mimekit/bounce.txt',
  'mimekit/simple-embedded-message.eml',
  'mimekit/multipart-related-mhtml.txt',
  'mimekit/missing-subtype.txt',
  'mimekit/empty-multipart.txt',
  'mimekit/body.1.txt',
];

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
// Dovecot stores (mail_save_crlf) and IMAP serves lines ending in CRLF, whatever the file had.
const crlf = (raw: Buffer) => Buffer.from(raw.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const within = <T>(promise: Promise<T>, ms: number, failure: string) =>
  Promise.race([promise, tick(ms).then(() => assert.fail(failure))]);

const dovecotAvailable = ensureDovecot();

describe('the drain against Dovecot configured like Exchange Online', { skip: dovecotAvailable.available ? false : dovecotAvailable.reason }, () => {
  let stack: TestStack;
  let dovecot: Dovecot;
  let demo: Awaited<ReturnType<typeof seededDemo>>['demo'];

  before(async () => {
    stack = await startTestStack();
    dovecot = await startDovecot({ entra: stack.entra, grants: [stack.mailbox] });
    demo = (await seededDemo(stack.mailbox)).demo;
  });
  after(async () => {
    await dovecot?.stop();
    await stack?.stop();
  });
  beforeEach(() => stack.drainQueue());

  /** Settings for a drain of `mailbox` on Dovecot; every test drains its own mailbox. */
  const settingsFor = (mailbox: string, overrides: Record<string, string> = {}) =>
    stack.settingsWith({ IMAP_HOST: dovecot.host, IMAP_PORT: String(dovecot.port), MAILBOX: mailbox, ...overrides });

  const fullMessage = async (message: QueueMessage): Promise<MailMessage> =>
    'payloadBlobUrl' in message ? JSON.parse((await stack.readBlob(message.payloadBlobUrl)).toString('utf8')) : message;

  /** A raw imapflow client, as the drain's but without it. */
  const imapClient = (user: string, accessToken: string) => {
    const client = new ImapFlow({ host: 'localhost', port: dovecot.port, secure: true, auth: { user, accessToken }, logger: false, disableAutoEnable: true });
    client.on('error', () => {});
    return client;
  };
  const exchangeToken = (claims: { lifetimeSeconds?: number; roles?: string[]; aud?: string } = {}) =>
    stack.entra.issueToken({ aud: EXCHANGE_AUDIENCE, appid: stack.clientId, roles: [IMAP_ROLE], ...claims });

  test('a full drain of real messages: every one reaches the queue or quarantine, and Dovecot holds them in Processed or Failed', async () => {
    const mailbox = 'full-drain@contoso.example';
    await dovecot.grant(mailbox);
    const seeded = [
      ...CORPUS_FILES.map((file) => ({ name: file, raw: readFileSync(join(CORPUS, file)) })),
      ...demo.map((m) => ({ name: `demo: ${m.kind}`, raw: m.raw })),
    ];
    for (const message of seeded) await dovecot.seed(mailbox, 'INBOX', message.raw);
    const inbox = await dovecot.messages(mailbox, 'INBOX');
    assert.equal(inbox.length, seeded.length);

    const report = await drain(settingsFor(mailbox), capturingLogger().logger);

    assert.ok(isComplete(report), JSON.stringify(report.failed));
    assert.equal(report.found, seeded.length);
    assert.equal(report.handedOff.length + report.quarantined.length, seeded.length);
    assert.deepEqual(await dovecot.messages(mailbox, 'INBOX'), [], 'the inbox is empty');

    // What Dovecot holds now, compared with what was seeded, byte for byte.
    const processed = await dovecot.messages(mailbox, 'Processed');
    const failed = await dovecot.messages(mailbox, 'Failed');
    assert.equal(processed.length, report.handedOff.length, 'Processed holds every handed-off message');
    assert.equal(failed.length, report.quarantined.length, 'Failed holds every quarantined message');
    const seededBySha = new Map(seeded.map((m, index) => [sha256(crlf(m.raw)), { ...m, uid: inbox[index]!.uid }]));
    assert.deepEqual(
      [...processed, ...failed].map((m) => sha256(m.raw)).sort(),
      [...seededBySha.keys()].sort(),
      'every seeded message is in Processed or Failed, unchanged',
    );

    const queued = await stack.drainQueue();
    assert.equal(queued.length, report.handedOff.length);
    const uidValidity = Number((await dovecot.doveadm(['-f', 'flow', 'mailbox', 'status', '-u', mailbox, 'uidvalidity', 'INBOX'])).toString().match(/uidvalidity=(\d+)/)![1]);
    for (const message of queued) {
      const full = await fullMessage(message);
      const source = seededBySha.get(full.raw.sha256);
      assert.ok(source, `queued UID ${full.uid} is a seeded message, byte for byte`);
      assert.equal(full.uid, source.uid, `${source.name} carries its INBOX UID`);
      assert.equal(full.uidValidity, uidValidity);
      assert.equal(full.id, messageKey(mailbox, 'INBOX', uidValidity, source.uid));
      assert.deepEqual(await stack.readBlob(full.raw.blobUrl), crlf(source.raw), `raw blob of ${source.name}`);
    }
    const subjects = new Set(await Promise.all(queued.map(async (m) => (await fullMessage(m)).subject)));
    for (const message of demo) assert.ok(subjects.has(message.subject), `"${message.subject}" (${message.kind}) is on the queue`);
    assert.ok(processed.every((m) => !m.flags.includes('\\Deleted')), 'moved, not left flagged for deletion');
  });

  describe('after processing', () => {
    for (const mode of ['delete', 'flag'] as const) {
      test(`${mode}: Dovecot's inbox is settled that way, and a second drain finds only the new message`, async () => {
        const mailbox = `after-${mode}@contoso.example`;
        await dovecot.grant(mailbox);
        for (const message of demo.slice(0, 3)) await dovecot.seed(mailbox, 'INBOX', message.raw);
        const settings = settingsFor(mailbox, { AFTER_PROCESSING: mode });

        const first = await drain(settings, capturingLogger().logger);
        assert.equal(first.handedOff.length, 3);
        assert.equal((await stack.drainQueue()).length, 3);
        assert.deepEqual(await dovecot.messages(mailbox, 'Processed'), [], 'nothing moved');
        const inbox = await dovecot.messages(mailbox, 'INBOX');
        if (mode === 'delete') {
          assert.deepEqual(inbox, [], 'expunged');
        } else {
          assert.equal(inbox.length, 3);
          for (const m of inbox) assert.ok(m.flags.includes('\\Seen'), `UID ${m.uid} flagged \\Seen`);
          for (const m of inbox) assert.ok(!m.flags.includes('\\Deleted'), `UID ${m.uid} not deleted`);
        }

        await dovecot.seed(mailbox, 'INBOX', demo[3]!.raw);
        const second = await drain(settings, capturingLogger().logger);
        assert.deepEqual(second.handedOff.map((m) => m.subject), [demo[3]!.subject]);
        assert.equal((await dovecot.messages(mailbox, 'INBOX')).length, mode === 'delete' ? 0 : 4);
      });
    }
  });

  describe('the server checks every token at login', () => {
    test('a good token logs in and opens the inbox', async () => {
      const client = imapClient(stack.mailbox, exchangeToken());
      await client.connect();
      try {
        assert.equal((await client.mailboxOpen('INBOX')).path, 'INBOX');
        assert.deepEqual(stack.entra.introspections.at(-1), { active: true, appid: stack.clientId });
      } finally {
        await client.logout();
      }
    });

    const refusals: { name: string; token: () => string; reason: RegExp }[] = [
      { name: 'a token for another audience (Graph)', token: () => exchangeToken({ aud: 'https://graph.microsoft.com' }), reason: /audience is 'https:\/\/graph\.microsoft\.com'/ },
      { name: 'an expired token', token: () => exchangeToken({ lifetimeSeconds: -1 }), reason: /expired at/ },
      { name: 'a token without the IMAP.AccessAsApp role', token: () => exchangeToken({ roles: [] }), reason: /lacks the app role 'IMAP\.AccessAsApp'/ },
      { name: 'a token with another app role', token: () => exchangeToken({ roles: ['full_access_as_app'] }), reason: /lacks the app role 'IMAP\.AccessAsApp'/ },
    ];
    for (const { name, token, reason } of refusals) {
      test(`${name} is refused with NO [AUTHENTICATIONFAILED]`, async () => {
        const before = stack.entra.introspections.length;
        const client = imapClient(stack.mailbox, token());
        await assert.rejects(client.connect(), (error: { authenticationFailed?: boolean; serverResponseCode?: string; responseText?: string }) => {
          assert.equal(error.authenticationFailed, true);
          assert.equal(error.serverResponseCode, 'AUTHENTICATIONFAILED');
          assert.equal(error.responseText, 'Authentication failed.');
          return true;
        });
        client.close();
        const asked = stack.entra.introspections.slice(before);
        assert.equal(asked.length, 1, 'Dovecot introspected the token once');
        assert.equal(asked[0]!.active, false);
        assert.match(asked[0]!.reason ?? '', reason);
      });
    }

    test('a token signed by another key is refused', async () => {
      const stranger = await startFakeEntra({ tenantId: stack.tenantId });
      try {
        const client = imapClient(stack.mailbox, stranger.issueToken({ aud: EXCHANGE_AUDIENCE, appid: stack.clientId, roles: [IMAP_ROLE] }));
        await assert.rejects(client.connect(), (error: { authenticationFailed?: boolean }) => error.authenticationFailed === true);
        client.close();
        assert.match(stack.entra.introspections.at(-1)?.reason ?? '', /signature/);
      } finally {
        await stranger.close();
      }
    });

    test('only implicit TLS and only XOAUTH2: no AUTH=PLAIN, LOGIN disabled', async () => {
      const client = imapClient(stack.mailbox, exchangeToken());
      await client.connect();
      try {
        const capabilities = [...client.capabilities.keys()];
        assert.ok(!capabilities.some((c) => /^AUTH=(PLAIN|LOGIN)$/.test(c)), capabilities.join(' '));
        assert.ok(capabilities.includes('MOVE') && capabilities.includes('UIDPLUS'), capabilities.join(' '));
        assert.ok(!capabilities.includes('CONDSTORE') && !capabilities.includes('SPECIAL-USE'), 'only what Exchange offers');
      } finally {
        await client.logout();
      }
      const password = new ImapFlow({ host: 'localhost', port: dovecot.port, secure: true, auth: { user: stack.mailbox, pass: 'secret' }, logger: false });
      password.on('error', () => {});
      await assert.rejects(password.connect());
      password.close();
      // In clear text the server says nothing an IMAP client could use: it waits for a TLS handshake.
      const plain = netConnect({ host: '127.0.0.1', port: dovecot.dovecotPort });
      const received: Buffer[] = [];
      plain.on('data', (chunk: Buffer) => received.push(chunk));
      plain.on('error', () => {});
      await once(plain, 'connect');
      plain.write('a1 CAPABILITY\r\n');
      await within(once(plain, 'close'), 5000, 'the server kept a clear-text connection open');
      assert.ok(!Buffer.concat(received).toString('latin1').includes('* OK'), 'no IMAP greeting without TLS');
    });
  });

  describe('mailbox permission (Add-MailboxPermission)', () => {
    const mailbox = 'payroll@contoso.example';
    before(async () => {
      await dovecot.seed(mailbox, 'INBOX', demo[0]!.raw);
      await dovecot.seed(mailbox, 'INBOX', demo[1]!.raw);
    });

    test('a drain of a mailbox the app was not granted fails as IMAP_AUTH_FAILED and settles nothing', async () => {
      const error = await expectDrainError(drain(settingsFor(mailbox), capturingLogger().logger), 'IMAP_AUTH_FAILED');
      assert.match(error.remedy, new RegExp(`Add-MailboxPermission -Identity ${mailbox}`));
      const cause = error.cause as { responseText?: string; serverResponseCode?: string };
      assert.equal(cause.serverResponseCode, 'AUTHENTICATIONFAILED');
      assert.equal(cause.responseText, 'Authentication failed.');
      assert.deepEqual(stack.entra.introspections.at(-1), { active: true, appid: stack.clientId }, 'the token itself was good');
      assert.equal((await dovecot.messages(mailbox, 'INBOX')).length, 2);
      assert.deepEqual(await dovecot.folders(mailbox), ['INBOX'], 'no folder created');
      assert.equal((await stack.drainQueue()).length, 0);
    });

    test('granted, the same drain succeeds; revoked again, it fails again', async () => {
      await dovecot.grant(mailbox);
      const report = await drain(settingsFor(mailbox, { AFTER_PROCESSING: 'flag' }), capturingLogger().logger);
      assert.equal(report.handedOff.length, 2);
      assert.equal((await stack.drainQueue()).length, 2);

      await dovecot.revoke(mailbox);
      await expectDrainError(drain(settingsFor(mailbox, { AFTER_PROCESSING: 'flag' }), capturingLogger().logger), 'IMAP_AUTH_FAILED');
    });
  });

  describe("Exchange's end of a session whose token expired", () => {
    test(`the next command after the token expired is answered with "${ACCESS_TOKEN_EXPIRED_BYE}" and not run`, async () => {
      const mailbox = 'expiry@contoso.example';
      await dovecot.grant(mailbox);
      await dovecot.seed(mailbox, 'INBOX', demo[0]!.raw);
      const expiredBefore = dovecot.expiredSessions;
      const shortLived = imapClient(mailbox, exchangeToken({ lifetimeSeconds: 2 }));
      const longLived = imapClient(mailbox, exchangeToken());
      await shortLived.connect();
      await longLived.connect();
      try {
        await shortLived.mailboxOpen('INBOX');
        await longLived.mailboxOpen('INBOX');
        const closed = new Promise((resolve) => shortLived.once('close', resolve));
        await tick(2100);

        // imapflow turns a failed STORE into `false` or a rejection, depending on how it failed.
        await shortLived.messageFlagsAdd('1:*', ['\\Seen'], { uid: true }).catch(() => false);
        await within(closed, 5000, 'the expired session was not ended');
        assert.equal(shortLived.byeReason, 'Session invalidated - AccessTokenExpired');
        assert.equal(shortLived.usable, false);
        assert.equal(dovecot.expiredSessions, expiredBefore + 1);

        // The session whose token is still valid goes on, and its commands run.
        assert.ok(await longLived.messageFlagsAdd('1:*', ['\\Flagged'], { uid: true }));
        const [message] = await dovecot.messages(mailbox, 'INBOX');
        assert.ok(message?.flags.includes('\\Flagged'), 'the valid session\'s STORE ran');
        assert.ok(!message?.flags.includes('\\Seen'), 'the expired session\'s STORE never reached Dovecot');
      } finally {
        shortLived.close();
        await longLived.logout();
      }
    });

    test('BYE AccessTokenExpired mid-drain: the drain reconnects with a new token and settles everything, once', async () => {
      const mailbox = 'expiry-drain@contoso.example';
      await dovecot.grant(mailbox);
      for (const message of demo.slice(0, 3)) await dovecot.seed(mailbox, 'INBOX', message.raw);
      // While the drain hands off (its IMAP session idle), Exchange decides the token has expired.
      // A proxy that fails nothing: it only shows each queue send, so the token expires mid-hand-off.
      const queue = await startFaultyProxy(stack.azurite.queueEndpoint, (req) => {
        if (req.method === 'POST') dovecot.expireSessions();
        return undefined;
      });
      const expiredBefore = dovecot.expiredSessions;
      const { lines, logger } = capturingLogger();
      let report;
      try {
        const storage = stack.azurite.connectionString.replace(stack.azurite.queueEndpoint, queue.url);
        report = await drain(settingsFor(mailbox, { OUTPUT_STORAGE: storage }), logger);
      } finally {
        await queue.close();
      }
      assert.ok(isComplete(report), lines.join('\n'));
      assert.equal(dovecot.expiredSessions, expiredBefore + 1, 'Dovecot\'s session was ended by the BYE');
      assert.ok(lines.some((l) => /AccessTokenExpired|token expired/i.test(l)), 'the drain says why it reconnected');
      const queued = await stack.drainQueue();
      assert.equal(queued.length, 3);
      assert.equal(new Set(queued.map((m) => m.id)).size, 3, 'each message handed off once');
      assert.deepEqual(await dovecot.messages(mailbox, 'INBOX'), []);
      assert.equal((await dovecot.messages(mailbox, 'Processed')).length, 3);
    });
  });

  test('after a Dovecot restart the mailbox and its UIDVALIDITY are unchanged, so message ids are stable', async () => {
    const mailbox = 'restart@contoso.example';
    await dovecot.grant(mailbox);
    await dovecot.seed(mailbox, 'INBOX', demo[0]!.raw);
    const settings = settingsFor(mailbox, { AFTER_PROCESSING: 'flag' });
    await drain(settings, capturingLogger().logger);
    const [first] = await stack.drainQueue();

    await dovecot.restart();
    await dovecot.doveadm(['flags', 'remove', '-u', mailbox, '\\Seen', 'mailbox', 'INBOX', 'all']);
    const report = await drain(settings, capturingLogger().logger);
    const [again] = await stack.drainQueue();
    assert.equal(report.handedOff.length, 1);
    assert.equal(again?.id, first?.id, 'the re-delivery has the same idempotency key');
  });
});
