import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { EXIT } from '../../../shared/operate/cli.js';
import { printable, printableJson } from '../../../shared/operate/printable.js';
import { runCli } from '../../support/cli.js';
import { seededDemo, startTestStack, type TestStack } from '../../support/localStack.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(() => stack.stop());

test('drain exits 0 and prints what it handed off', async () => {
  const { demo, messages } = await seededDemo();
  await stack.reseed(messages.slice(0, 2));
  const { code, output } = await runCli(['drain'], stack.settings);
  assert.equal(code, EXIT.ok, output);
  assert.match(output, /2 message\(s\) found/);
  for (const m of demo.slice(0, 2)) assert.ok(output.includes(m.subject), `${m.subject} in the report`);
  assert.equal((await stack.drainQueue()).length, 2);
});

test('drain --json prints the report as JSON', async () => {
  await stack.reseed((await seededDemo()).messages.slice(0, 1));
  const { code, output } = await runCli(['drain', '--json'], stack.settings);
  assert.equal(code, EXIT.ok);
  const report = JSON.parse(output);
  assert.equal(report.handedOff.length, 1);
  await stack.drainQueue();
});

/**
 * What a hostile sender can put in a subject with one RFC 2047 encoded word:
 * clear the screen, return the cursor, reverse the text, and end the line to
 * print report lines of its own.
 */
const FORGED_SUBJECT =
  '\x1b[2J\x1b[HInvoice 42\r' +
  '\nMailbox invoices@contoso.example, folder INBOX: 0 message(s) found.' +
  '\nDrain of invoices@contoso.example/INBOX: 0 found, 0 handed off' +
  '\u202etxt.exe\u2066 \x9b31m\x7f';

function messageWithSubject(subject: string): Buffer {
  return Buffer.from(
    [
      'From: Hostile Sender <hostile@attacker.example>',
      'To: Invoices <invoices@contoso.example>',
      `Subject: =?utf-8?B?${Buffer.from(subject, 'utf8').toString('base64')}?=`,
      'Date: Fri, 20 Nov 2026 08:00:00 +0000',
      'Message-ID: <forged-subject@attacker.example>',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Pay now.',
      '',
    ].join('\r\n'),
    'latin1',
  );
}

