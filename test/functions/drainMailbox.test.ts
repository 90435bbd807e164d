import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import functions, { type Timer } from '@azure/functions';
import { drainMailbox } from '../../functions/drainMailbox.js';
import { forgetCredentials } from '../../shared/credential.js';
import { seededDemo, startTestStack, type TestStack } from '../support/localStack.js';

// The package is CommonJS; Node's ESM loader does not see InvocationContext as a named export.
const { InvocationContext } = functions;

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(() => stack.stop());
// Each test starts as a new process would: nothing cached from the last one.
beforeEach(() => forgetCredentials());

const timer: Timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: '', next: '', lastUpdated: '' } };

function invocation() {
  const lines: { level: string; text: string }[] = [];
  const context = new InvocationContext({
    functionName: 'drainMailbox',
    invocationId: 'test-invocation',
    logHandler: (level, ...args) => lines.push({ level, text: args.join(' ') }),
  });
  return { context, lines };
}

/** App settings as the Functions host provides them: in the environment. */
function withAppSettings(settings: Record<string, string>) {
  const saved = { ...process.env };
  Object.assign(process.env, settings);
  return () => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  };
}

test('the timer handler drains the mailbox with the app settings', async () => {
  const { demo, messages } = await seededDemo();
  await stack.reseed(messages.slice(0, 3));
  const restore = withAppSettings(stack.settings);
  try {
    const { context, lines } = invocation();
    await drainMailbox(timer, context);
    assert.ok(lines.some((l) => l.level === 'information' && /3 found, 3 handed off/.test(l.text)), JSON.stringify(lines));
  } finally {
    restore();
  }
  const queued = await stack.drainQueue();
  assert.deepEqual(queued.map((m) => m.subject).sort(), demo.slice(0, 3).map((m) => m.subject).sort());
  assert.equal(stack.imap.messages('INBOX').length, 0);
});

test('a failed drain fails the invocation and logs what to do', async () => {
  await stack.reseed((await seededDemo()).messages.slice(0, 1));
  const restore = withAppSettings({ ...stack.settings, CLIENT_SECRET_NAME: 'deleted-secret' });
  try {
    const { context, lines } = invocation();
    await assert.rejects(drainMailbox(timer, context), { code: 'KEYVAULT_NOT_FOUND' });
    const logged = lines.find((l) => l.level === 'error');
    assert.ok(logged, 'the error is logged');
    assert.match(logged.text, /\[KEYVAULT_NOT_FOUND\][\s\S]*What to do: Store the client secret/);
  } finally {
    restore();
  }
  assert.equal(stack.imap.messages('INBOX').length, 1, 'nothing settled');
});
