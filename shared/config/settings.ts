/**
 * The typed settings everything else receives: loadSettings makes them from the
 * environment, as settingsSchema.ts declares it. Nothing but shared/config reads
 * the environment.
 */
import type { z } from 'zod';
import type { settingsSchema } from './settingsSchema.js';
import { folderKey } from './mailboxList.js';

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
  /**
   * The mailbox folder one drain works on, and where it goes: the first of
   * `mailboxes` as loaded, another one's through `forMailbox`.
   */
  mailbox: string;
  folder: string;
  imap: { host: string; port: number };
  afterProcessing: AfterProcessing;
  processedFolder: string;
  failedFolder: string;
  output: { queueName: string; containerName: string; storage: StorageConnection };
  /** The control queue of drain requests, in the output storage account. */
  drainRequestsQueue: string;
  /** Every mailbox folder the deployment drains (MAILBOXES, or MAILBOX alone), the deployment-wide settings filled in. */
  mailboxes: MailboxTarget[];
  schedule: string;
  logLevel: LogLevel;
  runsIn: RunsIn;
  /** Where each run's metrics go (shared/metrics/), `auto` resolved. */
  metrics: MetricsTarget;
}

/** The metrics' destination; Application Insights with Entra authentication when `clientId` is given. */
export type MetricsTarget =
  | { exporter: 'none' | 'console' }
  | { exporter: 'file'; file: string }
  | { exporter: 'azure-monitor'; connectionString: string; clientId?: string };

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

/** One mailbox folder of MAILBOXES with its overrides applied. */
export interface MailboxTarget {
  mailbox: string;
  folder: string;
  afterProcessing: AfterProcessing;
  processedFolder: string;
  failedFolder: string;
  queueName: string;
  containerName: string;
  /** `false`: listed but not drained (the timer sends it no request; a request for it is dropped). */
  enabled: boolean;
}

/** The settings of one drain of `target`, one of `settings.mailboxes`. */
export function forMailbox(settings: Settings, target: MailboxTarget): Settings {
  const { mailbox, folder, afterProcessing, processedFolder, failedFolder, queueName, containerName } = target;
  return { ...settings, mailbox, folder, afterProcessing, processedFolder, failedFolder, output: { ...settings.output, queueName, containerName } };
}

/** The target named by `mailbox` (any case) and, when given, `folder` (INBOX in any case); undefined when the deployment has none such. */
export function findMailbox(settings: Pick<Settings, 'mailboxes'>, mailbox: string, folder?: string): MailboxTarget | undefined {
  if (folder === undefined) return settings.mailboxes.find((t) => t.mailbox.toLowerCase() === mailbox.toLowerCase());
  const key = folderKey(mailbox, folder);
  return settings.mailboxes.find((t) => folderKey(t.mailbox, t.folder) === key);
}
