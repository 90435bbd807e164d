import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { EXIT } from '../../../shared/operate/cli.js';
import { runCli } from '../../support/cli.js';
import { CredentialCache } from '../../../shared/identity/credential.js';
import { runDoctor, type DoctorResult, type StepName } from '../../../shared/operate/doctor.js';
import { loadSettings } from '../../../shared/config/loadSettings.js';
import { capturingLogger, seededDemo, startTestStack, type TestStack } from '../../support/localStack.js';

const IMAP_ROLE = 'IMAP.AccessAsApp';
const STEPS: StepName[] = ['settings', 'keyVault', 'token', 'imap', 'queue', 'container'];

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
  await stack.reseed((await seededDemo()).messages.slice(0, 2));
});
after(() => stack.stop());

/**
 * Runs the doctor twice with the same settings, each as a new process would
 * (its own credentials): through runDoctor, for its steps and checklist, and
 * through the command line, for its exit code.
 */
async function doctor(overrides: Record<string, string | undefined> = {}) {
  const env = { ...stack.settings, ...overrides };
  const lines: string[] = [];
  const { logs, sink } = capturingSink();
  const result = await runDoctor(env, (line) => lines.push(line), { logSink: sink });
  const cli = await runCli(['doctor'], env);
  return { result, output: lines.join('\n'), logs, code: cli.code, cliOutput: cli.output };
}

/** Where the product's own log lines go during a run. */
function capturingSink() {
  const logs: string[] = [];
  const keep = (line: string) => void logs.push(line);
  return { logs, sink: { debug: keep, info: keep, warn: keep, error: keep } };
}

function step(result: DoctorResult, name: StepName) {
  const found = result.steps.find((s) => s.name === name);
  assert.ok(found, `step ${name} reported`);
  return found;
}

/** The failing step, its code and printed remedy, the skipped dependants, the passing rest, and exit 2. */
function assertFailsAt(
  run: Awaited<ReturnType<typeof doctor>>,
  failing: StepName,
  codes: string | string[],
  expected: { skipped?: StepName[]; remedy: RegExp },
) {
  const { result, output, code, cliOutput } = run;
  assert.deepEqual(result.steps.map((s) => s.name), STEPS);
  const failed = step(result, failing);
  assert.equal(failed.status, 'fail', output);
  assert.ok([codes].flat().includes(failed.code!), `${failing} failed with ${failed.code}, expected ${codes}`);
  assert.match(failed.remedy ?? '', expected.remedy);
  assert.match(output, new RegExp(`^\\[FAIL\\] .*\\[${failed.code}\\]`, 'm'));
  assert.match(output, /^ {7}What to do:$/m);
  for (const name of expected.skipped ?? []) {
    assert.equal(step(result, name).status, 'skip', `${name} skipped`);
    assert.match(step(result, name).detail, /^skipped: needs/);
  }
  for (const s of result.steps.filter((s) => s.name !== failing && !expected.skipped?.includes(s.name))) {
    assert.equal(s.status, 'ok', `${s.name}: ${s.detail}`);
  }
  assert.equal(result.ok, false);
  assert.match(output.split('\n').at(-1)!, /check(s)? failed .*run mail-drain doctor again/);
  assert.equal(code, EXIT.failed, cliOutput);
  assert.match(cliOutput, new RegExp(`\\[${failed.code}\\]`));
}

