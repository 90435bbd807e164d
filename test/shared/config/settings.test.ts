import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DrainError } from '../../../shared/errors/errors.js';
import { drainSchedule } from '../../../shared/config/drainSchedule.js';
import { functionTimeoutSetting } from '../../../shared/config/functionTimeoutSetting.js';
import { loadSettings } from '../../../shared/config/loadSettings.js';
import { scheduleProblem } from '../../../shared/config/scheduleProblem.js';
import { scheduleTimeZoneNote } from '../../../shared/config/scheduleTimeZoneNote.js';
import { withSettingsFile } from '../../../shared/config/withSettingsFile.js';

const DEFAULT_SCHEDULE = '0 */5 * * * *';

const valid = {
  TENANT_ID: '11111111-1111-1111-1111-111111111111',
  CLIENT_ID: '22222222-2222-2222-2222-222222222222',
  KEY_VAULT_URL: 'https://contoso-vault.vault.azure.net',
  CLIENT_SECRET_NAME: 'imap-client-secret',
  MAILBOX: 'invoices@contoso.com',
  OUTPUT_STORAGE: 'UseDevelopmentStorage=true',
};

function settingsError(env: Record<string, string>): DrainError {
  try {
    loadSettings(env);
  } catch (error) {
    assert.ok(error instanceof DrainError);
    return error;
  }
  assert.fail('loadSettings accepted invalid settings');
}

test('defaults fill every optional setting', () => {
  const s = loadSettings(valid);
  assert.deepEqual(s.credential, { type: 'secret', secretName: 'imap-client-secret' });
  assert.deepEqual(s.imap, { host: 'outlook.office365.com', port: 993 });
  assert.equal(s.folder, 'INBOX');
  assert.equal(s.afterProcessing, 'move');
  assert.equal(s.processedFolder, 'Processed');
  assert.equal(s.failedFolder, 'Failed');
  assert.equal(s.output.queueName, 'inbound-mail');
  assert.equal(s.output.containerName, 'inbound-mail');
  assert.deepEqual(s.output.storage, { kind: 'connectionString', connectionString: 'UseDevelopmentStorage=true' });
  assert.equal(s.schedule, DEFAULT_SCHEDULE);
  assert.equal(s.authorityHost, 'https://login.microsoftonline.com');
  assert.equal(s.logLevel, 'info');
});

test('every bad setting is named at once, each with its fix', () => {
  const error = settingsError({
    CLIENT_ID: 'not-a-guid',
    CREDENTIAL_TYPE: 'certificate',
    KEY_VAULT_URL: 'http://vault',
    MAILBOX: 'invoices',
    IMAP_PORT: '99999',
    AFTER_PROCESSING: 'archive',
    OUTPUT_QUEUE: 'Inbound_Mail',
    DRAIN_SCHEDULE: '*/5 * * * *',
  });
  assert.equal(error.code, 'SETTINGS_INVALID');
  for (const [name, words] of [
    ['TENANT_ID', 'is missing'],
    ['CLIENT_ID', 'is not a GUID'],
    ['CLIENT_CERTIFICATE_NAME', 'is missing'],
    ['KEY_VAULT_URL', 'must start with https://'],
    ['MAILBOX', 'is not a mail address'],
    ['IMAP_PORT', 'is not a port number'],
    ['AFTER_PROCESSING', 'must be one of move, delete, flag'],
    ['OUTPUT_QUEUE', 'is not a valid queue name'],
    ['OUTPUT_STORAGE', 'is missing'],
    ['DRAIN_SCHEDULE', 'does not have six fields'],
  ]) {
    assert.match(error.message, new RegExp(`${name} ${words}[^\\n]*: set it to`), `${name} should be reported`);
  }
  assert.match(error.message, /^10 settings are not valid/);
  // A secret-type setting is not required for a certificate credential.
  assert.doesNotMatch(error.message, /CLIENT_SECRET_NAME/);
});

test('identity-based storage needs both service URIs and uses the managed identity', () => {
  const { OUTPUT_STORAGE: _, ...withoutConnection } = valid;
  const s = loadSettings({
    ...withoutConnection,
    AZURE_CLIENT_ID: '33333333-3333-3333-3333-333333333333',
    OUTPUT_STORAGE__queueServiceUri: 'https://acct.queue.core.windows.net',
    OUTPUT_STORAGE__blobServiceUri: 'https://acct.blob.core.windows.net',
  });
  assert.deepEqual(s.output.storage, {
    kind: 'identity',
    queueServiceUri: 'https://acct.queue.core.windows.net',
    blobServiceUri: 'https://acct.blob.core.windows.net',
    clientId: '33333333-3333-3333-3333-333333333333',
  });
  const error = settingsError({ ...withoutConnection, OUTPUT_STORAGE__queueServiceUri: 'https://acct.queue.core.windows.net' });
  assert.match(error.message, /OUTPUT_STORAGE__blobServiceUri is missing/);
});

