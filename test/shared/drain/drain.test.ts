import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { drain, HANDOFF_CONCURRENCY, isComplete } from '../../../shared/drain/drain.js';
import { STOP_AFTER_PASSING_FAILURES } from '../../../shared/drain/stopRules.js';
import { messageKey, queueMessageSchema, type MailMessage } from '../../../shared/contract/queueMessage.js';
import { capturingLogger, useTestStack, type SeededDemo, type TestStack } from '../../support/localStack.js';
import { startFaultyProxy } from '../../support/faultyProxy.js';
import { expectDrainError } from '../../support/assertions.js';
import { BATCH_SIZE } from '../../../shared/drain/plan.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let stack: TestStack;
let seeded: SeededDemo;
useTestStack((s, d) => {
  stack = s;
  seeded = d;
});

describe('the demo mailbox round trip', () => {
  test('every message reaches the queue with its fields and blobs, then moves to Processed', async () => {
    const { demo, messages } = seeded;
    await stack.reseed(messages);
    const { logger } = capturingLogger();
    const report = await drain(stack.settingsWith(), logger);
    assert.ok(isComplete(report));
    assert.equal(report.found, demo.length);
    assert.equal(report.handedOff.length, demo.length);

    const queued = await stack.drainQueue();
    assert.equal(queued.length, demo.length);
    const inbox = stack.imap.messages('INBOX');
    assert.equal(inbox.length, 0, 'the mailbox is empty');
    assert.equal(stack.imap.messages('Processed').length, demo.length, 'Processed holds every message');

    const bySubject = new Map<string, MailMessage>();
    for (const message of queued) {
      assert.ok(queueMessageSchema.safeParse(message).success);
      let full: MailMessage;
      if ('payloadBlobUrl' in message) {
        full = JSON.parse((await stack.readBlob(message.payloadBlobUrl)).toString('utf8'));
        assert.equal(full.id, message.id);
        assert.equal(full.subject, message.subject);
      } else {
        full = message;
      }
      assert.equal(full.id, messageKey(stack.mailbox, 'INBOX', full.uidValidity, full.uid));
      assert.equal(full.mailbox, stack.mailbox);
      assert.equal(full.folder, 'INBOX');
      bySubject.set(full.subject ?? '', full);
    }

    for (const [index, sent] of demo.entries()) {
      const got = bySubject.get(sent.subject);
      assert.ok(got, `"${sent.subject}" (${sent.kind}) is on the queue`);
      assert.equal(got.uid, index + 1);
      assert.equal(got.receivedAt, new Date(Date.UTC(2026, 10, 20, 8, index)).toISOString());
      assert.deepEqual(got.to, [{ name: 'Invoices', address: stack.mailbox }]);
      assert.equal(got.raw.size, sent.raw.length);
      assert.equal(got.raw.sha256, sha256(sent.raw));
      assert.deepEqual(await stack.readBlob(got.raw.blobUrl), sent.raw, `raw MIME of ${sent.kind}`);
      assert.deepEqual(
        got.attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, size: a.size })),
        sent.attachments,
        `attachments of ${sent.kind}`,
      );
      for (const attachment of got.attachments) {
        const bytes = await stack.readBlob(attachment.blobUrl);
        assert.equal(sha256(bytes), attachment.sha256, `${attachment.filename} blob matches its sha256`);
      }
    }

    const plain = bySubject.get('Order 1001: please confirm delivery date')!;
    assert.deepEqual(plain.from, [{ name: 'Alice Example', address: 'alice@example.com' }]);
    assert.equal(plain.messageId, '<order-1001@example.com>');
    assert.match(plain.text ?? '', /confirm the delivery date/);
    assert.equal(plain.html, null);

    assert.equal(bySubject.get('Your monthly statement is ready')!.text, null);
    assert.match(bySubject.get('Your monthly statement is ready')!.html ?? '', /<b>November<\/b>/);

    const alternative = bySubject.get('Quote for the new warehouse shelves')!;
    assert.ok(alternative.text && alternative.html);
    assert.deepEqual(alternative.cc, [{ name: 'Carol', address: 'carol@builder.example' }]);
    assert.deepEqual(alternative.replyTo, [{ name: 'Support', address: 'support@builder.example' }]);

    const german = bySubject.get('Rechnung Nr. 4711 – Grüße aus Zürich ✓ 請求書')!;
    assert.equal(german.from[0]!.name, 'Jürgen Müller');
    assert.match(german.text ?? '', /3 × Ölfilter à 12,50 € — Lieferung nach Malmö/);
    assert.equal(german.inReplyTo, '<order-1001@example.com>');
    assert.deepEqual(german.references, ['<order-1001@example.com>']);

    const logo = bySubject.get('New logo proof')!.attachments[0]!;
    assert.equal(logo.inline, true);
    assert.equal(logo.contentId, 'logo@agency.example');

    const report2500 = queued.find((m) => m.subject === 'Daily shipping report (2,500 rows)')!;
    assert.ok('payloadBlobUrl' in report2500, 'the over-limit message travels by reference');
    const rows = bySubject.get('Daily shipping report (2,500 rows)')!.text!.trimEnd().split('\n');
    assert.equal(rows.length, 2500, 'nothing truncated');
    assert.match(rows.at(-1)!, /^Row 2500: order 102499/);
    assert.equal(report.handedOff.filter((m) => m.viaBlob).length, 1);
  });
});