test('a healthy setup passes every step, shows what the token grants, and prints no secret', async () => {
  const expiresOn = new Date(Date.now() + 400.5 * 86_400_000);
  stack.vault.setSecret('doctor-secret', { value: stack.clientSecret, expiresOn });
  const overrides = { CLIENT_SECRET_NAME: 'doctor-secret' };
  const env = { ...stack.settings, ...overrides };
  const lines: string[] = [];
  const { logs, sink } = capturingSink();
  const credentials = new CredentialCache();
  const result = await runDoctor(env, (line) => lines.push(line), { logSink: sink, credentials });
  const output = lines.join('\n');

  assert.equal(result.ok, true, output);
  assert.deepEqual(result.steps.map((s) => [s.name, s.status]), STEPS.map((name) => [name, 'ok']));
  assert.match(output, new RegExp(`^\\[ok\\] {3}Key Vault: read secret "doctor-secret" from ${stack.vault.url}, expires ${expiresOn.toISOString().slice(0, 10)} \\(in 400 days\\)$`, 'm'));
  const token = step(result, 'token').detail;
  assert.match(token, /audience https:\/\/outlook\.office365\.com,/);
  assert.match(token, new RegExp(`role ${IMAP_ROLE} present`));
  assert.match(token, new RegExp(`tenant ${stack.tenantId}`));
  assert.match(token, new RegExp(`app id ${stack.clientId}`));
  assert.match(token, new RegExp(`service principal ${stack.entra.servicePrincipalId(stack.clientId)}`));
  assert.match(token, /expires \d{4}-\d\d-\d\dT[\d:.]+Z \(in (59|60) min\)/);
  assert.match(output, /^\[ok\] {3}IMAP: localhost:\d+: TLS certificate verified, XOAUTH2 accepted for invoices@contoso\.example, folder "INBOX" selected \(UIDVALIDITY \d+\), 2 message\(s\) to drain/m);
  assert.match(output, /^\[ok\] {3}Queue: .*inbound-mail: sent a probe message \(writable\) and deleted it$/m);
  assert.match(output, /^\[ok\] {3}Blob container: .*inbound-mail: uploaded messages\/doctor-probe-[0-9a-f-]+\.txt \(writable\) and deleted it$/m);
  assert.match(lines.at(-1)!, /^All 6 checks passed: the drain can run\.$/);
  assert.doesNotMatch(output, /WEBSITE_TIME_ZONE/, 'every five minutes needs no time zone note');

  // The very token the doctor got (still in the cached credential's token cache) appears nowhere.
  const { logger } = capturingLogger();
  const { token: accessToken } = await (await credentials.get(loadSettings(env), logger)).mailboxToken(logger);
  for (const text of [output, JSON.stringify(result), logs.join('\n')]) {
    assert.ok(!text.includes(accessToken), 'no token');
    for (const part of accessToken.split('.')) assert.ok(!text.includes(part), 'no part of the token');
    assert.ok(!text.includes('eyJ'), 'nothing JWT-shaped');
    assert.ok(!text.includes(stack.clientSecret), 'no client secret');
  }

  // Nothing left behind for a consumer, and nothing drained.
  const queue = QueueServiceClient.fromConnectionString(stack.azurite.connectionString).getQueueClient(stack.queueName);
  assert.equal((await queue.getProperties()).approximateMessagesCount, 0);
  const container = BlobServiceClient.fromConnectionString(stack.azurite.connectionString).getContainerClient(stack.containerName);
  const probes = [];
  for await (const blob of container.listBlobsFlat({ prefix: 'doctor/' })) probes.push(blob.name);
  assert.deepEqual(probes, []);
  assert.equal(stack.imap.messages('INBOX').length, 2);

  const cli = await runCli(['doctor'], env);
  assert.equal(cli.code, EXIT.ok, cli.output);
  assert.ok(!cli.output.includes('eyJ') && !cli.output.includes(stack.clientSecret));
});

test('bad settings: every one is named, and nothing else is tried', async () => {
  const run = await doctor({ TENANT_ID: undefined, MAILBOX: undefined, IMAP_PORT: 'imap' });
  assertFailsAt(run, 'settings', 'SETTINGS_INVALID', {
    skipped: ['keyVault', 'token', 'imap', 'queue', 'container'],
    remedy: /Fix the settings named above/,
  });
  assert.match(run.output, /^\[FAIL\] Settings: \[SETTINGS_INVALID\] 3 settings are not valid:$/m);
  assert.match(run.output, /^ {7}- TENANT_ID is missing/m);
  assert.match(run.output, /^ {7}- MAILBOX is missing/m);
  assert.match(run.output, /^ {7}- IMAP_PORT is not a port number/m);
  const vaultRequests = stack.vault.requests.length;
  await doctor({ TENANT_ID: undefined });
  assert.equal(stack.vault.requests.length, vaultRequests, 'Key Vault not asked');
});

test('an unreadable --settings file fails the settings step', async () => {
  const { code, output: cliOutput } = await runCli(['doctor', '--settings', '/nonexistent/local.settings.json'], stack.settings);
  assert.equal(code, EXIT.failed);
  assert.match(cliOutput, /^\[FAIL\] Settings: \[SETTINGS_INVALID\] Settings file \/nonexistent\/local\.settings\.json could not be read/m);
  assert.match(cliOutput, /^\[skip\] Key Vault: skipped: needs valid settings$/m);
});

