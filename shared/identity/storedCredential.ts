import { SecretClient } from '@azure/keyvault-secrets';
import type { Settings } from '../config/settings.js';
import { DrainError } from '../errors/errors.js';
import { explainKeyVaultError } from '../errors/explainKeyVaultError.js';
import { registerSecret, type Logger } from '../errors/logger.js';
import { settingsFacts } from '../errors/settingsFacts.js';
import { certificatePem } from './certificatePem.js';
import { certificateNotAfter } from './credentialExpiry.js';
import { platformCredential } from './platformCredential.js';

/** What was read from Key Vault (nothing, for federated), enough to build a credential again. */
export interface StoredCredential {
  kind: Settings['credential']['type'];
  /** The client secret, or the PEM with private key and certificate chain. */
  material: string;
  expiresOn?: Date;
  version?: string;
  loadedAt: number;
}

/**
 * Reads the app's secret or certificate from Key Vault with the platform
 * identity. Every value read is registered with the logger's redaction first.
 */
export async function readStoredCredential(settings: Settings, logger: Logger): Promise<StoredCredential> {
  const { credential } = settings;
  if (credential.type === 'federated') return { kind: 'federated', material: '', loadedAt: Date.now() };

  const facts = settingsFacts(settings);
  const name = credential.type === 'secret' ? credential.secretName : credential.certificateName;
  const vault = new SecretClient(settings.keyVaultUrl, platformCredential(settings));
  // A Key Vault certificate's private key is readable as the secret of the same name.
  const secret = await vault.getSecret(name).catch((error: unknown) => {
    throw explainKeyVaultError(error, facts);
  });
  const value = secret.value ?? '';
  registerSecret(value);
  const version = secret.properties.version;
  logger.debug(`Read ${credential.type} "${name}" (version ${version ?? '?'}) from ${settings.keyVaultUrl}`);

  if (credential.type === 'secret') {
    if (!value) throw new DrainError('CREDENTIAL_INVALID', `Key Vault secret "${name}" is empty.`, facts);
    return { kind: 'secret', material: value, expiresOn: secret.properties.expiresOn, version, loadedAt: Date.now() };
  }

  const pem = certificatePem(value, secret.properties.contentType, facts);
  registerSecret(pem);
  return { kind: 'certificate', material: pem, expiresOn: certificateNotAfter(pem), version, loadedAt: Date.now() };
}
