/**
 * The app registration's credential and the app-only token for Exchange Online
 * it buys.
 *
 * - `secret`: a client secret, read from Key Vault.
 * - `certificate`: a Key Vault certificate (PEM, or PKCS#12 converted to PEM);
 *   the token request carries a signed client assertion. Its key must be RSA:
 *   Entra ID verifies client assertions as RS256 or PS256 only.
 * - `federated`: no secret anywhere. The function's user-assigned managed
 *   identity gets a token for api://AzureADTokenExchange and presents it as the
 *   app's client assertion.
 *
 * Key Vault (and identity-based Storage) is read with the platform identity: in
 * the function app the managed identity alone (AZURE_CLIENT_ID for a user-assigned
 * one), on the command line DefaultAzureCredential (a developer's az login).
 * Every token request honours AZURE_AUTHORITY_HOST; for a host that is not one
 * of Microsoft's clouds instance discovery is off (MSAL would otherwise ask
 * Microsoft's host about it), as Azure Stack and private clouds need.
 *
 * The credential is kept across timer runs in one process, so its tokens are
 * too. It is read again after an hour, and at once when Entra ID rejects it,
 * so a rotated secret or certificate is picked up without a restart.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import {
  ClientAssertionCredential,
  ClientCertificateCredential,
  ClientSecretCredential,
  DefaultAzureCredential,
  ManagedIdentityCredential,
  type AccessToken,
  type TokenCredential,
} from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import forge from 'node-forge';
import { DrainError, type DrainErrorCode } from '../errors/errors.js';
import { explainKeyVaultError, explainTokenError } from '../errors/explain.js';
import { registerSecret, type Logger } from '../errors/logger.js';
import { credentialName, type Settings } from '../config/settings.js';

/** The scope of an app-only token for Exchange Online IMAP. */
export const EXCHANGE_SCOPE = 'https://outlook.office365.com/.default';
/** The audience of an Exchange Online token, and the app role IMAP requires of an app-only one. */
export const EXCHANGE_AUDIENCE = new URL(EXCHANGE_SCOPE).origin;
export const IMAP_ROLE = 'IMAP.AccessAsApp';
/** The audience Entra ID expects of a managed identity token used as a federated credential. */
export const TOKEN_EXCHANGE_SCOPE = 'api://AzureADTokenExchange/.default';
/** How long a credential read from Key Vault is trusted before it is read again. */
export const CREDENTIAL_MAX_AGE_MS = 60 * 60_000;

const MICROSOFT_CLOUD_HOSTS = new Set([
  'login.microsoftonline.com',
  'login.microsoftonline.us',
  'login.chinacloudapi.cn',
  'login.microsoftonline.de',
]);

// Entra's answers that mean "this credential is not (or no longer) the app's".
const REJECTED_CREDENTIAL: DrainErrorCode[] = ['ENTRA_SECRET_INVALID', 'ENTRA_SECRET_EXPIRED', 'ENTRA_ASSERTION_INVALID'];

export function authorityOptions(authorityHost: string) {
  return {
    authorityHost,
    disableInstanceDiscovery: !MICROSOFT_CLOUD_HOSTS.has(new URL(authorityHost).hostname),
  };
}

/**
 * The identity that reads Key Vault and, with identity-based settings, Storage.
 * In the function app, the managed identity alone: DefaultAzureCredential would go
 * on, when it fails, to developer credentials Flex Consumption does not have, and
 * report all of them instead of the identity's own error. On the command line,
 * DefaultAzureCredential: the developer's az login, or a VM's or container's identity.
 */
export function platformCredential(settings: Settings, clientId = settings.managedIdentityClientId): TokenCredential {
  if (settings.runsIn === 'function') return new ManagedIdentityCredential(clientId ? { clientId } : {});
  return new DefaultAzureCredential({
    ...authorityOptions(settings.authorityHost),
    ...(clientId ? { managedIdentityClientId: clientId } : {}),
  });
}

/** What was read from Key Vault (nothing, for federated), enough to build a credential again. */
interface StoredCredential {
  kind: Settings['credential']['type'];
  /** The client secret, or the PEM with private key and certificate chain. */
  material: string;
  expiresOn?: Date;
  version?: string;
  loadedAt: number;
}

export class AppCredential {
  private credential: TokenCredential;

  private constructor(
    private readonly settings: Settings,
    private stored: StoredCredential,
  ) {
    this.credential = buildCredential(settings, stored);
  }

  /** When the stored secret or certificate stops working, if known. */
  get expiresOn(): Date | undefined {
    return this.stored.expiresOn;
  }

