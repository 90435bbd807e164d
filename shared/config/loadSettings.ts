/**
 * Reads and validates every setting (settingsSchema.ts) into the typed
 * `Settings`. Throws one DrainError (SETTINGS_INVALID) naming every missing or
 * malformed setting with its fix. The entry point says where it runs (`runsIn`);
 * the command line is the default.
 */
import { parseSettings } from './parseSettings.js';
import { settingsSchema, type SettingName } from './settingsSchema.js';
import type { RunsIn, Settings } from './settings.js';

export function loadSettings(env: NodeJS.ProcessEnv = process.env, options: { runsIn?: RunsIn } = {}): Settings {
  const s = parseSettings(settingsSchema, env);
  // settingsSchema's requiredWhen has refused these unset where they are needed.
  const needed = <K extends SettingName>(name: K): NonNullable<(typeof s)[K]> => {
    const value = s[name];
    if (value === undefined || value === null) throw new Error(`${name} passed validation unset: settingsSchema's requiredWhen misses it`);
    return value as NonNullable<(typeof s)[K]>;
  };

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
    mailbox: s.MAILBOX,
    folder: s.MAIL_FOLDER,
    imap: { host: s.IMAP_HOST, port: s.IMAP_PORT },
    afterProcessing: s.AFTER_PROCESSING,
    processedFolder: s.PROCESSED_FOLDER,
    failedFolder: s.FAILED_FOLDER,
    output: {
      queueName: s.OUTPUT_QUEUE,
      containerName: s.OUTPUT_CONTAINER,
      storage: s.OUTPUT_STORAGE
        ? { kind: 'connectionString', connectionString: s.OUTPUT_STORAGE }
        : {
            kind: 'identity',
            queueServiceUri: needed('OUTPUT_STORAGE__queueServiceUri'),
            blobServiceUri: needed('OUTPUT_STORAGE__blobServiceUri'),
            clientId: s.OUTPUT_STORAGE__clientId ?? s.AZURE_CLIENT_ID,
          },
    },
    schedule: s.DRAIN_SCHEDULE,
    logLevel: s.LOG_LEVEL,
    runsIn: options.runsIn ?? 'commandLine',
  };
}
