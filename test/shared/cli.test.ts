import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { EXIT } from '../../shared/cli.js';
import { runCli } from '../support/cli.js';
import { forgetCredentials } from '../../shared/credential.js';
import { seededDemo, startTestStack, type TestStack } from '../support/localStack.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(() => stack.stop());
// Each test starts as a new process would: nothing cached from the last one.
beforeEach(() => forgetCredentials());

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