describe('after processing', () => {
  for (const mode of ['delete', 'flag'] as const) {
    test(`${mode}: the mailbox is settled that way, and a second drain finds nothing new`, async () => {
      const { demo, messages } = seeded;
      await stack.reseed(messages.slice(0, 3));
      {
        const settings = stack.settingsWith({ AFTER_PROCESSING: mode });
        const first = await drain(settings, capturingLogger().logger);
        assert.equal(first.handedOff.length, 3);
        assert.equal((await stack.drainQueue()).length, 3);
        assert.equal(stack.imap.messages('Processed').length, 0, 'nothing moved');
        const inbox = stack.imap.messages('INBOX');
        if (mode === 'delete') assert.equal(inbox.length, 0);
        else {
          assert.equal(inbox.length, 3);
          for (const m of inbox) assert.ok(m.flags.includes('\\Seen'), `UID ${m.uid} flagged \\Seen`);
        }
        stack.imap.append('INBOX', { raw: demo[3]!.raw });
        const second = await drain(settings, capturingLogger().logger);
        assert.deepEqual(second.handedOff.map((m) => m.subject), [demo[3]!.subject]);
      }
    });
  }
});

describe('failures leave the mailbox untouched', () => {
  before(() => stack.reseed(seeded.messages.slice(0, 2)));

  test('an IMAP authentication failure is explained and settles nothing', async () => {
    stack.exchangeServicePrincipal.registered = false;
    try {
      const error = await expectDrainError(drain(stack.settingsWith(), capturingLogger().logger), 'IMAP_AUTH_FAILED');
      assert.match(error.remedy, /IMAP\.AccessAsApp/);
      assert.match(error.remedy, new RegExp(`New-ServicePrincipal -AppId ${stack.clientId}`));
      assert.match(error.remedy, /Add-MailboxPermission -Identity invoices@contoso.example/);
    } finally {
      stack.exchangeServicePrincipal.registered = true;
    }
    assert.equal(stack.imap.messages('INBOX').length, 2);
    assert.equal((await stack.drainQueue()).length, 0);
  });

  test('a missing mailbox permission ("User is authenticated but not connected") is explained', async () => {
    stack.mailboxGrants.clear();
    try {
      const error = await expectDrainError(drain(stack.settingsWith(), capturingLogger().logger), 'IMAP_MAILBOX_NOT_CONNECTED');
      assert.match(error.remedy, /Add-MailboxPermission -Identity invoices@contoso.example -User <enterprise-app-object-id> -AccessRights FullAccess/);
    } finally {
      stack.mailboxGrants.add(stack.mailbox);
    }
    assert.equal(stack.imap.messages('INBOX').length, 2);
  });

  test('a missing Key Vault secret is explained and settles nothing', async () => {
    const error = await expectDrainError(
      drain(stack.settingsWith({ CLIENT_SECRET_NAME: 'no-such-secret' }), capturingLogger().logger),
      'KEYVAULT_NOT_FOUND',
    );
    assert.match(error.message, /no secret named "no-such-secret"/);
    assert.match(error.remedy, /az keyvault secret set/);
    assert.equal(stack.imap.messages('INBOX').length, 2);
  });

  test('a Key Vault role assignment missing is explained with the role to assign', async () => {
    stack.vault.forbid('*');
    try {
      const error = await expectDrainError(drain(stack.settingsWith(), capturingLogger().logger), 'KEYVAULT_FORBIDDEN');
      assert.match(error.remedy, /Key Vault Secrets User/);
    } finally {
      stack.vault.allow('*');
    }
    assert.equal(stack.imap.messages('INBOX').length, 2);
  });

  test('a wrong client secret is explained as AADSTS7000215', async () => {
    stack.vault.setSecret('mail-drain-client-secret', { value: 'wrong-secret-value-123' });
    try {
      const error = await expectDrainError(drain(stack.settingsWith(), capturingLogger().logger), 'ENTRA_SECRET_INVALID');
      assert.match(error.remedy, /Value, not its Secret ID/);
    } finally {
      stack.vault.setSecret('mail-drain-client-secret', { value: stack.clientSecret });
    }
    assert.equal(stack.imap.messages('INBOX').length, 2);
  });
});

