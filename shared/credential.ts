/**
 * The app registration's credential, read from Key Vault, and the app-only
 * token for Exchange Online that it buys.
 *
 * Key Vault is read with DefaultAzureCredential: the function's managed identity
 * in Azure (AZURE_CLIENT_ID for a user-assigned one), the developer's login on a
 * workstation. Every token request honours AZURE_AUTHORITY_HOST; for a host that
 * is not one of Microsoft's clouds, instance discovery is off, as Azure Stack and
 * private clouds need (MSAL would otherwise ask Microsoft's host about it).
 */
import {
  ClientCertificateCredential,
  ClientSecretCredential,
  DefaultAzureCredential,
  type TokenCredential,
} from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { DrainError } from './errors.js';
import { explainKeyVaultError, explainTokenError } from './explain.js';
import { registerSecret, type Logger } from './logger.js';
import type { Settings } from './settings.js';

/** The scope of an app-only token for Exchange Online IMAP. */
export const EXCHANGE_SCOPE = 'https://outlook.office365.com/.default';

const MICROSOFT_CLOUD_HOSTS = new Set([
  'login.microsoftonline.com',
  'login.microsoftonline.us',
  'login.chinacloudapi.cn',
  'login.microsoftonline.de',
]);

export function authorityOptions(authorityHost: string) {
  return {
    authorityHost,
    disableInstanceDiscovery: !MICROSOFT_CLOUD_HOSTS.has(new URL(authorityHost).hostname),
  };
}

/** The identity that reads Key Vault and, with identity-based settings, Storage. */
export function platformCredential(settings: Settings, clientId = settings.managedIdentityClientId): TokenCredential {
  return new DefaultAzureCredential({
    ...authorityOptions(settings.authorityHost),
    ...(clientId ? { managedIdentityClientId: clientId } : {}),
  });
}

export interface AppCredential {
  credential: TokenCredential;
  /** When the stored credential stops working, if Key Vault knows. */
  expiresOn?: Date;
}

/**
 * Reads the app's client secret or certificate from Key Vault and returns a
 * credential for the app registration. An expired credential fails here, before
 * any request to Entra ID.
 */
export async function loadAppCredential(settings: Settings, logger: Logger): Promise<AppCredential> {
  const vault = new SecretClient(settings.keyVaultUrl, platformCredential(settings));
  const name = settings.credential.type === 'secret' ? settings.credential.secretName : settings.credential.certificateName;

  // A Key Vault certificate's private key is readable as the secret of the same name.
  const stored = await vault.getSecret(name).catch((error: unknown) => {
    throw explainKeyVaultError(error, settings);
  });
  const value = stored.value ?? '';
  registerSecret(value);
  logger.debug(`Read ${settings.credential.type} "${name}" (version ${stored.properties.version ?? '?'}) from ${settings.keyVaultUrl}`);

  const expiresOn = stored.properties.expiresOn;
  if (expiresOn && expiresOn.getTime() <= Date.now()) {
    throw new DrainError(
      'CREDENTIAL_EXPIRED',
      `The app's ${settings.credential.type} "${name}" in Key Vault expired on ${expiresOn.toISOString()}.`,
      settings.credential.type === 'secret'
        ? `Create a new client secret (az ad app credential reset --id ${settings.clientId} --append --years 1) and store its value with az keyvault secret set --name ${name} --expires <its expiry>.`
        : `Renew the certificate in Key Vault (az keyvault certificate create or import --name ${name}) and upload its public part to the app registration.`,
    );
  }

  const options = authorityOptions(settings.authorityHost);
  if (settings.credential.type === 'secret') {
    if (!value) throw emptyCredential(settings, name);
    return { credential: new ClientSecretCredential(settings.tenantId, settings.clientId, value, options), expiresOn };
  }

  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(value) || !/-----BEGIN CERTIFICATE-----/.test(value)) {
    throw new DrainError(
      'CREDENTIAL_INVALID',
      `Key Vault certificate "${name}" is not PEM with its private key (content type ${stored.properties.contentType ?? 'unknown'}).`,
      'Create or import the certificate with content type application/x-pem-file (az keyvault certificate import --policy with "contentType": "application/x-pem-file"), and mark its key exportable.',
    );
  }
  return {
    credential: new ClientCertificateCredential(settings.tenantId, settings.clientId, { certificate: value }, options),
    expiresOn,
  };
}

function emptyCredential(settings: Settings, name: string): DrainError {
  return new DrainError(
    'CREDENTIAL_INVALID',
    `Key Vault secret "${name}" is empty.`,
    `Store the client secret's value: az keyvault secret set --vault-name <vault> --name ${name} --value '<secret value>'.`,
  );
}

/** An app-only access token for Exchange Online, with its expiry. */
export async function getMailboxToken(app: AppCredential, settings: Settings, logger: Logger) {
  const token = await app.credential.getToken(EXCHANGE_SCOPE).catch((error: unknown) => {
    throw explainTokenError(error, settings);
  });
  if (!token) {
    throw new DrainError('ENTRA_TOKEN_FAILED', 'Entra ID returned no token.', 'Run again with LOG_LEVEL=debug.');
  }
  registerSecret(token.token);
  logger.debug(`Got a token for ${EXCHANGE_SCOPE}, valid until ${new Date(token.expiresOnTimestamp).toISOString()}`);
  return token;
}
