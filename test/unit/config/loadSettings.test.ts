/**
 * Every declared setting, one by one: what it accepts and becomes in `Settings`,
 * what it refuses and in which words, what unset means. The case list is typed
 * over SettingName, so a setting added to the declaration fails to compile here
 * until it has its case.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DrainError } from '../../../shared/errors/errors.js';
import { declaredSettings } from '../../../shared/config/declaredSettings.js';
import { loadSettings } from '../../../shared/config/loadSettings.js';
import { credentialName, findMailbox, forMailbox, type Settings } from '../../../shared/config/settings.js';
import type { SettingName } from '../../../shared/config/settingsSchema.js';

type Env = { [K in SettingName]?: string };

const BASE = {
  TENANT_ID: '11111111-1111-1111-1111-111111111111',
  CLIENT_ID: '22222222-2222-2222-2222-222222222222',
  KEY_VAULT_URL: 'https://contoso-vault.vault.azure.net',
  CLIENT_SECRET_NAME: 'imap-client-secret',
  MAILBOX: 'invoices@contoso.com',
  OUTPUT_STORAGE: 'UseDevelopmentStorage=true',
} satisfies Env;
const GUID = '33333333-3333-3333-3333-333333333333';
const IDENTITY_STORAGE = { OUTPUT_STORAGE: undefined, OUTPUT_STORAGE__queueServiceUri: 'https://acct.queue.core.windows.net', OUTPUT_STORAGE__blobServiceUri: 'https://acct.blob.core.windows.net' };

interface Case {
  /** Other settings this one needs to matter (undefined removes one of BASE). */
  with?: Env;
  /** What it becomes in Settings; without, loading is all that is checked. */
  read?: (s: Settings) => unknown;
  /** `read` of an unset setting, 'missing' for one that is then required, or the other setting then required. */
  unset: unknown;
  accepts: [raw: string, read: unknown][];
  /** Each refused value with the words SETTINGS_INVALID says about it. */
  refuses: [raw: string, problem: string][];
}

const identity = (s: Settings) => (s.output.storage.kind === 'identity' ? s.output.storage : undefined);

