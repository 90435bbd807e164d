/** Remedies for Entra ID's answers to the token request. */
import type { DrainErrorCode } from '../errors.js';
import * as run from '../commands.js';
import { renewal } from './credentialRemedies.js';
import { NEXT_RUN, passing, type Remedy } from './remedy.js';


export const ENTRA_REMEDIES: Record<Extract<DrainErrorCode, `ENTRA_${string}`>, Remedy> = {
  ENTRA_SECRET_INVALID: {
    said: '`AADSTS7000215`',
    summary: 'the secret in Key Vault is the Secret ID or wrong: store the secret\'s **Value**',
    passes: false,
    steps: (f) => [
      {
        say:
          "Store the secret's Value, not its Secret ID: in Entra admin center > App registrations > your app > Certificates & secrets, " +
          'create a new client secret, copy its Value, then run',
        run: [run.secretSet(f)],
      },
    ],
  },
  ENTRA_SECRET_EXPIRED: {
    said: '`AADSTS7000222`',
    summary: 'create a new client secret and store it with its expiry',
    passes: false,
    steps: renewal,
  },
  ENTRA_APP_NOT_FOUND: {
    said: '`AADSTS700016`',
    summary: '`CLIENT_ID` / `TENANT_ID` wrong, or no consent in this tenant',
    passes: false,
    steps: () => [
      {
        say:
          "Check CLIENT_ID (the Application (client) ID) and TENANT_ID (the Directory (tenant) ID) on the app registration's Overview page; " +
          'a multi-tenant app also needs admin consent in this tenant.',
      },
    ],
  },
  ENTRA_TENANT_NOT_FOUND: {
    said: '`AADSTS90002`, `AADSTS90023` / `endpoints_resolution_error`',
    summary: '`TENANT_ID` wrong, or `AZURE_AUTHORITY_HOST` unreachable',
    passes: false,
    steps: () => [
      { say: 'Set TENANT_ID to the Directory (tenant) ID of the tenant that holds the app registration and the mailbox.' },
      { say: 'Check AZURE_AUTHORITY_HOST (unset for the public cloud, set for a sovereign one) and outbound HTTPS to it.' },
    ],
  },
  ENTRA_CONSENT_MISSING: {
    said: '`AADSTS65001`, or a token without the `IMAP.AccessAsApp` role (doctor)',
    summary: 'grant admin consent for `IMAP.AccessAsApp`',
    passes: false,
    steps: (f) => [
      {
        say:
          'Entra admin center > App registrations > your app > API permissions: add Office 365 Exchange Online > Application permissions > IMAP.AccessAsApp, ' +
          `then "Grant admin consent" for app ${f.clientId ?? '<client id>'} (from a shell: the Graph call to appRoleAssignedTo in docs/deploy.md step 2, ` +
          "not the Azure CLI's admin-consent, which fails in Cloud Shell).",
      },
      { say: 'A new token carries the role once consent is granted.' },
    ],
  },
  ENTRA_RESOURCE_NOT_FOUND: {
    said: '`AADSTS500011`',
    summary: 'the tenant has no Exchange Online',
    passes: false,
    steps: () => [
      { say: 'The tenant needs Exchange Online (a licence with it), and the app must request https://outlook.office365.com/.default.' },
      { say: "Check that Exchange Online's service principal exists:", run: [`az ad sp show --id ${run.EXCHANGE_APP_ID}`] },
    ],
  },
  ENTRA_ASSERTION_INVALID: {
    said: '`AADSTS700027`, `7000218`, `700024`, `70021`, … (certificate or federated assertion)',
    summary: 'upload the certificate\'s public part to the app registration; for federated, check the federated credential',
    passes: false,
    steps: (f) =>
      f.credentialType === 'federated'
        ? [
            {
              say:
                "Check the app registration's federated credential: issuer <authority>/<tenant>/v2.0, subject the object (principal) ID of the managed identity " +
                `${f.managedIdentityClientId ?? '<managed identity>'}, audience api://AzureADTokenExchange:`,
              run: [`az ad app federated-credential list --id ${f.clientId ?? '<client id>'}`],
            },
          ]
        : f.credentialType === 'certificate'
          ? [{ say: `Upload the public part of Key Vault certificate "${f.credentialName ?? '<certificate name>'}" to the app registration:`, run: run.certificateUpload(f) }]
          : [{ say: "The credential read from Key Vault is empty or not the app's: check the secret's value and the app registration's credentials." }],
  },
  ENTRA_UNAVAILABLE: passing('`AADSTS90033`, 429 / 5xx after the SDK\'s retries', 'nothing: the next run tries again', NEXT_RUN, 'If it persists, see https://status.azure.com.'),
  ENTRA_TOKEN_MISMATCH: {
    said: 'the token is not a JWT for Exchange Online, or not the configured app\'s (doctor)',
    summary: '`AZURE_AUTHORITY_HOST`, `TENANT_ID`, `CLIENT_ID`; no proxy answering for Entra ID',
    passes: false,
    steps: (f) => [
      {
        say:
          `The token was requested for https://outlook.office365.com/.default by app ${f.clientId ?? '<client id>'} in tenant ${f.tenantId ?? '<tenant id>'}: ` +
          "check AZURE_AUTHORITY_HOST (unset for the public cloud; it must be Entra ID's host for your cloud), TENANT_ID and CLIENT_ID, and that no proxy answers for Entra ID.",
      },
    ],
  },
  ENTRA_TOKEN_FAILED: {
    said: 'any other AADSTS code, or no token',
    summary: 'look the AADSTS code up; check `TENANT_ID`, `CLIENT_ID` and the credential',
    passes: false,
    steps: () => [{ say: 'Look up the AADSTS code at https://login.microsoftonline.com/error; check TENANT_ID, CLIENT_ID and the credential in Key Vault.' }],
  },
};