describe('a queue failure mid-drain', () => {
  test('settles what the queue acknowledged, leaves every other message in the mailbox, and stops once nothing gets through', async () => {
    const total = BATCH_SIZE * 3;
    await stack.reseed(
      Array.from({ length: total }, (_, i) => ({
        raw: Buffer.from(`From: a@example.com\r\nSubject: message ${i + 1}\r\nMessage-ID: <m${i + 1}@example.com>\r\n\r\nbody ${i + 1}\r\n`),
      })),
    );
    // The queue accepts three messages, then refuses (as it does when a role assignment is removed).
    let sends = 0;
    const proxy = await startFaultyProxy(stack.azurite.queueEndpoint, (req) =>
      req.method === 'POST' && /\/messages/.test(req.url ?? '') && ++sends > 3 ? { status: 403, code: 'AuthorizationPermissionMismatch' } : undefined,
    );
    try {
      const connection = stack.azurite.connectionString.replace(stack.azurite.queueEndpoint, proxy.url);
      const report = await drain(stack.settingsWith({ OUTPUT_STORAGE: connection }), capturingLogger().logger);

      assert.equal(isComplete(report), false);
      assert.equal(report.handedOff.length, 3);
      // Hand-offs already begun finish (they fail); none begins once three in a row failed for a passing reason. Begun:
      // HANDOFF_CONCURRENCY at first, then one as each came back before that: the 3 successes, and fewer than
      // STOP_AFTER_PASSING_FAILURES failures before and after each of them.
      const begun = HANDOFF_CONCURRENCY + 3 + (STOP_AFTER_PASSING_FAILURES - 1) * 4;
      assert.ok(report.failed.length >= STOP_AFTER_PASSING_FAILURES && report.failed.length <= begun - 3, `${report.failed.length} failed`);
      assert.equal(report.notAttempted, total - 3 - report.failed.length, 'the rest was left for the next run');
      assert.ok(report.notAttempted > 0);
      assert.match(report.stoppedBecause ?? '', /hand-offs in a row failed for a passing reason/);
      assert.match(report.failed[0]!.error, /STORAGE_FORBIDDEN/);

      const queued = await stack.drainQueue();
      const processed = stack.imap.messages('Processed');
      const inbox = stack.imap.messages('INBOX');
      assert.deepEqual(
        queued.map((m) => m.subject).sort(),
        processed.map((m) => /Subject: (.*)\r\n/.exec(m.raw.toString())![1]).sort(),
        'exactly the messages on the queue left the inbox',
      );
      assert.equal(inbox.length, total - 3, 'every message not on the queue is still in the inbox');
      assert.equal(stack.imap.messages('Failed').length, 0);
    } finally {
      await proxy.close();
    }
  });
});

describe('a queue that is down from the start', () => {
  test('stops within the hand-offs already begun instead of churning through the mailbox', async () => {
    const total = BATCH_SIZE * 3;
    await stack.reseed(Array.from({ length: total }, (_, i) => ({ raw: Buffer.from(`Subject: d${i}\r\n\r\nx\r\n`) })));
    const proxy = await startFaultyProxy(stack.azurite.queueEndpoint, (req) =>
      req.method === 'POST' ? { status: 403, code: 'AuthorizationPermissionMismatch' } : undefined,
    );
    try {
      const connection = stack.azurite.connectionString.replace(stack.azurite.queueEndpoint, proxy.url);
      const report = await drain(stack.settingsWith({ OUTPUT_STORAGE: connection }), capturingLogger().logger);
      // Only the hand-offs begun before the third failure came back were tried (at most HANDOFF_CONCURRENCY, and the two begun as the first failures came back).
      assert.ok(report.failed.length >= STOP_AFTER_PASSING_FAILURES && report.failed.length < HANDOFF_CONCURRENCY + STOP_AFTER_PASSING_FAILURES, `${report.failed.length} failed`);
      assert.equal(report.notAttempted, total - report.failed.length);
      assert.equal(stack.imap.messages('INBOX').length, total);
    } finally {
      await proxy.close();
    }
  });
});
