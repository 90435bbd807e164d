/**
 * Every way to authenticate, against Dovecot configured like Exchange Online:
 * the three credential types, rotation, expiry, the doctor, and the redaction of
 * every secret at debug level. (The same behaviours are covered in more detail
 * against the in-process server in test/shared/.)
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { drain, isComplete } from '../../shared/drain/drain.js';
import { CredentialCache } from '../../shared/identity/credential.js';
import { DrainError } from '../../shared/errors/errors.js';
import { runDoctor } from '../../shared/operate/doctor.js';
import { IMAP_ROLE } from '../../local/stack.js';
import { makeAppCertificate } from '../support/certificates.js';
import { capturingLogger, seededDemo, startTestStack, type TestStack } from '../support/localStack.js';
import { ensureDovecot, startDovecot, type Dovecot } from '../support/dovecot.js';

const dovecotAvailable = ensureDovecot();

describe('credentials against Dovecot', { skip: dovecotAvailable.available ? false : dovecotAvailable.reason }, () => {
  let stack: TestStack;
  let dovecot: Dovecot;
  let demo: Awaited<ReturnType<typeof seededDemo>>['demo'];
  let mailboxCount = 0;

  before(async () => {
    stack = await startTestStack();
    dovecot = await startDovecot({ entra: stack.entra, grants: [] });
    demo = (await seededDemo(stack.mailbox)).demo;
  });
  after(async () => {
    await dovecot?.stop();
    await stack?.stop();
  });
  beforeEach(async () => {
    stack.entra.addApp({ clientId: stack.clientId, secret: stack.clientSecret, roles: [IMAP_ROLE] });
    stack.vault.setSecret('mail-drain-client-secret', { value: stack.clientSecret });
    await stack.drainQueue();
  });

  /** A fresh granted mailbox on Dovecot holding two demo messages, and settings to drain it. */
  async function mailboxWithMail(overrides: Record<string, string> = {}) {
    const mailbox = `creds${++mailboxCount}@contoso.example`;
    await dovecot.grant(mailbox);
    for (const message of demo.slice(0, 2)) await dovecot.seed(mailbox, 'INBOX', message.raw);
    const settings = stack.settingsWith({ IMAP_HOST: dovecot.host, IMAP_PORT: String(dovecot.port), MAILBOX: mailbox, ...overrides });
    return { mailbox, settings };
  }

  async function drainsBoth(overrides: Record<string, string> = {}) {
    const { mailbox, settings } = await mailboxWithMail(overrides);
    const { lines, logger } = capturingLogger();
    const report = await drain(settings, logger);
    assert.ok(isComplete(report), lines.join('\n'));
    assert.equal((await dovecot.messages(mailbox, 'INBOX')).length, 0);
    assert.equal((await dovecot.messages(mailbox, 'Processed')).length, 2);
    assert.equal((await stack.drainQueue()).length, 2);
    return lines;
  }

  test('secret', async () => {
    await drainsBoth();
  });

  test('certificate, PEM with its chain', async () => {
    const cert = makeAppCertificate({ withChain: true });
    stack.entra.addApp({ clientId: stack.clientId, certificatePem: cert.certificatePem, roles: [IMAP_ROLE] });
    stack.vault.setSecret('app-cert', { value: cert.pem, contentType: 'application/x-pem-file' });
    await drainsBoth({ CREDENTIAL_TYPE: 'certificate', CLIENT_CERTIFICATE_NAME: 'app-cert' });
  });

  test('certificate, PKCS#12', async () => {
    const cert = makeAppCertificate();
    stack.entra.addApp({ clientId: stack.clientId, certificatePem: cert.certificatePem, roles: [IMAP_ROLE] });
    stack.vault.setSecret('app-cert', { value: cert.pfxBase64, contentType: 'application/x-pkcs12' });
    await drainsBoth({ CREDENTIAL_TYPE: 'certificate', CLIENT_CERTIFICATE_NAME: 'app-cert' });
  });

  test('federated: the managed identity as the app credential, no secret anywhere', async () => {
    stack.entra.addApp({ clientId: stack.clientId, federatedSubjects: [stack.identity.principalId], roles: [IMAP_ROLE] });
    await drainsBoth({ CREDENTIAL_TYPE: 'federated', KEY_VAULT_URL: '', CLIENT_SECRET_NAME: '' });
  });

  test('rotation: a rotated secret is picked up without a restart', async () => {
    const { settings } = await mailboxWithMail();
    const logger = capturingLogger();
    const app = await new CredentialCache().get(settings, logger.logger);
    await app.mailboxToken(logger.logger);
    const rotated = 'rotated~dovecot-secret-0123456789';
    stack.entra.addApp({ clientId: stack.clientId, secret: rotated, roles: [IMAP_ROLE] });
    stack.vault.setSecret('mail-drain-client-secret', { value: rotated });
    // Dovecot introspects every login: the session must use a token bought with the new secret.
    await app.mailboxToken(logger.logger, { fresh: true });
    assert.ok(logger.lines.some((l) => /rejected the cached secret/.test(l)));
    const report = await drain(settings, capturingLogger().logger);
    assert.ok(isComplete(report));
    assert.equal((await stack.drainQueue()).length, 2);
  });

  test('expiry: a warning within the window, a failure before Entra once expired', async () => {
    stack.vault.setSecret('mail-drain-client-secret', { value: stack.clientSecret, expiresOn: new Date(Date.now() + 3 * 86_400_000) });
    const lines = await drainsBoth();
    assert.ok(lines.some((l) => /expires on .* \(in 2 days\)\. Renew it before then/.test(l)), lines.join('\n'));

    stack.vault.setSecret('mail-drain-client-secret', { value: stack.clientSecret, expiresOn: new Date(Date.now() - 1000) });
    const { mailbox, settings } = await mailboxWithMail();
    const tokenRequests = stack.entra.requests.length;
    await assert.rejects(drain(settings, capturingLogger().logger), (error: unknown) => error instanceof DrainError && error.code === 'CREDENTIAL_EXPIRED');
    assert.equal(stack.entra.requests.length, tokenRequests);
    assert.equal((await dovecot.messages(mailbox, 'INBOX')).length, 2);
  });

  test('token expiry mid-drain: Dovecot ends the session, the drain reconnects and finishes', async () => {
    const { mailbox, settings } = await mailboxWithMail();
    for (let i = 0; i < 58; i++) await dovecot.seed(mailbox, 'INBOX', Buffer.from(`Subject: more ${i}\r\n\r\nx\r\n`));
    const expired = dovecot.expiredSessions;
    const { lines, logger } = capturingLogger();
    const running = drain(settings, logger);
    // Mid-drain (the session is open and draining), the token expires: Exchange ends the
    // session on its next command.
    while (!lines.some((l) => /^Draining 60 message/.test(l))) await new Promise((r) => setTimeout(r, 5));
    dovecot.expireSessions();
    const report = await running;
    assert.ok(isComplete(report), lines.join('\n'));
    const queued = await stack.drainQueue();
    assert.equal(queued.length, 60);
    assert.equal(new Set(queued.map((m) => m.id)).size, 60, 'none handed off twice');
    assert.equal((await dovecot.messages(mailbox, 'Processed')).length, 60);
    assert.ok(dovecot.expiredSessions > expired, 'the proxy ended the session');
    assert.ok(lines.some((l) => /token expired; reconnecting with a new token/.test(l)), lines.join('\n'));
  });

  test('the doctor passes on a healthy setup and names the fix on a broken one', async () => {
    const { mailbox, settings } = await mailboxWithMail();
    const env = { ...stack.settings, IMAP_HOST: dovecot.host, IMAP_PORT: String(dovecot.port), MAILBOX: mailbox };
    void settings;
    const healthy = await runDoctor(env, () => {});
    assert.equal(healthy.ok, true, JSON.stringify(healthy.steps, null, 2));
    await dovecot.revoke(mailbox);
    const broken = await runDoctor(env, () => {});
    assert.equal(broken.ok, false);
    const imap = broken.steps.find((s) => s.name === 'imap');
    assert.equal(imap?.status, 'fail');
    assert.equal(imap?.code, 'IMAP_AUTH_FAILED');
    assert.match(imap?.remedy ?? '', new RegExp(`Add-MailboxPermission -Identity ${mailbox.replace('.', '\\.')}`));
  });

  test('debug logging against Dovecot leaks no secret, token or XOAUTH2 string', async () => {
    const { settings } = await mailboxWithMail({ LOG_LEVEL: 'debug' });
    const { lines, logger } = capturingLogger();
    const credentials = new CredentialCache();
    await drain(settings, logger, { credentials });
    const output = lines.join('\n');
    assert.match(output, /imap C: .*AUTHENTICATE XOAUTH2/);
    // The token the drain used: MSAL's cached one for the drain's credential.
    const token = (await (await credentials.get(settings, capturingLogger().logger)).mailboxToken(capturingLogger().logger)).token;
    const xoauth2 = Buffer.from(`user=${settings.mailbox}\x01auth=Bearer ${token}\x01\x01`).toString('base64');
    for (const secret of [stack.clientSecret, token, xoauth2]) assert.ok(!output.includes(secret.slice(0, 40)), `leaked ${secret.slice(0, 8)}…`);
  });
});