  /** Reads the credential from Key Vault (or, for federated, from nowhere). */
  static async load(settings: Settings, logger: Logger): Promise<AppCredential> {
    return new AppCredential(settings, await readStoredCredential(settings, logger));
  }

  isStale(now: number): boolean {
    return now - this.stored.loadedAt > CREDENTIAL_MAX_AGE_MS;
  }

  /**
   * An access token for Exchange Online. `fresh` bypasses the token cache (the
   * server said the last one expired). A credential rejected by Entra ID is read
   * again from Key Vault once, in case it was rotated.
   */
  async mailboxToken(logger: Logger, options: { fresh?: boolean } = {}): Promise<AccessToken> {
    if (options.fresh) this.credential = buildCredential(this.settings, this.stored);
    try {
      return await requestToken(this.credential, this.settings, logger);
    } catch (error) {
      if (!(error instanceof DrainError) || !REJECTED_CREDENTIAL.includes(error.code) || this.stored.kind === 'federated') throw error;
      const reread = await readStoredCredential(this.settings, logger);
      if (reread.version !== undefined && reread.version === this.stored.version) throw error;
      logger.info(`Entra ID rejected the cached ${this.stored.kind}; using version ${reread.version ?? '?'} from Key Vault.`);
      this.stored = reread;
      this.credential = buildCredential(this.settings, reread);
      return requestToken(this.credential, this.settings, logger);
    }
  }

  /**
   * Fails an expired credential before any request to Entra ID, and warns, on
   * every run, within CREDENTIAL_EXPIRY_WARNING_DAYS of the expiry.
   */
  checkExpiry(logger: Logger, warningDays: number, now: number): void {
    const expiresOn = this.stored.expiresOn;
    if (!expiresOn) return;
    const what = `${this.stored.kind} "${credentialName(this.settings)}"`;
    if (expiresOn.getTime() <= now) {
      throw new DrainError('CREDENTIAL_EXPIRED', `The app's ${what} in Key Vault expired on ${expiresOn.toISOString()}.`, renewalSteps(this.settings));
    }
    const days = (expiresOn.getTime() - now) / 86_400_000;
    if (days <= warningDays) {
      logger.warn(
        `The app's ${what} expires on ${expiresOn.toISOString()} (in ${Math.floor(days)} days). Renew it before then: ${renewalSteps(this.settings)}`,
      );
    }
  }
}

/** The exact steps to renew the stored credential, with the user's own names filled in. */
export function renewalSteps(settings: Settings): string {
  const vault = vaultName(settings);
  const name = credentialName(settings);
  if (settings.credential.type === 'certificate') {
    return (
      `az keyvault certificate create --vault-name ${vault} --name ${name} --policy @infra/certificate-policy.json ` +
      `(or import a renewed PEM with az keyvault certificate import), then upload its public part: ` +
      `az keyvault certificate download --vault-name ${vault} --name ${name} --file app.cer --encoding DER && ` +
      `az ad app credential reset --id ${settings.clientId} --cert @app.cer --append. The drain picks it up within the hour, or at once on the next rejection.`
    );
  }
  return (
    `az ad app credential reset --id ${settings.clientId} --append --years 1 --query password -o tsv, then ` +
    `az keyvault secret set --vault-name ${vault} --name ${name} --value '<new value>' --expires <its expiry>. ` +
    'The drain picks it up within the hour, or at once on the next rejection. Consider CREDENTIAL_TYPE=federated: no secret to renew.'
  );
}

function vaultName(settings: Settings): string {
  return (settings.keyVaultUrl && new URL(settings.keyVaultUrl).hostname.split('.')[0]) || '<vault>';
}

async function readStoredCredential(settings: Settings, logger: Logger): Promise<StoredCredential> {
  const { credential } = settings;
  if (credential.type === 'federated') return { kind: 'federated', material: '', loadedAt: Date.now() };

  const name = credential.type === 'secret' ? credential.secretName : credential.certificateName;
  const vault = new SecretClient(settings.keyVaultUrl, platformCredential(settings));
  // A Key Vault certificate's private key is readable as the secret of the same name.
  const secret = await vault.getSecret(name).catch((error: unknown) => {
    throw explainKeyVaultError(error, settings);
  });
  const value = secret.value ?? '';
  registerSecret(value);
  const version = secret.properties.version;
  logger.debug(`Read ${credential.type} "${name}" (version ${version ?? '?'}) from ${settings.keyVaultUrl}`);

  if (credential.type === 'secret') {
    if (!value) {
      throw new DrainError(
        'CREDENTIAL_INVALID',
        `Key Vault secret "${name}" is empty.`,
        `Store the client secret's value: az keyvault secret set --vault-name <vault> --name ${name} --value '<secret value>'.`,
      );
    }
    return { kind: 'secret', material: value, expiresOn: secret.properties.expiresOn, version, loadedAt: Date.now() };
  }

  const pem = certificatePem(value, secret.properties.contentType, settings);
  registerSecret(pem);
  return { kind: 'certificate', material: pem, expiresOn: certificateNotAfter(pem), version, loadedAt: Date.now() };
}