test('a Functions settings file overrides the environment', () => {
  const dir = mkdtempSync(join(tmpdir(), 'settings-'));
  const file = join(dir, 'local.settings.json');
  writeFileSync(file, JSON.stringify({ IsEncrypted: false, Values: { ...valid, MAILBOX: 'orders@contoso.com' } }));
  const s = loadSettings(withSettingsFile(file, { MAILBOX: 'other@contoso.com' }));
  assert.equal(s.mailbox, 'orders@contoso.com');
  assert.throws(() => withSettingsFile(join(dir, 'missing.json'), {}), /could not be read/);
});

test('the timer schedule comes from DRAIN_SCHEDULE, else every five minutes', () => {
  assert.equal(drainSchedule({}), '0 */5 * * * *');
  assert.equal(drainSchedule({ DRAIN_SCHEDULE: '0 0 * * * *' }), '0 0 * * * *');
});

test('DRAIN_SCHEDULE is checked where the trigger is registered: a bad one is SETTINGS_INVALID with the fix', () => {
  for (const [schedule, problem] of [
    ['*/5 * * * *', /does not have six fields \(it has 5; NCRONTAB here starts with seconds\)/],
    ['0 0 24 * * *', /has "24" as its hour field, which NCRONTAB does not accept \(0-23/],
    ['0 0 8 * * 7', /has "7" as its day-of-week field/],
    ['0 0 8 * Jun-Jan *', /has "Jun-Jan" as its month field/],
    ['0 */0 * * * *', /has "\*\/0" as its minute field/],
    ['0 0 8 L * *', /has "L" as its day field/],
    ['? * * * * *', /has "\?" as its second field/],
    ['00:00:00', /is a TimeSpan of zero/],
    ['25:00:00', /is not a TimeSpan \(hh:mm:ss, hours 00-23\)/],
  ] as const) {
    let error: unknown;
    try {
      drainSchedule({ DRAIN_SCHEDULE: schedule });
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof DrainError, `${schedule} is refused`);
    assert.equal(error.code, 'SETTINGS_INVALID');
    assert.match(error.message, /^1 setting is not valid:\n {2}- DRAIN_SCHEDULE /);
    assert.match(error.message, problem, schedule);
    assert.match(error.message, /: set it to six space-separated NCRONTAB fields, seconds first .*"0 \*\/5 \* \* \* \*".* or a TimeSpan such as "00:05:00"/);
    // The same check runs with every other setting.
    assert.match(settingsError({ ...valid, DRAIN_SCHEDULE: schedule }).message, problem);
  }
});

test('NCRONTAB with names, ranges, lists and steps, and a TimeSpan, are valid schedules', () => {
  for (const schedule of ['0 */5 * * * *', '0 30 9 * Jan Mon', '0 0 9-17 * * MON-FRI', '5,8,10 * * * * *', '0 5/15 * * * *', '0 0 0 1 */3 *', '0 0 8,20 * * sunday', '00:05:00', '1:00:00']) {
    assert.equal(scheduleProblem(schedule), undefined, schedule);
    assert.equal(drainSchedule({ DRAIN_SCHEDULE: ` ${schedule} ` }), schedule);
  }
});

test('a schedule that names hours gets the UTC note; one that runs every hour or every n hours does not', () => {
  for (const schedule of ['0 30 7 * * Mon-Fri', '0 0 8,20 * * *', '0 0 9-17 * * *']) {
    assert.match(scheduleTimeZoneNote(schedule) ?? '', /names hours .* NCRONTAB runs in UTC and WEBSITE_TIME_ZONE is not supported/, schedule);
  }
  for (const schedule of [DEFAULT_SCHEDULE, '0 0 * * * *', '0 0 */2 * * *', '00:05:00']) assert.equal(scheduleTimeZoneNote(schedule), undefined, schedule);
});

test('the function timeout override is the AzureFunctionsJobHost__functionTimeout app setting, in any case', () => {
  assert.equal(functionTimeoutSetting({}), undefined);
  assert.equal(functionTimeoutSetting({ AzureFunctionsJobHost__functionTimeout: ' 00:20:00 ' }), '00:20:00');
  assert.equal(functionTimeoutSetting({ AZUREFUNCTIONSJOBHOST__FUNCTIONTIMEOUT: '01:00:00' }), '01:00:00');
  assert.equal(functionTimeoutSetting({ AzureFunctionsJobHost__functionTimeout: '' }), undefined);
});

test('settings say where they run: the command line unless the entry point says the function app', () => {
  assert.equal(loadSettings(valid).runsIn, 'commandLine');
  assert.equal(loadSettings(valid, { runsIn: 'function' }).runsIn, 'function');
});
