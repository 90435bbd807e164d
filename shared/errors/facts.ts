/**
 * What an error knows about the operator's setup: the names a remedy's
 * commands need. Facts, never prose: the remedy table (remedies.ts) turns them
 * into steps where output happens. None of them is a secret.
 */
export interface Facts {
  tenantId?: string;
  /** The app registration's Application (client) ID. */
  clientId?: string;
  /** The Enterprise application's object ID (the token's `oid`), when known. */
  objectId?: string;
  mailbox?: string;
  folder?: string;
  /** IMAP server. */
  host?: string;
  port?: number;
  /** Key Vault name (the first label of its host) and URL. */
  vault?: string;
  vaultUrl?: string;
  credentialType?: 'secret' | 'certificate' | 'federated';
  /** Name of the Key Vault secret or certificate that holds the app's credential. */
  credentialName?: string;
  /** AZURE_CLIENT_ID: the user-assigned managed identity, when there is one. */
  managedIdentityClientId?: string;
  runsIn?: 'function' | 'commandLine';
  queue?: string;
  container?: string;
  blob?: string;
  /** How long the service asked us to wait before trying again. */
  retryAfterMs?: number;
  /** The settings file given with --settings. */
  settingsFile?: string;
}