/**
 * The PEM (private key and certificate chain) of a Key Vault certificate's secret.
 * @azure/identity takes PEM only, so PKCS#12 is converted, with node-forge.
 * Throws CREDENTIAL_NOT_RSA for a key Entra ID cannot verify an assertion from.
 */
export function certificatePem(value: string, contentType: string | undefined, settings: Settings): string {
  const name = credentialName(settings);
  if (contentType === 'application/x-pkcs12') {
    try {
      // Key Vault keeps a certificate's PFX base64-encoded without a password: either an
      // empty one (a MAC over "") or none at all (no MAC), depending on how it was imported.
      const der = forge.util.decode64(value);
      let p12: forge.pkcs12.Pkcs12Pfx;
      try {
        p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(der), false, '');
      } catch {
        p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(der), false);
      }
      const keyBags = [
        ...(p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag })[forge.pki.oids.pkcs8ShroudedKeyBag] ?? []),
        ...(p12.getBags({ bagType: forge.pki.oids.keyBag })[forge.pki.oids.keyBag] ?? []),
      ];
      const certBags = p12.getBags({ bagType: forge.pki.oids.certBag })[forge.pki.oids.certBag] ?? [];
      // node-forge reads RSA keys only: any other key is a bag without `key`, its PKCS#8 left in `asn1`.
      const other = keyBags.find((b) => !b.key && b.asn1);
      if (!keyBags.some((b) => b.key) && other) {
        requireRsa(pkcs8Key(Buffer.from(forge.asn1.toDer(other.asn1).getBytes(), 'binary')), settings);
      }
      const key = keyBags.find((b) => b.key)?.key;
      if (!key || certBags.length === 0) throw new Error('the PFX holds no private key or no certificate');
      // The leaf (the certificate whose public key matches the private key) first, then the chain.
      const rsaKey = key as forge.pki.rsa.PrivateKey;
      const isLeaf = (cert: forge.pki.Certificate) => (cert.publicKey as forge.pki.rsa.PublicKey).n.equals(rsaKey.n);
      const certs = certBags.map((b) => b.cert!).filter(Boolean);
      const ordered = [...certs.filter(isLeaf), ...certs.filter((c) => !isLeaf(c))];
      return [forge.pki.privateKeyToPem(key), ...ordered.map((c) => forge.pki.certificateToPem(c))].join('');
    } catch (error) {
      if (error instanceof DrainError) throw error;
      throw new DrainError(
        'CREDENTIAL_INVALID',
        `Key Vault certificate "${name}" (PKCS#12) could not be read: ${(error as Error).message}.`,
        'Import the certificate with its private key and without a password, marked exportable (az keyvault certificate import).',
        { cause: error },
      );
    }
  }
  const pemKey = /-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/.exec(value);
  if (pemKey && /-----BEGIN CERTIFICATE-----/.test(value)) {
    let key: KeyObject;
    try {
      key = createPrivateKey(pemKey[0]);
    } catch (error) {
      throw new DrainError(
        'CREDENTIAL_INVALID',
        `The private key of Key Vault certificate "${name}" (PEM) could not be read: ${(error as Error).message}.`,
        'Import the certificate with its private key unencrypted, marked exportable (az keyvault certificate import --policy @infra/certificate-policy.import.json).',
        { cause: error },
      );
    }
    requireRsa(key, settings);
    return value;
  }
  throw new DrainError(
    'CREDENTIAL_INVALID',
    `Key Vault certificate "${name}" is neither PEM with its private key nor PKCS#12 (content type ${contentType ?? 'unknown'}).`,
    'Create or import the certificate with an exportable private key and content type application/x-pem-file or application/x-pkcs12.',
  );
}

function pkcs8Key(der: Buffer): KeyObject | undefined {
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch {
    return undefined;
  }
}

const KEY_TYPE_NAMES: Record<string, string> = { ec: 'EC', dsa: 'DSA', 'rsa-pss': 'RSA-PSS', ed25519: 'Ed25519', ed448: 'Ed448' };

