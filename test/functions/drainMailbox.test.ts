import { after, before, beforeEach, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import functions, { type Timer } from '@azure/functions';
import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import { drainMailbox, requestDrains } from '../../functions/drainMailbox.js';
import { requestFor, type DrainRequest } from '../../shared/fanout/drainRequests.js';
import { Outbox } from '../../shared/outbox/outbox.js';
import { DRAIN_REQUESTS_QUEUE } from '../../local/stack.js';
import { CredentialCache } from '../../shared/identity/credential.js';
import { DEFAULT_FUNCTION_TIMEOUT_MS, functionTimeoutMs } from '../../shared/config/hostConfig.js';
import { registerSecret } from '../../shared/errors/logger.js';
import { Mailbox } from '../../shared/mailbox/mailbox.js';
import { seededDemo, startTestStack, type TestStack } from '../support/localStack.js';

// The package is CommonJS; Node's ESM loader does not see InvocationContext as a named export.
const { InvocationContext } = functions;

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(() => stack.stop());
// Each test starts as a new process would: nothing cached from the last one.
let credentials: CredentialCache;
beforeEach(() => (credentials = new CredentialCache()));

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

/** A drain request for the stack's mailbox, as the timer sends it. */
const request = () => requestFor({ mailbox: stack.mailbox, folder: 'INBOX' }, 'schedule');

async function statusOf(mailbox = stack.mailbox, folder = 'INBOX') {
  return Outbox.open({ kind: 'connectionString', connectionString: stack.azurite.connectionString }, stack, () => assert.fail('no identity')).readStatus(mailbox, folder);
}

test('the timer requests a drain of each enabled mailbox on the control queue; the queue trigger drains the one a request names', async () => {
  const { demo, messages } = await seededDemo();
  await stack.reseed(messages.slice(0, 3));
  const { MAILBOX: _, ...rest } = stack.settings;
  const restore = withAppSettings({ ...rest, MAILBOXES: JSON.stringify([{ mailbox: stack.mailbox }, { mailbox: 'paused@contoso.example', enabled: false }]) });
  try {
    const timerRun = invocation();
    await requestDrains(timer, timerRun.context);
    assert.ok(timerRun.lines.some((l) => /Requested a drain of 1 mailbox folder\(s\) on mail-drain-requests; 1 disabled in MAILBOXES/.test(l.text)), JSON.stringify(timerRun.lines));
    const requests = await stack.hostItems(DRAIN_REQUESTS_QUEUE);
    assert.deepEqual(requests.map((r) => ({ ...(r as object), requestedAt: undefined })), [{ mailbox: stack.mailbox, folder: 'INBOX', reason: 'schedule', requestedAt: undefined }]);

    const { context, lines } = invocation();
    await drainMailbox(requests[0], context, credentials);
    assert.ok(lines.some((l) => l.level === 'information' && /3 found, 3 handed off/.test(l.text)), JSON.stringify(lines));
  } finally {
    restore();
  }
  const queued = await stack.drainQueue();
  assert.deepEqual(queued.map((m) => m.subject).sort(), demo.slice(0, 3).map((m) => m.subject).sort());
  assert.equal(stack.imap.messages('INBOX').length, 0);
  const status = await statusOf();
  assert.equal(status?.lastRun.outcome, 'completed');
  assert.equal(status?.lastRun.handedOff, 3);
  assert.equal(status?.lastCompletedAt, status?.lastRun.endedAt);
});

test('a failed drain logs what to do and records it in the status; the invocation succeeds, so the request is not retried into the poison queue', async () => {
  await stack.reseed((await seededDemo()).messages.slice(0, 1));
  const restore = withAppSettings({ ...stack.settings, CLIENT_SECRET_NAME: 'deleted-secret' });
  try {
    const { context, lines } = invocation();
    await drainMailbox(request(), context, credentials);
    const logged = lines.find((l) => l.level === 'error');
    assert.ok(logged, 'the error is logged');
    assert.match(logged.text, /\[KEYVAULT_NOT_FOUND\][\s\S]*What to do: Store the client secret/);
  } finally {
    restore();
  }
  assert.equal(stack.imap.messages('INBOX').length, 1, 'nothing settled');
  const status = await statusOf();
  assert.equal(status?.lastRun.outcome, 'failed');
  assert.equal(status?.lastRun.error?.code, 'KEYVAULT_NOT_FOUND');
  assert.match(status?.lastRun.error?.remedy ?? '', /Store the client secret/);
});

test("each invocation's drain has emitted the mailbox's metrics when it returns, a failed drain's with its code", async () => {
  await stack.reseed((await seededDemo()).messages.slice(0, 2));
  const dir = mkdtempSync(join(tmpdir(), 'mail-drain-fn-metrics-'));
  const file = join(dir, 'metrics.jsonl');
  const runsOf = () =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { name: string; attributes: Record<string, string>; value: number })
      .filter((l) => l.name === 'mail_drain.runs');
  try {
    let restore = withAppSettings({ ...stack.settings, METRICS_EXPORTER: 'file', METRICS_FILE: file });
    try {
      await drainMailbox(request(), invocation().context, credentials);
    } finally {
      restore();
    }
    assert.deepEqual(runsOf().map((r) => r.attributes), [{ mailbox: stack.mailbox.toLowerCase(), folder: 'INBOX', outcome: 'completed' }]);

    restore = withAppSettings({ ...stack.settings, CLIENT_SECRET_NAME: 'deleted-secret', METRICS_EXPORTER: 'file', METRICS_FILE: file });
    try {
      await drainMailbox(request(), invocation().context, new CredentialCache());
    } finally {
      restore();
    }
    assert.deepEqual(runsOf().at(-1)?.attributes, { mailbox: stack.mailbox.toLowerCase(), folder: 'INBOX', outcome: 'failed', error_code: 'KEYVAULT_NOT_FOUND' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await stack.drainQueue();
});

test('a request the deployment cannot serve is dropped with a log line, not retried: malformed, or for a mailbox not (or no longer) in MAILBOXES', async () => {
  const restore = withAppSettings(stack.settings);
  try {
    for (const [item, said] of [
      [{ hello: 'world' }, /Dropped a message on mail-drain-requests: the message is not a drain request/],
      ['not json', /Dropped a message on mail-drain-requests/],
      [requestFor({ mailbox: 'removed@contoso.example', folder: 'INBOX' }, 'schedule'), /Dropped a drain request: removed@contoso.example folder "INBOX" is not in MAILBOXES/],
      [requestFor({ mailbox: stack.mailbox, folder: 'Archive' }, 'followUp'), /is not in MAILBOXES/],
    ] as const) {
      const { context, lines } = invocation();
      await drainMailbox(item, context, credentials);
      assert.ok(lines.some((l) => said.test(l.text)), `${JSON.stringify(item)}: ${JSON.stringify(lines)}`);
    }
  } finally {
    restore();
  }
});

/**
 * The function module evaluated afresh, as the host loads it at start-up: it reads
 * DRAIN_SCHEDULE and the function timeout when it is imported.
 */
let fresh = 0;
async function loadFunctionModule(settings: Record<string, string>): Promise<typeof import('../../functions/drainMailbox.js')> {
  const restore = withAppSettings(settings);
  try {
    return await import(new URL(`../../functions/drainMailbox.ts?load=${++fresh}`, import.meta.url).href);
  } finally {
    restore();
  }
}

/** The rethrown error, with the assertion that none of `secrets` reaches the host in its message or stack. */
async function hostSees(run: Promise<void>, secrets: string[]): Promise<Error & { code?: string }> {
  let rethrown: unknown;
  await run.catch((error: unknown) => {
    rethrown = error;
  });
  assert.ok(rethrown instanceof Error, `the invocation fails with an Error, not ${String(rethrown)}`);
  for (const [part, text] of [['message', rethrown.message], ['stack', rethrown.stack ?? '']] as const) {
    for (const secret of secrets) assert.ok(!text.includes(secret), `the ${part} carries ${secret.slice(0, 12)}…:\n${text}`);
    assert.match(text, /\[REDACTED\]/, `the ${part} was redacted`);
  }
  assert.equal(rethrown.cause, undefined, 'no cause: nobody redacted its text');
  return rethrown;
}

// Secret shapes the logger masks whatever their value (test/shared/errors/logger.test.ts).
const JWT = 'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJodHRwczovL291dGxvb2sub2ZmaWNlMzY1LmNvbSJ9.c2lnbmF0dXJlLXBhcnQtb2YtdGhlLWp3dA';
const XOAUTH2 = Buffer.from(`user=invoices@contoso.example\x01auth=Bearer ${JWT}\x01\x01`).toString('base64');
const PEM_BODY = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj';
const PEM = `-----BEGIN PRIVATE KEY-----\n${PEM_BODY}\nMgTfLZ0DuClRpJ3JzLkWp0CSOuMHL0IjWNpgzQ/n\n-----END PRIVATE KEY-----`;
const BEARER = 'opaque.bearer-token_value~1';
const FORM_SECRET = 'form~posted.client-secret_0123456789';

describe('what the function hands the host is redacted', () => {
  test('an Entra error whose first line carries secrets: the log line and the status say it redacted', async () => {
    const restore = withAppSettings(stack.settings);
    // The client secret is registered as a secret when it is read from Key Vault, before the token request.
    const secret = stack.clientSecret;
    const secrets = [secret, Buffer.from(secret).toString('base64'), JWT, XOAUTH2, BEARER, FORM_SECRET];
    stack.entra.failNext(400, {
      error: 'invalid_request',
      error_description:
        `AADSTS9002313: Invalid request. The request echoed: client_secret=${FORM_SECRET}&client_assertion=${JWT} ` +
        `secret ${secret} (${Buffer.from(secret).toString('base64')}) Authorization: Bearer ${BEARER} initial response ${XOAUTH2}\r\n` +
        'Trace ID: 0000\r\nCorrelation ID: 0000\r\nTimestamp: 2026-11-20 08:00:00Z',
      error_codes: [9002313],
    });
    try {
      const { context, lines } = invocation();
      // A failure an operator can act on is logged and recorded, not thrown to the host.
      await drainMailbox(request(), context, credentials);
      const logged = lines.map((l) => l.text).join('\n');
      assert.match(logged, /\[ENTRA_TOKEN_FAILED\][^\n]*AADSTS9002313/, 'what Entra said, less the secrets');
      assert.match(logged, /\[REDACTED\]/);
      const status = JSON.stringify(await statusOf());
      assert.match(status, /AADSTS9002313/);
      for (const leaked of secrets) {
        assert.ok(!logged.includes(leaked), 'not in the log');
        assert.ok(!status.includes(leaked), 'nor in the status');
      }
    } finally {
      stack.entra.failNext(200, undefined, 0);
      restore();
    }
  });

  test('an error that is not ours carries every secret kind the logger redacts, in its message and its stack', async () => {
    const registered = 'p@ss/w+rd=with&chars~0123';
    registerSecret(registered);
    const secrets = [
      registered,
      Buffer.from(registered).toString('base64'),
      encodeURIComponent(registered),
      JWT,
      PEM_BODY,
      XOAUTH2,
      BEARER,
      FORM_SECRET,
    ];
    const message = [
      `socket hang up while sending ${registered}`,
      `as base64 ${Buffer.from(registered).toString('base64')}, as a URL ${encodeURIComponent(registered)}`,
      `token ${JWT}`,
      PEM,
      `C: A1 AUTHENTICATE XOAUTH2 ${XOAUTH2}`,
      `Authorization: Bearer ${BEARER}`,
      `grant_type=client_credentials&client_secret=${FORM_SECRET}`,
    ].join('\n');
    const open = mock.method(Mailbox, 'open', async () => {
      throw Object.assign(new TypeError(message), { code: 'ERR_SOMETHING' });
    });
    const restore = withAppSettings(stack.settings);
    try {
      const error = await hostSees(drainMailbox(request(), invocation().context, credentials), secrets);
      assert.equal(open.mock.callCount(), 1);
      assert.equal(error.name, 'TypeError');
      assert.equal(error.code, 'ERR_SOMETHING');
      assert.match(error.message, /^socket hang up while sending \[REDACTED\]/);
      assert.match(error.stack!, /^TypeError: socket hang up/);
      assert.match(error.stack!, /\n\s+at /, 'the stack still says where it was thrown');
    } finally {
      open.mock.restore();
      restore();
    }
  });

  test('a thrown value that is not an Error becomes one, redacted', async () => {
    const open = mock.method(Mailbox, 'open', async () => {
      throw `unexpected: ${JWT}`;
    });
    const restore = withAppSettings(stack.settings);
    try {
      const error = await hostSees(drainMailbox(request(), invocation().context, credentials), [JWT]);
      assert.equal(error.message, 'unexpected: [REDACTED]');
    } finally {
      open.mock.restore();
      restore();
    }
  });
});

describe('the platform identity in the function app', () => {
  test('Key Vault is read with ManagedIdentityCredential, never DefaultAzureCredential', async () => {
    await stack.reseed((await seededDemo()).messages.slice(0, 1));
    const managed = mock.method(ManagedIdentityCredential.prototype, 'getToken');
    const chained = mock.method(DefaultAzureCredential.prototype, 'getToken');
    const restore = withAppSettings(stack.settings);
    try {
      await drainMailbox(request(), invocation().context, credentials);
      assert.ok(managed.mock.callCount() > 0, 'the managed identity got the Key Vault token');
      assert.equal(chained.mock.callCount(), 0, 'DefaultAzureCredential was not used');
    } finally {
      managed.mock.restore();
      chained.mock.restore();
      restore();
    }
    await stack.drainQueue();
  });

  test("an identity the platform does not have fails with the managed identity's own words, not a credential chain's", async () => {
    const unknown = '99999999-9999-4999-8999-999999999999';
    const restore = withAppSettings({ ...stack.settings, AZURE_CLIENT_ID: unknown });
    try {
      const { context, lines } = invocation();
      await drainMailbox(request(), context, credentials);
      const logged = lines.find((l) => l.level === 'error')?.text ?? '';
      assert.match(logged, /\[IDENTITY_UNAVAILABLE\]/);
      assert.match(logged, new RegExp(`managed identity \\(user-assigned identity ${unknown}\\) could not get a token for Key Vault .*: Unable to load the proper Managed Identity\\.`));
      assert.doesNotMatch(logged, /ChainedTokenCredential|EnvironmentCredential|AzureCliCredential|Visual Studio/);
      assert.match(logged, /What to do: Assign the identity to the function app .* AZURE_CLIENT_ID to its client ID/);
    } finally {
      restore();
    }
  });
});

describe('registration', () => {
  test('a DRAIN_SCHEDULE the host would refuse fails registration with SETTINGS_INVALID and the fix', async () => {
    for (const [schedule, problem] of [
      ['*/5 * * * *', /DRAIN_SCHEDULE does not have six fields \(it has 5; NCRONTAB here starts with seconds\)/],
      ['0 0 25 * * *', /DRAIN_SCHEDULE has "25" as its hour field/],
      ['every 5 minutes', /DRAIN_SCHEDULE does not have six fields/],
    ] as const) {
      await assert.rejects(loadFunctionModule({ DRAIN_SCHEDULE: schedule }), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'SETTINGS_INVALID');
        assert.match(error.message, problem);
        assert.match(error.message, new RegExp(`\\(got "${schedule.replaceAll('*', '\\*')}"\\): set it to six space-separated NCRONTAB fields, seconds first`));
        return true;
      });
    }
  });

  test('a valid DRAIN_SCHEDULE, NCRONTAB or TimeSpan, registers', async () => {
    for (const schedule of ['0 */5 * * * *', '0 30 7 * * Mon-Fri', '00:05:00']) {
      const module = await loadFunctionModule({ DRAIN_SCHEDULE: schedule });
      assert.equal(typeof module.drainMailbox, 'function', schedule);
      assert.equal(typeof module.requestDrains, 'function', schedule);
    }
  });
});

describe('function timeout', () => {
  test("the AzureFunctionsJobHost__functionTimeout app setting overrides host.json's functionTimeout", () => {
    const hostJson = new URL('../../host.json', import.meta.url);
    assert.equal(functionTimeoutMs(hostJson), 10 * 60_000, "host.json's 00:10:00");
    assert.equal(functionTimeoutMs(hostJson, '00:45:00'), 45 * 60_000);
    assert.equal(functionTimeoutMs(hostJson, '1.02:00:00'), 26 * 3_600_000);
    assert.equal(functionTimeoutMs(hostJson, '-1'), undefined, 'no limit');
    assert.equal(functionTimeoutMs(new URL('file:///nonexistent/host.json')), DEFAULT_FUNCTION_TIMEOUT_MS);
  });

  test('a run keeps to the overridden timeout: with 30 seconds it starts no batch, leaves the mail, and requests a follow-up drain', async () => {
    await stack.reseed((await seededDemo()).messages.slice(0, 2));
    const module = await loadFunctionModule({ AzureFunctionsJobHost__functionTimeout: '00:00:30' });
    const restore = withAppSettings(stack.settings);
    try {
      const { context, lines } = invocation();
      await module.drainMailbox(request(), context, credentials);
      assert.ok(lines.some((l) => l.level === 'warning' && /Stopping early: the time budget is spent/.test(l.text)), JSON.stringify(lines));
      assert.ok(lines.some((l) => /2 found, 0 handed off, .* 2 left for the next run \(stopped: the time budget is spent/.test(l.text)), JSON.stringify(lines));
    } finally {
      restore();
    }
    assert.equal(stack.imap.messages('INBOX').length, 2, 'nothing settled');
    assert.deepEqual(await stack.drainQueue(), []);
    const followUps = await stack.hostItems(DRAIN_REQUESTS_QUEUE);
    assert.deepEqual(followUps.map((r) => [(r as DrainRequest).mailbox, (r as DrainRequest).folder, (r as DrainRequest).reason]), [[stack.mailbox, 'INBOX', 'followUp']]);
    const status = await statusOf();
    assert.equal(status?.lastRun.outcome, 'incomplete');
    assert.equal(status?.lastRun.left, 2);
    assert.ok(status?.lastRun.oldestWaitingSince, 'the oldest waiting message is dated');
  });
});
