/**
 * Reads and validates every setting (settingsSchema.ts) into the typed
 * `Settings`. Throws one DrainError (SETTINGS_INVALID) naming every missing or
 * malformed setting with its fix. The entry point says where it runs (`runsIn`);
 * the command line is the default.
 */
import { parseSettings } from './parseSettings.js';
import { settingsSchema, type SettingName } from './settingsSchema.js';
import type { MailboxTarget, RunsIn, Settings } from './settings.js';
import { parseMailboxList, type MailboxEntry } from './mailboxList.js';
import type { MetricsTarget } from './settings.js';

export function loadSettings(env: NodeJS.ProcessEnv = process.env, options: { runsIn?: RunsIn } = {}): Settings {
  const s = parseSettings(settingsSchema, env);
  // settingsSchema's requiredWhen has refused these unset where they are needed.
  const needed = <K extends SettingName>(name: K): NonNullable<(typeof s)[K]> => {
    const value = s[name];
    if (value === undefined || value === null) throw new Error(`${name} passed validation unset: settingsSchema's requiredWhen misses it`);
    return value as NonNullable<(typeof s)[K]>;
  };

  const entries: MailboxEntry[] = s.MAILBOXES ? parseMailboxList(s.MAILBOXES).entries : [{ mailbox: needed('MAILBOX') }];
  const mailboxes: MailboxTarget[] = entries.map((e) => ({
    mailbox: e.mailbox,
    folder: e.folder ?? s.MAIL_FOLDER,
    afterProcessing: e.afterProcessing ?? s.AFTER_PROCESSING,
    processedFolder: e.processedFolder ?? s.PROCESSED_FOLDER,
    failedFolder: e.failedFolder ?? s.FAILED_FOLDER,
    queueName: e.outputQueue ?? s.OUTPUT_QUEUE,
    containerName: e.outputContainer ?? s.OUTPUT_CONTAINER,
    enabled: e.enabled ?? true,
  }));
  const first = mailboxes[0]!;

  return {
    tenantId: s.TENANT_ID,
    clientId: s.CLIENT_ID,
    credential:
      s.CREDENTIAL_TYPE === 'certificate'
        ? { type: 'certificate', certificateName: needed('CLIENT_CERTIFICATE_NAME') }
        : s.CREDENTIAL_TYPE === 'federated'
          ? { type: 'federated', managedIdentityClientId: needed('AZURE_CLIENT_ID') }
          : { type: 'secret', secretName: needed('CLIENT_SECRET_NAME') },
    keyVaultUrl: s.KEY_VAULT_URL ?? '',
    credentialExpiryWarningDays: s.CREDENTIAL_EXPIRY_WARNING_DAYS,
    maxMessageBytes: s.MAX_MESSAGE_BYTES,
    maxAttempts: s.MAX_ATTEMPTS,
    authorityHost: s.AZURE_AUTHORITY_HOST.replace(/\/+$/, ''),
    managedIdentityClientId: s.AZURE_CLIENT_ID,
    mailbox: first.mailbox,
    folder: first.folder,
    imap: { host: s.IMAP_HOST, port: s.IMAP_PORT },
    afterProcessing: first.afterProcessing,
    processedFolder: first.processedFolder,
    failedFolder: first.failedFolder,
    output: {
      queueName: first.queueName,
      containerName: first.containerName,
      storage: s.OUTPUT_STORAGE
        ? { kind: 'connectionString', connectionString: s.OUTPUT_STORAGE }
        : {
            kind: 'identity',
            queueServiceUri: needed('OUTPUT_STORAGE__queueServiceUri'),
            blobServiceUri: needed('OUTPUT_STORAGE__blobServiceUri'),
            clientId: s.OUTPUT_STORAGE__clientId ?? s.AZURE_CLIENT_ID,
          },
    },
    drainRequestsQueue: s.DRAIN_REQUESTS_QUEUE,
    mailboxes,
    schedule: s.DRAIN_SCHEDULE,
    logLevel: s.LOG_LEVEL,
    runsIn: options.runsIn ?? 'commandLine',
    metrics: metricsTarget(s.METRICS_EXPORTER, s),
  };
}

/** `auto`: Application Insights when the host has a connection string (the function app), nothing otherwise. */
function metricsTarget(
  exporter: 'auto' | 'azure-monitor' | 'file' | 'console' | 'none',
  s: { METRICS_FILE?: string; APPLICATIONINSIGHTS_CONNECTION_STRING?: string; APPLICATIONINSIGHTS_AUTHENTICATION_STRING?: string },
): MetricsTarget {
  const connectionString = s.APPLICATIONINSIGHTS_CONNECTION_STRING;
  const resolved = exporter === 'auto' ? (connectionString ? 'azure-monitor' : 'none') : exporter;
  if (resolved === 'file') return { exporter: 'file', file: s.METRICS_FILE! };
  if (resolved !== 'azure-monitor') return { exporter: resolved };
  const clientId = /^ClientId=([^;]+);Authorization=AAD$/.exec(s.APPLICATIONINSIGHTS_AUTHENTICATION_STRING ?? '')?.[1];
  return { exporter: 'azure-monitor', connectionString: connectionString!, ...(clientId ? { clientId } : {}) };
}
