/**
 * Exchange Online's own failure strings, replayed by the local IMAP server over
 * a real TLS session, and what the drain makes of them.
 */
import { beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:tls';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import forge from 'node-forge';
import { drain, isComplete, STEPS_IN_FLIGHT } from '../../../shared/drain/drain.js';
import { BATCH_SIZE } from '../../../shared/drain/plan.js';
import { DrainError } from '../../../shared/errors/errors.js';
import { routeAzureSdkLogs } from '../../../shared/errors/logger.js';
import { EXCHANGE_RESPONSES } from '../../../local/imapServer.js';
import { capturingLogger, useTestStack, type SeededDemo, type TestStack } from '../../support/localStack.js';
import { makeAppCertificate } from '../../support/certificates.js';

let stack: TestStack;
let seeded: SeededDemo;
useTestStack((s, d) => {
  stack = s;
  seeded = d;
});
beforeEach(async () => {
  stack.imap.intercept(undefined);
});

test('BYE AccessTokenExpired mid-drain: a new token, a new session, nothing lost and nothing handed off twice', async () => {
  const total = 60; // three batches
  await stack.reseed(
    Array.from({ length: total }, (_, i) => ({ raw: Buffer.from(`Subject: m${i + 1}\r\nMessage-ID: <m${i + 1}@x>\r\n\r\nbody\r\n`) })),
  );
  // Exchange ends the session on the second FETCH and on the second MOVE, as when a token expires.
  let fetches = 0;
  let moves = 0;
  stack.imap.intercept((command) => {
    if (command === 'UID FETCH' && ++fetches === 3) return { kind: 'BYE', text: EXCHANGE_RESPONSES.tokenExpired };
    if (command === 'UID MOVE' && ++moves === 2) return { kind: 'BYE', text: EXCHANGE_RESPONSES.tokenExpired };
    return undefined;
  });
  const { lines, logger } = capturingLogger();
  const logins = stack.imap.logins;
  const report = await drain(stack.settingsWith(), logger);
  assert.ok(isComplete(report), lines.join('\n'));
  assert.equal(stack.imap.logins - logins, 3, 'two reconnects');
  assert.equal(lines.filter((l) => /token expired; reconnecting with a new token/.test(l)).length, 2);

  const queued = await stack.drainQueue();
  assert.equal(queued.length, total, 'every message handed off once');
  assert.equal(new Set(queued.map((m) => m.id)).size, total, 'no duplicates');
  assert.equal(stack.imap.messages('INBOX').length, 0);
  assert.equal(stack.imap.messages('Processed').length, total);
});

test('a token about to expire is replaced before the next batch, without waiting for BYE', async () => {
  stack.entra.tokenLifetimeSeconds = 90; // under the two-minute margin
  try {
    await stack.reseed(seeded.messages.slice(0, 2));
    const logins = stack.imap.logins;
    const { lines, logger } = capturingLogger();
    const report = await drain(stack.settingsWith(), logger);
    assert.ok(isComplete(report));
    assert.ok(stack.imap.logins - logins >= 2, 'reconnected with a new token');
    assert.ok(lines.some((l) => /about to expire; reconnecting/.test(l)));
  } finally {
    stack.entra.tokenLifetimeSeconds = 3600;
  }
});

test('a short throttle ("Request is throttled. Suggested Backoff Time") is waited out', async () => {
  await stack.reseed(seeded.messages.slice(0, 3));
  let throttles = 0;
  stack.imap.intercept((command) => (command === 'UID MOVE' && throttles++ === 0 ? { kind: 'NO', text: EXCHANGE_RESPONSES.throttled(200) } : undefined));
  const { lines, logger } = capturingLogger();
  const report = await drain(stack.settingsWith(), logger);
  assert.ok(isComplete(report), lines.join('\n'));
  assert.equal(throttles, 2, 'the MOVE was sent again');
  assert.ok(lines.some((l) => /throttling; trying again/.test(l)));
  assert.equal(stack.imap.messages('INBOX').length, 0);
});

test('persistent throttling ends the run cleanly: handed off, not settled, re-delivered under the same ids', async () => {
  await stack.reseed(seeded.messages.slice(0, 3));
  stack.imap.intercept((command) => (command === 'UID MOVE' ? { kind: 'NO', text: EXCHANGE_RESPONSES.throttled(50) } : undefined));
  const report = await drain(stack.settingsWith(), capturingLogger().logger);
  assert.equal(isComplete(report), false);
  assert.match(report.stoppedBecause ?? '', /\[IMAP_THROTTLED\] Exchange is throttling this mailbox; it asks to wait 50 ms/);
  assert.match(report.stoppedBecause ?? '', /3 message\(s\) were handed off but not settled/);
  assert.equal(report.handedOff.length, 3);
  assert.equal(report.notAttempted, 0, 'the handed-off messages are not also counted as not attempted');
  const queued = await stack.drainQueue();
  assert.equal(queued.length, 3);
  assert.equal(stack.imap.messages('INBOX').length, 3, 'nothing settled');

  stack.imap.intercept(undefined);
  const rerun = await drain(stack.settingsWith(), capturingLogger().logger);
  assert.ok(isComplete(rerun));
  assert.deepEqual((await stack.drainQueue()).map((m) => m.id).sort(), queued.map((m) => m.id).sort(), 'same ids on re-delivery');
});

test('a server certificate from an unknown CA is explained as IMAP_TLS', async () => {
  const untrusted = makeAppCertificate();
  const key = /-----BEGIN (RSA )?PRIVATE KEY-----[\s\S]+?-----END (RSA )?PRIVATE KEY-----/.exec(untrusted.pem)![0];
  const server = createServer({ key, cert: untrusted.certificatePem }, (socket) => socket.end());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const { port } = server.address() as AddressInfo;
    const error = await drain(stack.settingsWith({ IMAP_PORT: String(port) }), capturingLogger().logger).catch((e: unknown) => e);
    assert.ok(error instanceof DrainError, String(error));
    assert.equal(error.code, 'IMAP_TLS');
    assert.match(error.remedy, /IMAP_HOST/);
  } finally {
    server.close();
  }
  void forge;
});

