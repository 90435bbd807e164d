/**
 * Every setting the code reads, declared once, in the README's order: its
 * format and default (zod), what it means and how to fix it (settingDocs), and
 * when it is required. loadSettings validates the environment with it, the
 * README's settings table is written from it (npm run docs), and the infra tests
 * hold the deployed app settings to it.
 */
import { z } from 'zod';
import { settingDocs } from './settingDoc.js';
import { settingFormats as format } from './settingFormats.js';
import { scheduleProblem } from './scheduleProblem.js';
import { duplicatePairs, parseMailboxList } from './mailboxList.js';

const shape = {
  TENANT_ID: format.guid().register(settingDocs, {
    meaning: 'Entra tenant (directory) ID of the app registration',
    fix: 'the Directory (tenant) ID from Entra admin center > App registrations > your app > Overview',
  }),
  CLIENT_ID: format.guid().register(settingDocs, {
    meaning: 'application (client) ID of the app registration',
    fix: 'the Application (client) ID from Entra admin center > App registrations > your app > Overview',
  }),
  CREDENTIAL_TYPE: format.oneOf('secret', 'certificate', 'federated').default('secret').register(settingDocs, {
    meaning: '`secret` or `certificate` (kept in Key Vault), or `federated` (no secret: see below)',
    fix: '"secret", "certificate" or "federated"',
  }),
  KEY_VAULT_URL: format.httpsUrl().optional().register(settingDocs, {
    meaning: 'vault holding the credential, e.g. `https://my-vault.vault.azure.net`',
    fix: 'the vault URI, e.g. https://my-vault.vault.azure.net',
  }),
  CLIENT_SECRET_NAME: format.vaultObjectName('secret').optional().register(settingDocs, {
    meaning: "Key Vault secret holding the client secret's value",
    fix: 'the name of the Key Vault secret (letters, digits and dashes) that holds the client secret',
  }),
  CLIENT_CERTIFICATE_NAME: format.vaultObjectName('certificate').optional().register(settingDocs, {
    meaning:
      'Key Vault certificate with an exportable **RSA** private key (content type `application/x-pem-file` or `application/x-pkcs12`); ' +
      'Entra ID accepts RSA certificates only, so an EC one fails as `CREDENTIAL_NOT_RSA` when it is read',
    fix: 'the name of the Key Vault certificate, with an exportable private key',
  }),
  CREDENTIAL_EXPIRY_WARNING_DAYS: format.wholeNumber(0, 9999, 'is not a whole number of days').default(30).register(settingDocs, {
    meaning: 'every run warns, with the renewal steps, this many days before the secret or certificate expires',
    fix: 'a whole number of days, e.g. 30',
  }),
  MAILBOX: format.mailAddress().optional().register(settingDocs, {
    meaning: 'address of the mailbox to drain, when there is one: the same as `MAILBOXES` with one address',
    fix: 'the mailbox address, e.g. invoices@contoso.com',
  }),
  MAILBOXES: format
    .checkedBy((value) => {
      const { problems } = parseMailboxList(value);
      return problems.length ? problems.join('; ') : undefined;
    })
    .optional()
    .register(settingDocs, {
      meaning:
        'the mailboxes one deployment drains, each on its own (one drain request each, one lease per mailbox folder): addresses separated by commas, ' +
        'or a JSON array of objects with `mailbox` and any of `folder`, `afterProcessing`, `processedFolder`, `failedFolder`, `outputQueue`, `outputContainer` ' +
        '(overriding `MAIL_FOLDER`, `AFTER_PROCESSING`, `PROCESSED_FOLDER`, `FAILED_FOLDER`, `OUTPUT_QUEUE`, `OUTPUT_CONTAINER` for that mailbox) and `enabled` (`false` stops draining it); ' +
        'each needs its own `Add-MailboxPermission` for the one app registration',
      fix: 'addresses separated by commas, e.g. "invoices@contoso.com,orders@contoso.com", or a JSON array such as [{"mailbox":"invoices@contoso.com","folder":"INBOX/Scans"}]',
    }),
  MAIL_FOLDER: z.string().default('INBOX').register(settingDocs, {
    meaning: 'folder to drain; `INBOX` in any case is INBOX, another folder typed in the wrong case is the one folder the server lists under that name',
    fix: 'an IMAP folder path such as INBOX or INBOX/Invoices',
  }),
  IMAP_HOST: z.string().default('outlook.office365.com').register(settingDocs, {
    meaning: 'IMAP server, implicit TLS',
    fix: 'a host name; Exchange Online is outlook.office365.com',
  }),
  IMAP_PORT: format.wholeNumber(1, 65535, 'is not a port number').default(993).register(settingDocs, {
    meaning: "the IMAP server's port, implicit TLS",
    fix: 'a port number; Exchange Online uses 993',
  }),
  AFTER_PROCESSING: format.oneOf('move', 'delete', 'flag').default('move').register(settingDocs, {
    meaning:
      '`move` to `PROCESSED_FOLDER`, `delete`, or `flag` (`\\Seen`). **`flag` drains only unseen messages: a message a person opened before the drain got to it is never drained** (`doctor` counts them). ' +
      '`delete` needs a server with UIDPLUS and `move` one with MOVE or UIDPLUS (Exchange Online has both); ' +
      "without, the drain refuses to start (`IMAP_CAPABILITY_MISSING`) rather than expunge other people's `\\Deleted` mail",
    fix: '"move", "delete" or "flag"',
  }),
  PROCESSED_FOLDER: z.string().default('Processed').register(settingDocs, {
    meaning: 'folder for handed-off messages when `AFTER_PROCESSING=move`, created when missing',
    fix: 'an IMAP folder path',
  }),
  FAILED_FOLDER: z.string().default('Failed').register(settingDocs, {
    meaning: 'folder for quarantined messages, created when missing',
    fix: 'an IMAP folder path',
  }),
  MAX_MESSAGE_BYTES: format.wholeNumber(1000, 9_999_999_999, 'is not a number of bytes (1000 or more)').default(50 * 1024 * 1024).register(settingDocs, {
    meaning: 'larger messages are quarantined unparsed, streamed to Blob storage (Exchange Online allows up to 150 MB)',
    fix: 'a number of bytes, e.g. 52428800 for 50 MB',
    whenUnset: '50 MB',
  }),
  MAX_ATTEMPTS: format.wholeNumber(1, 100, 'is not a whole number from 1 to 100').default(5).register(settingDocs, {
    meaning:
      "failures of one message's own (not Storage or the network being down), counted across runs, a drain that died while it alone was being handed off included, before it is quarantined",
    fix: 'a whole number from 1 to 100',
  }),
  OUTPUT_QUEUE: format.queueName().default('inbound-mail').register(settingDocs, {
    meaning: 'queue that receives one message per mail; quarantined messages are reported on its `<queue>-poison` queue',
    fix: '3-63 lowercase letters, digits and single dashes',
  }),
  OUTPUT_CONTAINER: format.containerName().default('inbound-mail').register(settingDocs, {
    meaning: 'blob container for raw messages, attachments and oversized payloads (claim checks), quarantined messages and the per-mailbox lease',
    fix: '3-63 lowercase letters, digits and single dashes',
  }),
  DRAIN_REQUESTS_QUEUE: format.queueName().default('mail-drain-requests').register(settingDocs, {
    meaning:
      'queue of drain requests, in the output storage account: the timer puts one on it for each enabled mailbox, and the queue-triggered function drains the mailbox a request names (a drain that runs out of time puts a follow-up request for its mailbox here); ' +
      'a request that fails 5 times moves to `<queue>-poison`',
    fix: '3-63 lowercase letters, digits and single dashes',
  }),
  OUTPUT_STORAGE: z.string().optional().register(settingDocs, {
    meaning: 'storage connection string, or leave it empty and use identity-based access (the `OUTPUT_STORAGE__*` settings below)',
    fix: 'a storage connection string, or set OUTPUT_STORAGE__queueServiceUri and OUTPUT_STORAGE__blobServiceUri for identity-based access',
  }),
  OUTPUT_STORAGE__queueServiceUri: format.storageUrl().optional().register(settingDocs, {
    meaning: 'identity-based access: the queue service, `https://<account>.queue.core.windows.net`',
    fix: 'https://<account>.queue.core.windows.net',
  }),
  OUTPUT_STORAGE__blobServiceUri: format.storageUrl().optional().register(settingDocs, {
    meaning: 'identity-based access: the blob service, `https://<account>.blob.core.windows.net`',
    fix: 'https://<account>.blob.core.windows.net',
  }),
  OUTPUT_STORAGE__clientId: format.guid().optional().register(settingDocs, {
    meaning: 'client ID of the user-assigned identity for storage',
    fix: 'the client ID of the user-assigned managed identity',
    whenUnset: '`AZURE_CLIENT_ID`',
  }),
  OUTPUT_STORAGE__credential: format.oneOf('managedidentity').optional().register(settingDocs, {
    meaning: '`managedidentity` (the Functions convention; informational)',
    fix: '"managedidentity"',
  }),
  DRAIN_SCHEDULE: format.checkedBy(scheduleProblem).default('0 */5 * * * *').register(settingDocs, {
    meaning:
      'timer schedule: NCRONTAB, six fields with seconds first (`{second} {minute} {hour} {day} {month} {day-of-week}`), or a TimeSpan such as `00:05:00` (App Service plans only). ' +
      "Checked when the function is registered: a bad one keeps the function from being indexed, with our `SETTINGS_INVALID` and the fix rather than the host's words. " +
      '**NCRONTAB runs in UTC on Flex Consumption (the template\'s plan) and Linux Consumption, which have no `WEBSITE_TIME_ZONE`**: write hours in UTC (`doctor` says so for a schedule that names hours)',
    fix:
      'six space-separated NCRONTAB fields, seconds first ({second} {minute} {hour} {day} {month} {day-of-week}), ' +
      'e.g. "0 */5 * * * *" for every five minutes, or a TimeSpan such as "00:05:00" (App Service plans only)',
  }),
  AzureFunctionsJobHost__functionTimeout: z.string().optional().register(settingDocs, {
    meaning:
      "the host's own override of `functionTimeout` in `host.json` (`hh:mm:ss`, `-1` for none); a timer run starts no batch it cannot settle before it. " +
      "The template deploys no override, so `host.json`'s `00:10:00` holds: Flex Consumption's default is 30 minutes with no maximum, " +
      'and ten minutes bounds a run to two schedule periods, so a stuck call ends the run (the lease frees the mailbox) and a backlog drains run after run. ' +
      'Raise it here for a long first backlog',
    fix: 'a duration hh:mm:ss, or -1 for no limit',
    whenUnset: '`host.json`: `00:10:00`',
    hostSetting: true,
  }),
  AZURE_CLIENT_ID: format.guid().optional().register(settingDocs, {
    meaning:
      'client ID of the user-assigned managed identity that reads Key Vault (and Storage); for `federated`, the identity the app trusts. ' +
      'In the function app that identity alone (`ManagedIdentityCredential`) is used, so its own error is reported; ' +
      'the command line uses `DefaultAzureCredential` (your `az login`)',
    fix: 'the client ID of the user-assigned managed identity; unset for a system-assigned identity',
    whenUnset: 'system-assigned identity',
  }),
  AZURE_AUTHORITY_HOST: format.httpsUrl().default('https://login.microsoftonline.com').register(settingDocs, {
    meaning:
      "Entra ID host for every token request (sovereign clouds, Azure Stack, private clouds); instance discovery is off for hosts other than Microsoft's clouds",
    fix: 'an https URL such as https://login.microsoftonline.us',
  }),
  LOG_LEVEL: format.oneOf('debug', 'info', 'warn', 'error').default('info').register(settingDocs, {
    meaning: '`debug` shows the IMAP conversation and token requests, secrets redacted',
    fix: '"debug", "info", "warn" or "error"',
  }),
  METRICS_EXPORTER: format.oneOf('auto', 'azure-monitor', 'file', 'console', 'none').default('auto').register(settingDocs, {
    meaning:
      'where each run\'s per-mailbox metrics go ([Metrics and alerts](#metrics-and-alerts)): `azure-monitor` (Application Insights, `APPLICATIONINSIGHTS_CONNECTION_STRING`), ' +
      '`file` (JSON lines in `METRICS_FILE`), `console`, or `none`; `auto` is `azure-monitor` when the connection string is set, else `none`',
    fix: '"auto", "azure-monitor", "file", "console" or "none"',
  }),
  METRICS_FILE: z.string().optional().register(settingDocs, {
    meaning: 'with `METRICS_EXPORTER=file`: the file each data point is appended to, one JSON line (`name`, `unit`, `attributes`, `value`)',
    fix: 'a file path, e.g. ./metrics.jsonl',
  }),
  APPLICATIONINSIGHTS_CONNECTION_STRING: z.string().optional().register(settingDocs, {
    meaning: 'Application Insights, for the host\'s telemetry and (with `METRICS_EXPORTER` `auto` or `azure-monitor`) the metrics; the template sets it',
    fix: "the component's connection string (Application Insights > Overview > Connection String)",
  }),
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: z.string().regex(/^ClientId=[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12};Authorization=AAD$/i, 'is not ClientId=<GUID>;Authorization=AAD').optional().register(settingDocs, {
    meaning: 'Entra authentication for telemetry (`ClientId=<identity client ID>;Authorization=AAD`), as a component with local authentication disabled requires; the metrics use the same identity',
    fix: 'ClientId=<client ID of the managed identity>;Authorization=AAD',
  }),
};

