/** Remedies for settings, the platform identity, Key Vault and the stored credential. */
import type { DrainErrorCode } from '../errors.js';
import type { Facts } from '../facts.js';
import * as run from '../commands.js';
import { NEXT_RUN, passing, type Remedy, type RemedyStep } from './remedy.js';

const PICKED_UP = 'The drain picks it up within the hour, or at once on the next rejection.';

/** The renewal of the stored credential: also what the expiry warning says. */
export function renewal(f: Facts): RemedyStep[] {
  if (f.credentialType === 'certificate') {
    return [
      { say: 'Create a new version of the certificate (or import a renewed PEM with az keyvault certificate import):', run: [run.certificateCreate(f)] },
      { say: 'Upload its public part to the app registration:', run: run.certificateUpload(f) },
      { say: PICKED_UP },
    ];
  }
  return [
    { say: 'Create a new client secret for the app registration and store its value with its expiry:', run: [run.secretReset(f), run.secretSet(f, '<new value>')] },
    { say: PICKED_UP },
    { say: 'Consider CREDENTIAL_TYPE=federated: no secret to renew.' },
  ];
}

export const CREDENTIAL_REMEDIES: Record<Extract<DrainErrorCode, 'SETTINGS_INVALID' | 'IDENTITY_UNAVAILABLE' | `KEYVAULT_${string}` | `CREDENTIAL_${string}`>, Remedy> = {
  SETTINGS_INVALID: {
    said: 'a setting is missing or malformed, or the `--settings` file cannot be read',
    summary: 'every bad setting is named with its fix; a bad `DRAIN_SCHEDULE` fails the function\'s indexing with it',
    passes: false,
    steps: (f) => [
      f.settingsFile
        ? { say: 'Give the path of a local.settings.json-style file: { "IsEncrypted": false, "Values": { "TENANT_ID": "...", ... } } (see local.settings.sample.json).' }
        : { say: "Fix the settings named above in the function app's configuration, the environment, or local.settings.json, then run again." },
    ],
  },
  IDENTITY_UNAVAILABLE: {
    said: 'no managed identity or sign-in to read Key Vault with (`Unable to load the proper Managed Identity.`, `CredentialUnavailableError`)',
    summary: 'assign the identity to the function app and set `AZURE_CLIENT_ID` to its **client** ID; on a workstation, `az login`',
    passes: false,
    steps: (f) =>
      f.runsIn !== 'function'
        ? [
            { say: 'On a workstation, sign in:', run: ['az login'] },
            { say: 'In Azure, give the host its managed identity and set AZURE_CLIENT_ID to the client ID of the user-assigned identity.' },
          ]
        : f.managedIdentityClientId
          ? [
              {
                say: 'Assign the identity to the function app and set AZURE_CLIENT_ID to its client ID, not its object (principal) ID; infra/main.bicep does both:',
                run: ['az functionapp identity assign --name <app> --resource-group <group> --identities <identity resource ID>'],
              },
            ]
          : [
              {
                say: "Turn on the function app's system-assigned identity, or set AZURE_CLIENT_ID to the client ID of its user-assigned identity:",
                run: ['az functionapp identity assign --name <app> --resource-group <group>'],
              },
            ],
  },
  KEYVAULT_FORBIDDEN: {
    said: 'Key Vault 401/403',
    summary: 'assign *Key Vault Secrets User* to the function\'s identity on the secret (the vault must use Azure RBAC)',
    passes: false,
    steps: (f) => [
      { say: 'Assign the role "Key Vault Secrets User" to the identity on the secret:', run: [run.secretsUserAssignment(f)] },
      { say: 'The vault must use Azure RBAC (not access policies); role assignments take a few minutes to apply.' },
    ],
  },
  KEYVAULT_SECRET_DISABLED: {
    said: 'Key Vault 403 `SecretDisabled`',
    summary: 'enable the secret (or the certificate\'s current version)',
    passes: false,
    steps: (f) => [{ say: 'Enable it:', run: [run.secretEnable(f)] }],
  },
  KEYVAULT_NOT_FOUND: {
    said: 'Key Vault 404',
    summary: 'store the secret / import the certificate under the configured name',
    passes: false,
    steps: (f) =>
      f.credentialType === 'certificate'
        ? [{ say: 'Import the certificate:', run: [run.certificateImport(f)] }, { say: 'Or correct CLIENT_CERTIFICATE_NAME.' }]
        : [{ say: 'Store the client secret:', run: [run.secretSet(f)] }, { say: 'Or correct CLIENT_SECRET_NAME.' }],
  },
  KEYVAULT_UNREACHABLE: {
    said: 'Key Vault: `ENOTFOUND`, `ECONNREFUSED`, ...',
    summary: '`KEY_VAULT_URL`, and the vault\'s firewall or private endpoint',
    passes: false,
    steps: () => [{ say: "Check KEY_VAULT_URL, and that the vault's firewall or private endpoint lets the function app in." }],
  },
  KEYVAULT_UNAVAILABLE: passing(
    'Key Vault 429 / 5xx after the SDK\'s retries',
    'nothing: the next run tries again',
    NEXT_RUN,
    "If it persists, check the vault's health in the Azure portal (Resource health) and whether other clients share its request limits.",
  ),
  KEYVAULT_FAILED: {
    said: 'any other Key Vault answer',
    summary: 'check `KEY_VAULT_URL`; `LOG_LEVEL=debug` shows Key Vault\'s answer',
    passes: false,
    steps: () => [{ say: "Check KEY_VAULT_URL (https://<vault>.vault.azure.net/), then run again with LOG_LEVEL=debug to see Key Vault's answer." }],
  },
  CREDENTIAL_INVALID: {
    said: 'the secret is empty, or the certificate is neither PEM nor PKCS#12 with its private key',
    summary: 'store the secret\'s value / import the certificate with an exportable private key, without a password',
    passes: false,
    steps: (f) =>
      f.credentialType === 'certificate'
        ? [
            {
              say: 'Import the certificate with its private key, unencrypted and without a password, marked exportable, as PEM (application/x-pem-file) or PKCS#12 (application/x-pkcs12):',
              run: [run.certificateImport(f)],
            },
          ]
        : [{ say: "Store the client secret's value:", run: [run.secretSet(f)] }],
  },
  CREDENTIAL_EXPIRED: {
    said: 'the Key Vault secret\'s expiry or the certificate\'s notAfter has passed',
    summary: 'renew it (the log gives the commands)',
    passes: false,
    steps: renewal,
  },
  CREDENTIAL_NOT_RSA: {
    said: 'the Key Vault certificate\'s key is EC (or another type): Entra ID accepts RS256/PS256 assertions only',
    summary: 'create an RSA certificate: `az keyvault certificate create --policy @infra/certificate-policy.json` (keyType RSA), or `openssl req -x509 -newkey rsa:2048 …` and import it; upload its public part',
    passes: false,
    steps: (f) => [
      { say: 'Entra ID supports RSA certificates only.' },
      { say: 'Create one with an RSA key (the policy\'s keyType is RSA):', run: [run.certificateCreate(f)] },
      {
        say: 'Or create it with openssl and import key and certificate as one PEM:',
        run: ['openssl req -x509 -newkey rsa:2048 -nodes -keyout app.key -out app.crt -days 365 -subj "/CN=mail-drain"', 'cat app.key app.crt > app.pem', run.certificateImport(f)],
      },
      { say: 'Then upload its public part to the app registration:', run: run.certificateUpload(f) },
    ],
  },
};