test('a secret missing from Key Vault (404) fails the Key Vault step with the command that stores it', async () => {
  const run = await doctor({ CLIENT_SECRET_NAME: 'no-such-secret' });
  assertFailsAt(run, 'keyVault', 'KEYVAULT_NOT_FOUND', {
    skipped: ['token', 'imap'],
    remedy: /az keyvault secret set --vault-name kv --name no-such-secret/,
  });
  assert.match(run.output, /^ {9}Store the client secret:$/m);
  assert.match(run.output, /^ {11}az keyvault secret set --vault-name kv --name no-such-secret --value '<secret value>' --expires <its expiry>/m);
  assert.match(run.output, /^\[skip\] Token: skipped: needs the app credential, which could not be read from Key Vault$/m);
});

test('Key Vault forbidding the identity fails the Key Vault step with the role to assign', async () => {
  stack.vault.forbid('*');
  try {
    const run = await doctor();
    assertFailsAt(run, 'keyVault', 'KEYVAULT_FORBIDDEN', { skipped: ['token', 'imap'], remedy: /Key Vault Secrets User/ });
    assert.match(run.output, /^ {11}az role assignment create --role "Key Vault Secrets User"/m);
  } finally {
    stack.vault.allow('*');
  }
});

test('a wrong client secret in Key Vault (AADSTS7000215) fails the token step', async () => {
  stack.vault.setSecret('wrong-secret', { value: 'not-the-client-secret-value' });
  const run = await doctor({ CLIENT_SECRET_NAME: 'wrong-secret' });
  assertFailsAt(run, 'token', 'ENTRA_SECRET_INVALID', { skipped: ['imap'], remedy: /Store the secret's Value, not its Secret ID/ });
  assert.match(run.output, /AADSTS7000215/);
  assert.match(run.output, /^ {11}az keyvault secret set --vault-name kv --name wrong-secret --value '<secret value>' --expires/m);
  assert.ok(!run.output.includes('not-the-client-secret-value'), 'the wrong secret is not printed either');
  assert.match(run.output, /^\[skip\] IMAP: skipped: needs a token that Exchange Online accepts$/m);
});

test('a token without IMAP.AccessAsApp fails the token step with the admin consent to grant', async () => {
  stack.entra.addApp({ clientId: stack.clientId, secret: stack.clientSecret, roles: [] });
  try {
    const run = await doctor();
    assertFailsAt(run, 'token', 'ENTRA_CONSENT_MISSING', {
      skipped: ['imap'],
      remedy: new RegExp(`IMAP\\.AccessAsApp.*Grant admin consent" for app ${stack.clientId}.*appRoleAssignedTo`),
    });
    assert.match(step(run.result, 'token').detail, /audience https:\/\/outlook\.office365\.com, role IMAP\.AccessAsApp MISSING \(no roles\)/);
    assert.ok(!run.output.includes('eyJ'));
  } finally {
    stack.entra.addApp({ clientId: stack.clientId, secret: stack.clientSecret, roles: [IMAP_ROLE] });
  }
});

test('a mailbox the app was not granted fails the IMAP step with the Exchange PowerShell, IDs filled in', async () => {
  const granted = [...stack.mailboxGrants];
  stack.mailboxGrants.clear();
  try {
    const run = await doctor();
    // The object ID of the Enterprise application is the token's oid: the doctor fills it in.
    const servicePrincipal = stack.entra.servicePrincipalId(stack.clientId);
    assertFailsAt(run, 'imap', 'IMAP_MAILBOX_NOT_CONNECTED', { remedy: /Add-MailboxPermission/ });
    assert.ok(run.output.includes(`           New-ServicePrincipal -AppId ${stack.clientId} -ObjectId ${servicePrincipal}\n`), run.output);
    assert.ok(
      run.output.includes(`           Add-MailboxPermission -Identity ${stack.mailbox} -User ${servicePrincipal} -AccessRights FullAccess\n`),
      run.output,
    );
  } finally {
    for (const mailbox of granted) stack.mailboxGrants.add(mailbox);
  }
});

test('no Exchange service principal fails the IMAP step as AUTHENTICATE failed, with New-ServicePrincipal', async () => {
  stack.exchangeServicePrincipal.registered = false;
  try {
    const run = await doctor();
    assertFailsAt(run, 'imap', 'IMAP_AUTH_FAILED', { remedy: /IMAP\.AccessAsApp/ });
    assert.ok(run.output.includes(`New-ServicePrincipal -AppId ${stack.clientId} -ObjectId ${stack.entra.servicePrincipalId(stack.clientId)}`), run.output);
  } finally {
    stack.exchangeServicePrincipal.registered = true;
  }
});

test('an unreachable IMAP server fails the IMAP step with the host and port to check', async () => {
  const run = await doctor({ IMAP_PORT: '1' });
  assertFailsAt(run, 'imap', 'IMAP_UNREACHABLE', { remedy: /Check IMAP_HOST and IMAP_PORT/ });
  assert.match(run.output, /^\[FAIL\] IMAP: \[IMAP_UNREACHABLE\] Could not connect to the IMAP server localhost:1/m);
});

test('a missing queue fails the queue step with its own code and the command that creates it; the container is still checked', async () => {
  const run = await doctor({ OUTPUT_QUEUE: 'some-missing-queue' });
  assertFailsAt(run, 'queue', 'STORAGE_QUEUE_NOT_FOUND', { remedy: /the queues and the container/ });
  assert.match(run.output, /^\[FAIL\] Queue: \[STORAGE_QUEUE_NOT_FOUND\] queue some-missing-queue does not exist/m);
  assert.match(run.output, /^ {11}az storage queue create --name some-missing-queue /m);
});

test('a storage connection string the SDK cannot parse fails both storage steps, not the run', async () => {
  const { result, output, code } = await doctor({ OUTPUT_STORAGE: 'AccountName=x;AccountKey=c2VjcmV0LWtleS12YWx1ZQ==' });
  for (const name of ['queue', 'container'] as const) {
    assert.equal(step(result, name).status, 'fail', output);
    assert.equal(step(result, name).code, 'SETTINGS_INVALID');
  }
  assert.equal(step(result, 'imap').status, 'ok', output);
  assert.ok(!output.includes('c2VjcmV0LWtleS12YWx1ZQ=='), 'no account key');
  assert.equal(code, EXIT.failed);
});

test('with CREDENTIAL_TYPE=federated the Key Vault step says it reads nothing, and the rest passes', async () => {
  stack.entra.addApp({ clientId: stack.clientId, secret: stack.clientSecret, federatedSubjects: [stack.identity.principalId], roles: [IMAP_ROLE] });
  try {
    const run = await doctor({ CREDENTIAL_TYPE: 'federated', KEY_VAULT_URL: undefined, CLIENT_SECRET_NAME: undefined });
    assert.equal(run.result.ok, true, run.output);
    assert.equal(step(run.result, 'keyVault').status, 'skip');
    assert.match(run.output, new RegExp(`^\\[skip\\] Key Vault: CREDENTIAL_TYPE=federated reads nothing from Key Vault: the managed identity ${stack.identity.clientId} is the app's credential$`, 'm'));
    for (const name of STEPS.filter((n) => n !== 'keyVault')) assert.equal(step(run.result, name).status, 'ok', name);
    assert.match(run.output.split('\n').at(-1)!, /^All 5 checks passed \(1 not applicable\)/);
    assert.equal(run.code, EXIT.ok, run.cliOutput);
  } finally {
    stack.entra.addApp({ clientId: stack.clientId, secret: stack.clientSecret, roles: [IMAP_ROLE] });
  }
});

test('a schedule that names hours gets the note that NCRONTAB runs in UTC in Azure', async () => {
  const lines: string[] = [];
  const result = await runDoctor({ ...stack.settings, DRAIN_SCHEDULE: '0 30 7 * * Mon-Fri' }, (line) => lines.push(line), { logSink: capturingSink().sink });
  const output = lines.join('\n');
  assert.equal(result.ok, true, output);
  assert.equal(step(result, 'settings').status, 'ok');
  assert.match(
    output,
    /^\[ok\] {3}Settings: valid: .*\n {7}DRAIN_SCHEDULE "0 30 7 \* \* Mon-Fri" names hours \(7\), and they are UTC: on Flex Consumption \(the template's plan\) and Linux Consumption, NCRONTAB runs in UTC and WEBSITE_TIME_ZONE is not supported, so write the hours in UTC\.$/m,
  );
});