/** The name of a declared setting: writing one that does not exist fails to compile. */
export type SettingName = keyof typeof shape;

type Declared = z.output<z.ZodObject<typeof shape>>;

/**
 * Settings required only in some configurations: when (over the other values,
 * defaults applied), and how the README's default column says it.
 */
export const requiredWhen: { readonly [K in SettingName]?: { when: (values: Declared) => boolean; says: string } } = {
  MAILBOX: { when: (s) => !s.MAILBOXES, says: 'required unless `MAILBOXES` is set' },
  KEY_VAULT_URL: { when: (s) => s.CREDENTIAL_TYPE !== 'federated', says: 'required, but for `federated`' },
  CLIENT_SECRET_NAME: { when: (s) => s.CREDENTIAL_TYPE === 'secret', says: 'required for `secret`' },
  CLIENT_CERTIFICATE_NAME: { when: (s) => s.CREDENTIAL_TYPE === 'certificate', says: 'required for `certificate`' },
  OUTPUT_STORAGE: {
    when: (s) => !s.OUTPUT_STORAGE__queueServiceUri && !s.OUTPUT_STORAGE__blobServiceUri,
    says: 'required unless the two service URIs below are set',
  },
  // Neither URI alone: the missing one is named. Neither at all: OUTPUT_STORAGE is, with both in its fix.
  OUTPUT_STORAGE__queueServiceUri: { when: (s) => !s.OUTPUT_STORAGE && !!s.OUTPUT_STORAGE__blobServiceUri, says: 'required without `OUTPUT_STORAGE`' },
  OUTPUT_STORAGE__blobServiceUri: { when: (s) => !s.OUTPUT_STORAGE && !!s.OUTPUT_STORAGE__queueServiceUri, says: 'required without `OUTPUT_STORAGE`' },
  AZURE_CLIENT_ID: { when: (s) => s.CREDENTIAL_TYPE === 'federated', says: 'required for `federated`' },
  METRICS_FILE: { when: (s) => s.METRICS_EXPORTER === 'file', says: 'required for `METRICS_EXPORTER=file`' },
  APPLICATIONINSIGHTS_CONNECTION_STRING: { when: (s) => s.METRICS_EXPORTER === 'azure-monitor', says: 'required for `METRICS_EXPORTER=azure-monitor`' },
};

/** The environment's settings, validated: loadSettings turns the result into `Settings`. */
export const settingsSchema = z.object(shape).superRefine(
  (values, ctx) => {
    for (const [name, rule] of Object.entries(requiredWhen)) {
      if (values[name as SettingName] === undefined && rule.when(values)) ctx.addIssue({ code: 'custom', path: [name], message: 'is missing' });
    }
    if (values.MAILBOX && values.MAILBOXES) {
      ctx.addIssue({ code: 'custom', path: ['MAILBOXES'], message: 'is set as well as MAILBOX, which is one of them: unset MAILBOX and list every mailbox here' });
    } else if (values.MAILBOXES) {
      // The folder each entry drains is known only with MAIL_FOLDER's default applied.
      const { entries } = parseMailboxList(values.MAILBOXES);
      const duplicates = duplicatePairs(entries.map((e) => ({ mailbox: e.mailbox, folder: e.folder ?? values.MAIL_FOLDER })));
      if (duplicates.length) ctx.addIssue({ code: 'custom', path: ['MAILBOXES'], message: duplicates.join('; ') });
    }
  },
  // Also when other settings are malformed or missing, so that every problem is named at once;
  // `values` then holds what the environment said for those, which the rules only compare.
  { when: () => true },
);
