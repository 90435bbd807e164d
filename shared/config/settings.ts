/**
 * The typed settings everything else receives: loadSettings makes them from the
 * environment, as settingsSchema.ts declares it. Nothing but shared/config reads
 * the environment.
 */
import type { z } from 'zod';
import type { settingsSchema } from './settingsSchema.js';

type Declared = z.output<typeof settingsSchema>;

export type CredentialType = Declared['CREDENTIAL_TYPE'];
export type AfterProcessing = Declared['AFTER_PROCESSING'];
export type LogLevel = Declared['LOG_LEVEL'];
/**
 * Where the code runs, as its entry point says: it decides the platform identity
 * (the managed identity alone in the function app, DefaultAzureCredential on the
 * command line).
 */
export type RunsIn = 'function' | 'commandLine';

export type StorageConnection =
  | { kind: 'connectionString'; connectionString: string }
  | { kind: 'identity'; queueServiceUri: string; blobServiceUri: string; clientId?: string };

export interface Settings {
  tenantId: string;
  clientId: string;
  credential:
    | { type: 'secret'; secretName: string }
    | { type: 'certificate'; certificateName: string }
    /** No secret anywhere: the managed identity's token is the app's client assertion. */
    | { type: 'federated'; managedIdentityClientId: string };
  /** Empty for `federated`, which reads nothing from Key Vault. */
  keyVaultUrl: string;
  /** Warn this many days before the stored credential expires. */
  credentialExpiryWarningDays: number;
  /** Larger messages are quarantined unparsed (streamed to Blob storage, never held in memory). */
  maxMessageBytes: number;
  /** Failed hand-offs of one message, across runs, before it is quarantined. */
  maxAttempts: number;
  /** Entra ID host for every token request (AZURE_AUTHORITY_HOST), without a trailing slash. */
  authorityHost: string;
  /** Managed identity client id for Key Vault and Storage (user-assigned identity). */
  managedIdentityClientId?: string;
  mailbox: string;
  folder: string;
  imap: { host: string; port: number };
  afterProcessing: AfterProcessing;
  processedFolder: string;
  failedFolder: string;
  output: { queueName: string; containerName: string; storage: StorageConnection };
  schedule: string;
  logLevel: LogLevel;
  runsIn: RunsIn;
}

/** The Key Vault name of the app credential, or what stands for it with federated. */
export function credentialName(settings: Pick<Settings, 'credential'>): string {
  switch (settings.credential.type) {
    case 'secret':
      return settings.credential.secretName;
    case 'certificate':
      return settings.credential.certificateName;
    case 'federated':
      return `managed identity ${settings.credential.managedIdentityClientId}`;
  }
}