const CASES: { [K in SettingName]: Case } = {
  TENANT_ID: { read: (s) => s.tenantId, unset: 'missing', accepts: [['AAAAAAAA-bbbb-4ccc-8ddd-eeeeeeeeeeee', 'AAAAAAAA-bbbb-4ccc-8ddd-eeeeeeeeeeee']], refuses: [['contoso.onmicrosoft.com', 'is not a GUID'], ['11111111-1111-1111-1111-11111111111', 'is not a GUID']] },
  CLIENT_ID: { read: (s) => s.clientId, unset: 'missing', accepts: [[GUID, GUID]], refuses: [['{22222222-2222-2222-2222-222222222222}', 'is not a GUID']] },
  CREDENTIAL_TYPE: {
    with: { CLIENT_CERTIFICATE_NAME: 'imap-cert', AZURE_CLIENT_ID: GUID },
    read: (s) => s.credential,
    unset: { type: 'secret', secretName: 'imap-client-secret' },
    accepts: [['certificate', { type: 'certificate', certificateName: 'imap-cert' }], ['federated', { type: 'federated', managedIdentityClientId: GUID }]],
    refuses: [['Secret', 'must be one of secret, certificate, federated'], ['password', 'must be one of secret, certificate, federated']],
  },
  KEY_VAULT_URL: { read: (s) => s.keyVaultUrl, unset: 'missing', accepts: [['https://v.vault.azure.net/', 'https://v.vault.azure.net/']], refuses: [['http://v.vault.azure.net', 'must start with https://'], ['v.vault.azure.net', 'is not a URL']] },
  CLIENT_SECRET_NAME: { read: credentialName, unset: 'missing', accepts: [['Imap-Secret-2', 'Imap-Secret-2'], ['a'.repeat(127), 'a'.repeat(127)]], refuses: [['imap_secret', 'is not a Key Vault secret name'], ['a'.repeat(128), 'is not a Key Vault secret name']] },
  CLIENT_CERTIFICATE_NAME: { with: { CREDENTIAL_TYPE: 'certificate' }, read: credentialName, unset: 'missing', accepts: [['imap-cert', 'imap-cert']], refuses: [['imap.pem', 'is not a Key Vault certificate name']] },
  CREDENTIAL_EXPIRY_WARNING_DAYS: {
    read: (s) => s.credentialExpiryWarningDays,
    unset: 30,
    accepts: [['0', 0], ['9999', 9999], ['007', 7]],
    refuses: [['10000', 'is not a whole number of days'], ['-1', 'is not a whole number of days'], ['1.5', 'is not a whole number of days'], ['30 days', 'is not a whole number of days']],
  },
  MAILBOX: { read: (s) => s.mailbox, unset: 'missing', accepts: [['shared+x@contoso.onmicrosoft.com', 'shared+x@contoso.onmicrosoft.com']], refuses: [['invoices', 'is not a mail address'], ['in voices@contoso.com', 'is not a mail address'], ['a@b@c', 'is not a mail address']] },
  MAILBOXES: {
    with: { MAILBOX: undefined },
    read: (s) => s.mailboxes.map((m) => `${m.mailbox}/${m.folder}${m.enabled ? '' : ' (disabled)'} -> ${m.queueName}`),
    // Unset, MAILBOX is the list of one, and required.
    unset: { missing: 'MAILBOX' },
    accepts: [
      ['invoices@contoso.com', ['invoices@contoso.com/INBOX -> inbound-mail']],
      ['invoices@contoso.com, orders@contoso.com', ['invoices@contoso.com/INBOX -> inbound-mail', 'orders@contoso.com/INBOX -> inbound-mail']],
      [
        '[{"mailbox":"a@contoso.com"},{"mailbox":"a@contoso.com","folder":"INBOX/Scans","outputQueue":"scans","enabled":false}]',
        ['a@contoso.com/INBOX -> inbound-mail', 'a@contoso.com/INBOX/Scans (disabled) -> scans'],
      ],
    ],
    refuses: [
      ['invoices@contoso.com,,orders', 'entry 2 is empty; entry 3 "orders" is not a mail address'],
      ['[{"mailbox":"a@contoso.com","foldr":"Scans"}]', 'entry 1 (a@contoso.com): unknown key "foldr" (allowed: mailbox, folder, afterProcessing, processedFolder, failedFolder, outputQueue, outputContainer, enabled)'],
      ['[{"folder":"Scans"},{"mailbox":"b@contoso.com","afterProcessing":"archive"}]', 'entry 1: "mailbox" is missing; entry 2 (b@contoso.com): "afterProcessing" must be one of move, delete, flag'],
      ['[{"mailbox":"a@contoso.com"}', 'starts with "[" but is not valid JSON (check its quotes, commas and brackets)'],
      ['[]', 'is not a JSON array of at least one mailbox'],
      [
        'a@contoso.com, b@contoso.com, A@Contoso.com',
        'entries 1 and 3 both drain A@Contoso.com folder "INBOX" (one drain per mailbox folder: remove one, or give it another "folder")',
      ],
      [
        '[{"mailbox":"a@contoso.com","folder":"inbox"},{"mailbox":"a@contoso.com"}]',
        'entries 1 and 2 both drain a@contoso.com folder "INBOX" (one drain per mailbox folder: remove one, or give it another "folder")',
      ],
    ],
  },
  MAIL_FOLDER: { read: (s) => s.folder, unset: 'INBOX', accepts: [['INBOX/Invoices', 'INBOX/Invoices'], ['Posteingang', 'Posteingang']], refuses: [] },
  IMAP_HOST: { read: (s) => s.imap.host, unset: 'outlook.office365.com', accepts: [['127.0.0.1', '127.0.0.1']], refuses: [] },
  IMAP_PORT: {
    read: (s) => s.imap.port,
    unset: 993,
    accepts: [['1', 1], ['65535', 65535]],
    refuses: [['0', 'is not a port number'], ['65536', 'is not a port number'], ['+993', 'is not a port number'], ['imaps', 'is not a port number']],
  },
  AFTER_PROCESSING: { read: (s) => s.afterProcessing, unset: 'move', accepts: [['delete', 'delete'], ['flag', 'flag']], refuses: [['archive', 'must be one of move, delete, flag'], ['MOVE', 'must be one of move, delete, flag']] },
  PROCESSED_FOLDER: { read: (s) => s.processedFolder, unset: 'Processed', accepts: [['Archive/2025', 'Archive/2025']], refuses: [] },
  FAILED_FOLDER: { read: (s) => s.failedFolder, unset: 'Failed', accepts: [['Quarantine', 'Quarantine']], refuses: [] },
  MAX_MESSAGE_BYTES: {
    read: (s) => s.maxMessageBytes,
    unset: 52_428_800,
    accepts: [['1000', 1000], ['157286400', 157_286_400], ['9999999999', 9_999_999_999]],
    refuses: [['999', 'is not a number of bytes (1000 or more)'], ['10000000000', 'is not a number of bytes (1000 or more)'], ['50MB', 'is not a number of bytes (1000 or more)'], ['1e6', 'is not a number of bytes (1000 or more)']],
  },
  MAX_ATTEMPTS: { read: (s) => s.maxAttempts, unset: 5, accepts: [['1', 1], ['100', 100]], refuses: [['0', 'is not a whole number from 1 to 100'], ['101', 'is not a whole number from 1 to 100'], ['five', 'is not a whole number from 1 to 100']] },
  OUTPUT_QUEUE: {
    read: (s) => s.output.queueName,
    unset: 'inbound-mail',
    // 56 at most: the poison queue's "-poison" must still fit in 63.
    accepts: [['abc', 'abc'], ['a'.repeat(56), 'a'.repeat(56)], ['mail-2', 'mail-2']],
    refuses: [['ab', 'is not a valid queue name'], ['a'.repeat(57), 'is not a valid queue name'], ['Inbound_Mail', 'is not a valid queue name'], ['a--b', 'is not a valid queue name'], ['-ab', 'is not a valid queue name'], ['ab-', 'is not a valid queue name']],
  },
  OUTPUT_CONTAINER: {
    read: (s) => s.output.containerName,
    unset: 'inbound-mail',
    accepts: [['a'.repeat(63), 'a'.repeat(63)]],
    refuses: [['a'.repeat(64), 'is not a valid container name'], ['mail.raw', 'is not a valid container name'], ['a--b', 'is not a valid container name']],
  },
  DRAIN_REQUESTS_QUEUE: { read: (s) => s.drainRequestsQueue, unset: 'mail-drain-requests', accepts: [['drain-requests', 'drain-requests']], refuses: [['Drain_Requests', 'is not a valid queue name']] },
  OUTPUT_STORAGE: { read: (s) => s.output.storage, unset: 'missing', accepts: [['UseDevelopmentStorage=true', { kind: 'connectionString', connectionString: 'UseDevelopmentStorage=true' }]], refuses: [] },
  OUTPUT_STORAGE__queueServiceUri: {
    with: IDENTITY_STORAGE,
    read: (s) => identity(s)?.queueServiceUri,
    unset: 'missing',
    accepts: [['http://127.0.0.1:10001/devstoreaccount1', 'http://127.0.0.1:10001/devstoreaccount1']],
    refuses: [['ftp://acct.queue.core.windows.net', 'is not an http(s) URL'], ['acct.queue.core.windows.net', 'is not a URL']],
  },
  OUTPUT_STORAGE__blobServiceUri: {
    with: IDENTITY_STORAGE,
    read: (s) => identity(s)?.blobServiceUri,
    unset: 'missing',
    accepts: [['https://acct.blob.core.usgovcloudapi.net', 'https://acct.blob.core.usgovcloudapi.net']],
    refuses: [['acct', 'is not a URL']],
  },
  OUTPUT_STORAGE__clientId: { with: IDENTITY_STORAGE, read: (s) => identity(s)?.clientId, unset: undefined, accepts: [[GUID, GUID]], refuses: [['storage-identity', 'is not a GUID']] },
  OUTPUT_STORAGE__credential: { unset: undefined, accepts: [['managedidentity', undefined]], refuses: [['ManagedIdentity', 'must be one of managedidentity']] },
  DRAIN_SCHEDULE: {
    read: (s) => s.schedule,
    unset: '0 */5 * * * *',
    accepts: [['0 0 8 * * Mon-Fri', '0 0 8 * * Mon-Fri'], ['00:05:00', '00:05:00']],
    refuses: [['*/5 * * * *', 'does not have six fields (it has 5; NCRONTAB here starts with seconds)']],
  },
  // The host's to validate (functionTimeoutSetting reads it); loadSettings takes anything.
  AzureFunctionsJobHost__functionTimeout: { unset: undefined, accepts: [['ten minutes', undefined]], refuses: [] },
  AZURE_CLIENT_ID: { read: (s) => s.managedIdentityClientId, unset: undefined, accepts: [[GUID, GUID]], refuses: [['mi-mail-drain', 'is not a GUID']] },
  AZURE_AUTHORITY_HOST: {
    read: (s) => s.authorityHost,
    unset: 'https://login.microsoftonline.com',
    // Without the trailing slash, so that "<host>/<tenant>" has one.
    accepts: [['https://login.microsoftonline.us/', 'https://login.microsoftonline.us'], ['https://127.0.0.1:8443/adfs//', 'https://127.0.0.1:8443/adfs']],
    refuses: [['http://login.microsoftonline.com', 'must start with https://'], ['login.microsoftonline.us', 'is not a URL']],
  },
  LOG_LEVEL: { read: (s) => s.logLevel, unset: 'info', accepts: [['debug', 'debug'], ['warn', 'warn'], ['error', 'error']], refuses: [['verbose', 'must be one of debug, info, warn, error'], ['INFO', 'must be one of debug, info, warn, error']] },
  METRICS_EXPORTER: {
    with: { METRICS_FILE: 'metrics.jsonl', APPLICATIONINSIGHTS_CONNECTION_STRING: 'InstrumentationKey=k' },
    read: (s) => s.metrics.exporter,
    // auto: Application Insights when the host has its connection string.
    unset: 'azure-monitor',
    accepts: [['file', 'file'], ['console', 'console'], ['none', 'none'], ['azure-monitor', 'azure-monitor']],
    refuses: [['otlp', 'must be one of auto, azure-monitor, file, console, none']],
  },
  METRICS_FILE: { with: { METRICS_EXPORTER: 'file' }, read: (s) => s.metrics, unset: 'missing', accepts: [['out/m.jsonl', { exporter: 'file', file: 'out/m.jsonl' }]], refuses: [] },
  APPLICATIONINSIGHTS_CONNECTION_STRING: {
    read: (s) => s.metrics,
    // auto without it: no metrics.
    unset: { exporter: 'none' },
    accepts: [['InstrumentationKey=k;IngestionEndpoint=https://x', { exporter: 'azure-monitor', connectionString: 'InstrumentationKey=k;IngestionEndpoint=https://x' }]],
    refuses: [],
  },
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: {
    with: { APPLICATIONINSIGHTS_CONNECTION_STRING: 'InstrumentationKey=k' },
    read: (s) => s.metrics.exporter === 'azure-monitor' && s.metrics.clientId,
    unset: undefined,
    accepts: [[`ClientId=${GUID};Authorization=AAD`, GUID]],
    refuses: [['ClientId=abc;Authorization=AAD', 'is not ClientId=<GUID>;Authorization=AAD']],
  },
};