/** Anything a terminal acts on, apart from the line feeds between printed lines. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

test('drain drains every mailbox of MAILBOXES: one the app may not read fails alone, exit 2; status prints each with its remedy', async () => {
  const { demo, messages } = await seededDemo();
  await stack.reseed(messages.slice(0, 2));
  const { MAILBOX: _, ...rest } = stack.settings;
  const settings = {
    ...rest,
    MAILBOXES: JSON.stringify([{ mailbox: stack.mailbox }, { mailbox: 'ungranted@contoso.example' }, { mailbox: 'paused@contoso.example', enabled: false }]),
  };
  const drained = await runCli(['drain'], settings);
  assert.equal(drained.code, EXIT.failed, drained.output);
  assert.match(drained.output, new RegExp(`Mailbox ${stack.mailbox}, folder INBOX: 2 message\\(s\\) found`));
  assert.match(drained.output, /Mailbox ungranted@contoso\.example, folder INBOX:\nDrain failed\.\n\[IMAP_MAILBOX_NOT_CONNECTED\]/);
  assert.doesNotMatch(drained.output, /paused@contoso\.example/, 'a disabled mailbox is not drained');
  assert.deepEqual((await stack.drainQueue()).map((m) => m.subject).sort(), demo.slice(0, 2).map((m) => m.subject).sort());

  const status = await runCli(['status'], settings);
  assert.equal(status.code, EXIT.ok, status.output);
  assert.match(status.output, new RegExp(`Mailbox ${stack.mailbox}, folder INBOX:\\n  last run: .*, completed\\n  handed off:    2\\n  quarantined:   0\\n  left:          0`));
  assert.match(status.output, /Mailbox ungranted@contoso\.example, folder INBOX:\n  last run: .*, failed\n[\s\S]*last error:    \[IMAP_MAILBOX_NOT_CONNECTED\][\s\S]*What to do: .*Add-MailboxPermission/);
  const json = JSON.parse((await runCli(['status', '--mailbox', 'UNGRANTED@contoso.example', '--json'], settings)).output);
  assert.deepEqual(json.map((s: { mailbox: string; lastRun: { outcome: string } }) => [s.mailbox, s.lastRun.outcome]), [['ungranted@contoso.example', 'failed']]);
});

test('drain --mailbox drains just that one, and one not in MAILBOXES is refused with the list', async () => {
  await stack.reseed((await seededDemo()).messages.slice(0, 1));
  const { MAILBOX: _, ...rest } = stack.settings;
  const settings = { ...rest, MAILBOXES: `ungranted@contoso.example,${stack.mailbox}` };
  const one = await runCli(['drain', '--mailbox', stack.mailbox], settings);
  assert.equal(one.code, EXIT.ok, one.output);
  assert.doesNotMatch(one.output, /ungranted/);
  assert.equal((await stack.drainQueue()).length, 1);
  const unknown = await runCli(['drain', '--mailbox', 'someone@contoso.example'], settings);
  assert.equal(unknown.code, EXIT.failed);
  assert.match(unknown.output, new RegExp(`--mailbox someone@contoso.example is not in MAILBOXES \\(ungranted@contoso.example, ${stack.mailbox}\\)`));
});

test('a subject that decodes to terminal escapes and line breaks cannot forge report lines', async () => {
  await stack.reseed([{ raw: messageWithSubject(FORGED_SUBJECT), internalDate: new Date(Date.UTC(2026, 10, 20, 8)) }]);
  const { code, output, log } = await runCli(['drain'], stack.settings);
  assert.equal(code, EXIT.ok, output);

  for (const [name, text] of [['stdout', output], ['stderr', log]] as const) {
    assert.doesNotMatch(text, RAW_CONTROL, `${name} carries no raw control or bidi character: ${JSON.stringify(text)}`);
  }
  const lines = output.split('\n');
  assert.equal(lines.filter((l) => l.startsWith('Mailbox ')).length, 1, output);
  assert.ok(!lines.some((l) => l.startsWith('Drain of')), output);
  assert.match(lines[0]!, /^Mailbox invoices@contoso\.example, folder INBOX: 1 message\(s\) found\.$/);
  const subjectLine = lines.find((l) => l.startsWith('    UID 1  '));
  assert.equal(
    subjectLine,
    '    UID 1  \\x1b[2J\\x1b[HInvoice 42\\r\\nMailbox invoices@contoso.example, folder INBOX: 0 message(s) found.' +
      '\\nDrain of invoices@contoso.example/INBOX: 0 found, 0 handed off\\u202etxt.exe\\u2066 \\x9b31m\\x7f',
  );
  assert.equal((await stack.drainQueue())[0]?.subject, FORGED_SUBJECT, 'the queue message keeps the subject as sent');
});

test('drain --json of that subject is valid JSON with every control escaped', async () => {
  await stack.reseed([{ raw: messageWithSubject(FORGED_SUBJECT), internalDate: new Date(Date.UTC(2026, 10, 20, 8)) }]);
  const { code, output } = await runCli(['drain', '--json'], stack.settings);
  assert.equal(code, EXIT.ok, output);
  assert.doesNotMatch(output, RAW_CONTROL);
  assert.equal(JSON.parse(output).handedOff[0].subject, FORGED_SUBJECT);
  await stack.drainQueue();
});

test('printable escapes C0, DEL, C1 and bidi controls, and nothing else', () => {
  assert.equal(printable('a\tb\r\nc\x00\x1b[31m\x7f\x85\x9f'), 'a\\tb\\r\\nc\\x00\\x1b[31m\\x7f\\x85\\x9f');
  assert.equal(printable('\u202a\u202e\u2066\u2069\u2028'), '\\u202a\\u202e\\u2066\\u2069\\u2028');
  assert.equal(printable('Rechnung März – 42 € ✓ 請求書 \\x1b'), 'Rechnung März – 42 € ✓ 請求書 \\x1b');
  const value = { subject: '\x1b]0;owned\x07\u202e\x9b' };
  assert.deepEqual(JSON.parse(printableJson(value)), value);
  assert.doesNotMatch(printableJson(value), RAW_CONTROL);
});

test('bad settings exit 2 naming every one of them, and touch nothing', async () => {
  await stack.reseed((await seededDemo()).messages.slice(0, 1));
  const { TENANT_ID: _t, MAILBOX: _m, ...rest } = stack.settings;
  const { code, output } = await runCli(['drain'], { ...rest, TENANT_ID: undefined, MAILBOX: undefined, IMAP_PORT: 'imap' });
  assert.equal(code, EXIT.failed);
  assert.match(output, /\[SETTINGS_INVALID\] 3 settings are not valid/);
  assert.match(output, /TENANT_ID is missing/);
  assert.match(output, /MAILBOX is missing/);
  assert.match(output, /IMAP_PORT is not a port number/);
  assert.equal(stack.imap.messages('INBOX').length, 1);
});

test('an unreachable IMAP server exits 2 with the host to check', async () => {
  const { code, output } = await runCli(['drain'], { ...stack.settings, IMAP_PORT: '1' });
  assert.equal(code, EXIT.failed);
  assert.match(output, /\[IMAP_UNREACHABLE\] Could not connect to the IMAP server localhost:1/);
  assert.match(output, /Check IMAP_HOST and IMAP_PORT/);
});

test('unknown commands print the usage', async () => {
  const { code, output } = await runCli(['empty-it'], {});
  assert.equal(code, EXIT.usage);
  assert.match(output, /Usage: mail-drain drain/);
});

test('the bin runs the compiled CLI (after npm run build)', () => {
  const built = spawnSync(process.execPath, ['bin/mail-drain.js', '--help'], { encoding: 'utf8' });
  if (built.status === 70) {
    assert.match(built.stderr, /npm run build/);
  } else {
    assert.equal(built.status, 0, built.stderr);
    assert.match(built.stdout, /Usage: mail-drain drain/);
  }
});