test('an unknown IMAP host is explained as IMAP_UNREACHABLE', async () => {
  const error = await drain(stack.settingsWith({ IMAP_HOST: 'imap.invalid' }), capturingLogger().logger).catch((e: unknown) => e);
  assert.ok(error instanceof DrainError, String(error));
  assert.equal(error.code, 'IMAP_UNREACHABLE');
  assert.match(error.message, /imap\.invalid:\d+/);
});

test('debug logging shows the conversation but never a secret, token, key or XOAUTH2 string', async () => {
  await stack.reseed(seeded.messages.slice(0, 2));
  const cert = makeAppCertificate();
  const secretRun = capturingLogger();
  const tokensBefore = stack.tokensSeen.length;
  // As the entry points do (the function, the CLI): the Azure SDK's logs join ours at debug.
  routeAzureSdkLogs(secretRun.logger, 'debug');
  await drain(stack.settingsWith({ LOG_LEVEL: 'debug' }), secretRun.logger);

  await stack.reseed(seeded.messages.slice(0, 1));
  stack.entra.addApp({ clientId: stack.clientId, secret: stack.clientSecret, certificatePem: cert.certificatePem });
  stack.vault.setSecret('mail-drain-cert', { value: cert.pem, contentType: 'application/x-pem-file' });
  const certificateRun = capturingLogger();
  routeAzureSdkLogs(certificateRun.logger, 'debug');
  await drain(stack.settingsWith({ LOG_LEVEL: 'debug', CREDENTIAL_TYPE: 'certificate', CLIENT_CERTIFICATE_NAME: 'mail-drain-cert' }), certificateRun.logger);

  const output = [...secretRun.lines, ...certificateRun.lines].join('\n');
  assert.match(output, /imap C: .*AUTHENTICATE XOAUTH2/, 'the IMAP conversation is logged');
  assert.match(output, /imap S: /);
  assert.match(output, /azure .*getToken\(\) => SUCCESS/, 'token requests are logged');
  const tokens = stack.tokensSeen.slice(tokensBefore);
  assert.ok(tokens.length >= 2);
  const forbidden = [
    stack.clientSecret,
    ...tokens,
    ...tokens.map((t) => Buffer.from(`user=${stack.mailbox}\x01auth=Bearer ${t}\x01\x01`).toString('base64')),
    /-----BEGIN [A-Z ]*PRIVATE KEY-----\s+(\S+)/.exec(cert.pem)![1]!,
  ];
  for (const secret of forbidden) assert.ok(!output.includes(secret.slice(0, 40)), `leaked: ${secret.slice(0, 12)}…`);
});

test('a settle refused after a full batch: what was handed off counts as handed off and stays in the mailbox, the rest as not attempted', async () => {
  const total = BATCH_SIZE * 4 + 2;
  await stack.reseed(Array.from({ length: total }, (_, i) => ({ raw: Buffer.from(`Subject: s${i}\r\n\r\nx\r\n`) })));
  stack.imap.intercept((command) => (command === 'UID MOVE' ? { kind: 'NO', text: EXCHANGE_RESPONSES.throttled(50) } : undefined));
  try {
    const report = await drain(stack.settingsWith(), capturingLogger().logger);
    // The first batch's settle fails; hand-offs of batches fetched meanwhile (steps overlap) that had begun finish, the rest wait.
    assert.ok(report.handedOff.length >= BATCH_SIZE && report.handedOff.length <= BATCH_SIZE * STEPS_IN_FLIGHT, `${report.handedOff.length} handed off`);
    assert.equal(report.failed.length, 0);
    assert.equal(report.notAttempted, total - report.handedOff.length);
    assert.ok(report.notAttempted > 0, 'no batch starts once a settle failed');
    assert.match(report.stoppedBecause ?? '', new RegExp(`IMAP_THROTTLED.* ${report.handedOff.length} message\\(s\\) were handed off but not settled`, 's'));
    assert.equal(stack.imap.messages('INBOX').length, total, 'nothing left the mailbox');
  } finally {
    stack.imap.intercept(undefined);
  }
  await stack.drainQueue();
});
