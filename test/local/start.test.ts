import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** `npm start` without the build: local/start.ts under tsx, as its own process. */
async function start(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts'], { cwd: repoRoot, env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

test("npm start drains every demo mailbox through the timer, the control queue and the queue trigger, and shows each one's mail", async () => {
  // A MAILBOX in the shell would contradict the stack's MAILBOXES: the function app does not see it.
  const { code, stdout, stderr } = await start({ MAILBOX: 'someone@elsewhere.example' });
  assert.equal(code, 0, `${stdout}\n${stderr}`);
  assert.match(stdout, /Executing 'Functions\.requestDrains' \(Reason='Timer fired'/);
  assert.match(stdout, /\[requestDrains\] Requested a drain of 3 mailbox folder\(s\) on mail-drain-requests/);
  assert.equal(stdout.match(/Executed 'Functions\.drainMailbox' \(Succeeded/g)?.length, 3, stdout);
  assert.doesNotMatch(stderr, /test mode/, 'the package\'s test-mode warnings are said once, in its own words');

  const section = (mailbox: string) => {
    const found = stdout.split('\n\n').find((s) => s.startsWith(`${mailbox} (last drain`));
    assert.ok(found, `a section for ${mailbox} in:\n${stdout}`);
    return found;
  };
  for (const [mailbox, queue, count, subjects] of [
    ['invoices@contoso.example', 'inbound-mail', 3, ['Invoice 2026-0042', 'Fwd: Reminder: invoice 2026-0017 is due']],
    ['orders@contoso.example', 'orders-mail', 3, ['Order 1001: please confirm delivery date', 'Daily shipping report (2,500 rows)']],
    ['support@contoso.example', 'inbound-mail', 2, ['Your monthly statement is ready', 'New logo proof']],
  ] as const) {
    const text = section(mailbox);
    assert.match(text, new RegExp(`^${mailbox} \\(last drain completed: ${count} handed off, 0 quarantined\\)`));
    assert.match(text, new RegExp(`Queue "${queue}" received ${count} message\\(s\\) from it`));
    for (const subject of subjects) assert.ok(text.includes(`"${subject}"`), `${subject} in the section of ${mailbox}:\n${text}`);
    assert.match(text, new RegExp(`Mailbox now: INBOX 0, Processed ${count}, Failed 0\\.`));
  }
  assert.ok(!section('orders@contoso.example').includes('Invoice 2026-0042'), "another mailbox's mail is not listed under orders@");
  assert.match(stdout, /3 of 3 mailboxes drained completely\./);
});