const fixOf = (name: SettingName) => declaredSettings.find((s) => s.name === name)!.fix;

function envFor(name: SettingName, raw: string | undefined): Record<string, string> {
  const env: Env = { ...BASE, ...CASES[name].with, [name]: raw };
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

function problemsOf(env: Record<string, string>): string {
  try {
    loadSettings(env);
  } catch (error) {
    assert.ok(error instanceof DrainError && error.code === 'SETTINGS_INVALID', String(error));
    return error.message;
  }
  return 'accepted';
}

for (const [name, c] of Object.entries(CASES) as [SettingName, Case][]) {
  test(`${name}: accepted values, trimmed`, () => {
    for (const [raw, read] of c.accepts) {
      for (const spelt of [raw, `  ${raw}\t`]) {
        const s = loadSettings(envFor(name, spelt));
        if (c.read) assert.deepEqual(c.read(s), read, JSON.stringify(spelt));
      }
    }
  });

  test(`${name}: unset or empty`, () => {
    for (const env of [envFor(name, undefined), envFor(name, ''), envFor(name, '   ')]) {
      const required = c.unset === 'missing' ? name : (c.unset as { missing?: SettingName } | undefined)?.missing;
      if (required) assert.equal(problemsOf(env), `1 setting is not valid:\n  - ${required} is missing: set it to ${fixOf(required)}.`);
      else if (c.read) assert.deepEqual(c.read(loadSettings(env)), c.unset);
      else loadSettings(env);
    }
  });

  test(`${name}: refused values are named with the value and the fix`, () => {
    for (const [raw, problem] of c.refuses) {
      assert.equal(problemsOf(envFor(name, ` ${raw} `)), `1 setting is not valid:\n  - ${name} ${problem} (got "${raw}"): set it to ${fixOf(name)}.`);
    }
  });
}

test('which settings are required depends on the credential type and the storage access', () => {
  const { KEY_VAULT_URL: _vault, CLIENT_SECRET_NAME: _secret, OUTPUT_STORAGE: _storage, ...always } = BASE;
  const missing = (env: Env) => [...problemsOf(env as Record<string, string>).matchAll(/^ {2}- (\w+) is missing/gm)].map((m) => m[1]);
  assert.deepEqual(missing({}), ['TENANT_ID', 'CLIENT_ID', 'KEY_VAULT_URL', 'CLIENT_SECRET_NAME', 'MAILBOX', 'OUTPUT_STORAGE']);
  assert.deepEqual(missing({ ...always, CREDENTIAL_TYPE: 'certificate' }), ['KEY_VAULT_URL', 'CLIENT_CERTIFICATE_NAME', 'OUTPUT_STORAGE']);
  assert.deepEqual(missing({ ...always, CREDENTIAL_TYPE: 'federated' }), ['OUTPUT_STORAGE', 'AZURE_CLIENT_ID']);
  // Empty is unset, so the default secret: its name is required (the old loader read the raw value and let it through unset).
  assert.deepEqual(missing({ ...always, CREDENTIAL_TYPE: ' ' }), ['KEY_VAULT_URL', 'CLIENT_SECRET_NAME', 'OUTPUT_STORAGE']);
  // A malformed credential type requires none of the three credentials' settings, and is named itself.
  assert.deepEqual(missing({ ...always, CREDENTIAL_TYPE: 'bogus' }), ['KEY_VAULT_URL', 'OUTPUT_STORAGE']);
  assert.deepEqual(missing({ ...BASE, OUTPUT_STORAGE: undefined, OUTPUT_STORAGE__blobServiceUri: 'https://acct.blob.core.windows.net' }), ['OUTPUT_STORAGE__queueServiceUri']);
  assert.deepEqual(missing({ ...BASE, OUTPUT_STORAGE: undefined, OUTPUT_STORAGE__queueServiceUri: 'https://acct.queue.core.windows.net' }), ['OUTPUT_STORAGE__blobServiceUri']);
  // A connection string wins over the service URIs; the identity's client ID falls back to AZURE_CLIENT_ID.
  assert.equal(loadSettings({ ...BASE, ...IDENTITY_STORAGE, OUTPUT_STORAGE: 'UseDevelopmentStorage=true' }).output.storage.kind, 'connectionString');
  const { OUTPUT_STORAGE: _, ...uris } = { ...BASE, ...IDENTITY_STORAGE };
  assert.equal(identity(loadSettings({ ...uris, AZURE_CLIENT_ID: GUID }))?.clientId, GUID);
});

test('the declaration documents every setting, its fix one clause that the message closes', () => {
  for (const s of declaredSettings) {
    assert.ok(s.meaning.length > 10 && s.fix.length > 3, s.name);
    assert.doesNotMatch(s.fix, /\.$/, `${s.name}: "set it to <fix>." adds the full stop`);
  }
  assert.deepEqual(Object.keys(CASES), declaredSettings.map((s) => s.name), 'the cases follow the declaration');
});

test('local.settings.sample.json names declared settings only, besides the Functions host\'s own', () => {
  const sample = JSON.parse(readFileSync(new URL('../../../local.settings.sample.json', import.meta.url), 'utf8')) as { Values: Record<string, string> };
  const host = ['FUNCTIONS_WORKER_RUNTIME', 'AzureWebJobsStorage'];
  const declared = declaredSettings.map((s) => s.name as string);
  assert.deepEqual(Object.keys(sample.Values).filter((name) => !declared.includes(name) && !host.includes(name)), []);
});

test('MAILBOXES: each entry overrides the deployment-wide settings it names, and MAILBOX beside it is refused', () => {
  const { MAILBOX: _, ...base } = BASE;
  const s = loadSettings({
    ...base,
    AFTER_PROCESSING: 'flag',
    MAILBOXES: JSON.stringify([
      { mailbox: 'invoices@contoso.com' },
      { mailbox: 'orders@contoso.com', folder: 'INBOX/Orders', afterProcessing: 'move', processedFolder: 'Done', failedFolder: 'Bad', outputQueue: 'orders', outputContainer: 'orders-mail' },
    ]),
  });
  assert.deepEqual(s.mailboxes, [
    { mailbox: 'invoices@contoso.com', folder: 'INBOX', afterProcessing: 'flag', processedFolder: 'Processed', failedFolder: 'Failed', queueName: 'inbound-mail', containerName: 'inbound-mail', enabled: true },
    { mailbox: 'orders@contoso.com', folder: 'INBOX/Orders', afterProcessing: 'move', processedFolder: 'Done', failedFolder: 'Bad', queueName: 'orders', containerName: 'orders-mail', enabled: true },
  ]);
  // The one-drain fields are the first mailbox's until forMailbox picks another.
  assert.equal(s.mailbox, 'invoices@contoso.com');
  const orders = forMailbox(s, s.mailboxes[1]!);
  assert.deepEqual([orders.mailbox, orders.folder, orders.afterProcessing, orders.output.queueName, orders.output.containerName], ['orders@contoso.com', 'INBOX/Orders', 'move', 'orders', 'orders-mail']);
  assert.equal(orders.output.storage, s.output.storage);
  assert.equal(findMailbox(s, 'ORDERS@contoso.com', 'INBOX/Orders'), s.mailboxes[1]);
  assert.equal(findMailbox(s, 'orders@contoso.com', 'INBOX'), undefined);
  assert.equal(findMailbox(s, 'invoices@contoso.com', 'inbox'), s.mailboxes[0]);

  assert.match(problemsOf({ ...BASE, MAILBOXES: 'orders@contoso.com' }), /MAILBOXES is set as well as MAILBOX, which is one of them: unset MAILBOX and list every mailbox here/);
  // A MAIL_FOLDER default applies before duplicates are looked for.
  assert.match(problemsOf({ ...base, MAIL_FOLDER: 'Scans', MAILBOXES: '[{"mailbox":"a@contoso.com","folder":"Scans"},{"mailbox":"a@contoso.com"}]' }), /entries 1 and 2 both drain a@contoso.com folder "Scans"/);
});