/**
 * Entra ID verifies a certificate's client assertion as RS256 or PS256 only. Without
 * this check an EC key fails late and in other words: in MSAL's JWT signing (from PEM),
 * or as a PFX that seems to hold no key at all (node-forge reads RSA keys only).
 */
function requireRsa(key: KeyObject | undefined, settings: Settings): void {
  if (key?.asymmetricKeyType === 'rsa') return;
  const name = credentialName(settings);
  const vault = vaultName(settings);
  const type = key?.asymmetricKeyType;
  const curve = key?.asymmetricKeyDetails?.namedCurve;
  const what = type ? `a key of type ${KEY_TYPE_NAMES[type] ?? type}${curve ? ` (${curve})` : ''}` : 'a key that is not RSA';
  throw new DrainError(
    'CREDENTIAL_NOT_RSA',
    `Key Vault certificate "${name}" has ${what}; Entra ID accepts client assertions signed with RSA keys only (RS256, PS256).`,
    'Entra ID supports RSA certificates only. Create one with an RSA key: ' +
      `az keyvault certificate create --vault-name ${vault} --name ${name} --policy @infra/certificate-policy.json (its keyType is RSA), ` +
      'or with openssl req -x509 -newkey rsa:2048 -nodes -keyout app.key -out app.crt -days 365 -subj "/CN=mail-drain" ' +
      `and import key and certificate as one PEM: cat app.key app.crt > app.pem && az keyvault certificate import --vault-name ${vault} --name ${name} --file app.pem --policy @infra/certificate-policy.import.json. ` +
      'Then upload its public part to the app registration: ' +
      `az keyvault certificate download --vault-name ${vault} --name ${name} --file app.cer --encoding DER && az ad app credential reset --id ${settings.clientId} --cert @app.cer --append`,
  );
}

/** notAfter of the first certificate in a PEM (the leaf, as Key Vault and certificatePem order it). */
function certificateNotAfter(pem: string): Date | undefined {
  const first = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  return first ? new Date(new X509Certificate(first[0]).validTo) : undefined;
}

function buildCredential(settings: Settings, stored: StoredCredential): TokenCredential {
  const options = authorityOptions(settings.authorityHost);
  switch (settings.credential.type) {
    case 'secret':
      return new ClientSecretCredential(settings.tenantId, settings.clientId, stored.material, options);
    case 'certificate':
      return new ClientCertificateCredential(settings.tenantId, settings.clientId, { certificate: stored.material }, options);
    case 'federated': {
      const identity = new ManagedIdentityCredential({ clientId: settings.credential.managedIdentityClientId });
      const assertion = async () => {
        const token = await identity.getToken(TOKEN_EXCHANGE_SCOPE);
        registerSecret(token.token, token.expiresOnTimestamp);
        return token.token;
      };
      return new ClientAssertionCredential(settings.tenantId, settings.clientId, assertion, options);
    }
  }
}

async function requestToken(credential: TokenCredential, settings: Settings, logger: Logger): Promise<AccessToken> {
  const token = await credential.getToken(EXCHANGE_SCOPE).catch((error: unknown) => {
    throw explainTokenError(error, settings);
  });
  if (!token) throw new DrainError('ENTRA_TOKEN_FAILED', 'Entra ID returned no token.', 'Run again with LOG_LEVEL=debug.');
  registerSecret(token.token, token.expiresOnTimestamp);
  logger.debug(`Got a token for ${EXCHANGE_SCOPE}, valid until ${new Date(token.expiresOnTimestamp).toISOString()}`);
  return token;
}

const cache = new Map<string, AppCredential>();

/**
 * The app credential for these settings, kept across timer runs in this process
 * and read again from Key Vault after CREDENTIAL_MAX_AGE_MS.
 */
export async function appCredential(settings: Settings, logger: Logger, now = Date.now()): Promise<AppCredential> {
  const key = JSON.stringify([settings.tenantId, settings.clientId, settings.authorityHost, settings.keyVaultUrl, settings.credential]);
  let app = cache.get(key);
  if (!app || app.isStale(now)) {
    app = await AppCredential.load(settings, logger);
    cache.set(key, app);
  }
  try {
    app.checkExpiry(logger, settings.credentialExpiryWarningDays, now);
  } catch (error) {
    cache.delete(key); // read Key Vault again next run: the renewal may be there by then
    throw error;
  }
  return app;
}

/** Forgets cached credentials (tests; a process that changes its settings). */
export function forgetCredentials(): void {
  cache.clear();
}
