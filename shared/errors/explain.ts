/**
 * Turns what Entra ID, Key Vault, Exchange Online and Storage answer into a
 * `DrainError` with a stable code and the operator's remedy.
 *
 * Entra errors are recognised by their AADSTS number, never by description text
 * (Microsoft rewords descriptions); Exchange gives no codes, so its few fixed
 * response texts are matched instead.
 */
import { DrainError, type DrainErrorCode } from './errors.js';
import { credentialName, type Settings } from '../config/settings.js';

type Context = Pick<Settings, 'tenantId' | 'clientId' | 'mailbox' | 'keyVaultUrl' | 'credential' | 'imap' | 'folder'> &
  Partial<Pick<Settings, 'managedIdentityClientId' | 'runsIn'>>;

const EXCHANGE_APP_ID = '00000002-0000-0ff1-ce00-000000000000';

function vaultName(ctx: Context): string {
  return ctx.keyVaultUrl ? (new URL(ctx.keyVaultUrl).hostname.split('.')[0] ?? ctx.keyVaultUrl) : '<vault>';
}

function exchangeSetup(ctx: Context): string {
  return (
    'In Exchange Online PowerShell (Connect-ExchangeOnline), with the object ID of the Enterprise application ' +
    '(Entra admin center > Enterprise applications > your app > Object ID; not the app registration\'s object ID): ' +
    `New-ServicePrincipal -AppId ${ctx.clientId} -ObjectId <enterprise-app-object-id>; ` +
    `Add-MailboxPermission -Identity ${ctx.mailbox} -User <enterprise-app-object-id> -AccessRights FullAccess`
  );
}

/** The AADSTS numbers in an @azure/identity / MSAL error, wherever the SDK put them. */
export function aadstsCodes(error: unknown): number[] {
  const found = new Set<number>();
  const visit = (value: unknown, depth: number) => {
    if (depth > 4 || value === null || value === undefined) return;
    if (typeof value === 'string') {
      for (const m of value.matchAll(/AADSTS(\d{5,7})/g)) found.add(Number(m[1]));
      return;
    }
    if (typeof value !== 'object') return;
    const record = value as Record<string, unknown>;
    for (const key of ['errorCodes', 'error_codes']) {
      const codes = record[key];
      if (Array.isArray(codes)) for (const c of codes) if (Number.isFinite(Number(c))) found.add(Number(c));
    }
    for (const key of ['message', 'errorMessage', 'errorDescription', 'error_description', 'errorResponse', 'cause', 'errors']) {
      const child = record[key];
      if (Array.isArray(child)) child.forEach((c) => visit(c, depth + 1));
      else visit(child, depth + 1);
    }
  };
  visit(error, 0);
  return [...found];
}

/** An error from the token request for the mailbox scope. */
export function explainTokenError(error: unknown, ctx: Context): DrainError {
  if (error instanceof DrainError) return error;
  const codes = aadstsCodes(error);
  const has = (code: number) => codes.includes(code);
  const make = (code: DrainErrorCode, message: string, remedy: string) =>
    new DrainError(code, message, remedy, { cause: error });
  const name = credentialName(ctx);
  const vault = vaultName(ctx);

  if (has(7000215))
    return make(
      'ENTRA_SECRET_INVALID',
      `Entra ID rejected the client secret from Key Vault secret "${name}" (AADSTS7000215).`,
      'Store the secret\'s Value, not its Secret ID: in Entra admin center > App registrations > your app > ' +
        'Certificates & secrets, create a new client secret, copy its Value, then run ' +
        `az keyvault secret set --vault-name ${vault} --name ${name} --value '<secret value>' --expires <its expiry, e.g. 2027-06-30T00:00:00Z>`,
    );
  if (has(7000222))
    return make(
      'ENTRA_SECRET_EXPIRED',
      `The client secret of app ${ctx.clientId} has expired (AADSTS7000222).`,
      'Create a new client secret for the app registration and store its Value: ' +
        `az ad app credential reset --id ${ctx.clientId} --append --years 1 --query password -o tsv, then ` +
        `az keyvault secret set --vault-name ${vault} --name ${name} --value '<new value>' --expires <its expiry>. ` +
        'Consider CREDENTIAL_TYPE=certificate, which avoids shared secrets.',
    );
  if (has(700016))
    return make(
      'ENTRA_APP_NOT_FOUND',
      `No application with client ID ${ctx.clientId} exists in tenant ${ctx.tenantId} (AADSTS700016).`,
      'Check CLIENT_ID (the Application (client) ID) and TENANT_ID (the Directory (tenant) ID) on the app registration\'s Overview page; ' +
        'a multi-tenant app also needs admin consent in this tenant.',
    );
  // MSAL drops Entra's answer (AADSTS90002) when the tenant's metadata cannot be
  // fetched and reports endpoints_resolution_error: a wrong tenant or an unreachable host.
  if (/endpoints_resolution_error/.test(String((error as Error)?.message)))
    return make(
      'ENTRA_TENANT_NOT_FOUND',
      `Entra ID has no tenant ${ctx.tenantId}, or its host could not be reached (endpoints_resolution_error).`,
      'Set TENANT_ID to the Directory (tenant) ID of the tenant that holds the app registration and the mailbox; ' +
        'check AZURE_AUTHORITY_HOST (unset for the public cloud) and outbound HTTPS to it.',
    );
  if (has(90002) || has(90023))
    return make(
      'ENTRA_TENANT_NOT_FOUND',
      `Tenant ${ctx.tenantId} was not found (AADSTS${has(90002) ? 90002 : 90023}).`,
      'Set TENANT_ID to the Directory (tenant) ID of the tenant that holds the app registration and the mailbox; ' +
        'for a sovereign cloud also set AZURE_AUTHORITY_HOST.',
    );
  if (has(65001))
    return make(
      'ENTRA_CONSENT_MISSING',
      `App ${ctx.clientId} has no admin consent for its permissions (AADSTS65001).`,
      'Entra admin center > App registrations > your app > API permissions: add Office 365 Exchange Online > ' +
        `Application permissions > IMAP.AccessAsApp, then "Grant admin consent" for app ${ctx.clientId} (from a shell: the Graph call to appRoleAssignedTo in docs/deploy.md step 2, not the Azure CLI's admin-consent, which fails in Cloud Shell).`,
    );
  if (has(500011))
    return make(
      'ENTRA_RESOURCE_NOT_FOUND',
      `Tenant ${ctx.tenantId} has no service principal for Office 365 Exchange Online (AADSTS500011).`,
      'The tenant needs Exchange Online (a licence with it), and the app must request https://outlook.office365.com/.default. ' +
        `Check with: az ad sp show --id ${EXCHANGE_APP_ID}`,
    );
  // 700027/700024/7000218/700023: certificate assertions; 70021/700211/700212/700213/50013: federated ones.
  if ([700027, 700024, 7000218, 700023, 70021, 700211, 700212, 700213, 50013].some(has))
    return make(
      'ENTRA_ASSERTION_INVALID',
      `Entra ID rejected the app's client assertion (AADSTS${codes.join(', AADSTS')}).`,
      ctx.credential.type === 'federated'
        ? `Check the app registration's federated credential: issuer ${'<authority>/<tenant>/v2.0'}, subject = the object (principal) ID of the ` +
            `managed identity ${ctx.credential.managedIdentityClientId}, audience api://AzureADTokenExchange ` +
            `(az ad app federated-credential list --id ${ctx.clientId}).`
        : ctx.credential.type === 'certificate'
        ? `Upload the public part of Key Vault certificate "${name}" to the app registration: ` +
            `az keyvault certificate download --vault-name ${vault} --name ${name} --file app.cer --encoding DER && ` +
            `az ad app credential reset --id ${ctx.clientId} --cert @app.cer --append`
        : 'The credential read from Key Vault is empty or not the app\'s: check the secret\'s value and the app registration\'s credentials.',
    );
  // AADSTS90033 (temporarily_unavailable), and 429/5xx answers: Entra is throttling or down.
  const status = (error as { statusCode?: number })?.statusCode;
  if (has(90033) || /temporarily_unavailable|throttl/i.test(String((error as Error)?.message)) || status === 429 || (status ?? 0) >= 500)
    return make(
      'ENTRA_UNAVAILABLE',
      `Could not get a token: Entra ID is throttling or temporarily unavailable${codes.length ? ` (AADSTS${codes.join(', AADSTS')})` : ''}, after the SDK's retries.`,
      'Nothing to fix in the settings or the credential: the next run tries again. If it persists, see https://status.azure.com.',
    );
  return make(
    'ENTRA_TOKEN_FAILED',
    `Could not get a token for the mailbox from Entra ID${codes.length ? ` (AADSTS${codes.join(', AADSTS')})` : ''}: ${firstLine(error)}`,
    'Look up the AADSTS code at https://login.microsoftonline.com/error; check TENANT_ID, CLIENT_ID and the credential in Key Vault.',
  );
}

/** An error reading the app credential from Key Vault. */
export function explainKeyVaultError(error: unknown, ctx: Context): DrainError {
  if (error instanceof DrainError) return error;
  const e = error as { statusCode?: number; code?: string; name?: string; details?: { error?: { innerError?: { code?: string } } } };
  const name = credentialName(ctx);
  const vault = vaultName(ctx);
  const what = ctx.credential.type === 'secret' ? 'secret' : 'certificate';
  const make = (code: DrainErrorCode, message: string, remedy: string) =>
    new DrainError(code, message, remedy, { cause: error });

  // In the function app the managed identity is the only credential: its own words, and its own fix.
  if (ctx.runsIn === 'function' && (e.name === 'CredentialUnavailableError' || e.name === 'AuthenticationError')) {
    const identity = ctx.managedIdentityClientId ? `user-assigned identity ${ctx.managedIdentityClientId}` : 'system-assigned identity';
    return make(
      'KEYVAULT_FORBIDDEN',
      `The function app's managed identity (${identity}) could not get a token for Key Vault ${ctx.keyVaultUrl}: ${managedIdentityReason(error)}`,
      ctx.managedIdentityClientId
        ? `Assign the identity to the function app (az functionapp identity assign --name <app> --resource-group <group> --identities <identity resource ID>) ` +
            'and set AZURE_CLIENT_ID to its client ID, not its object (principal) ID; infra/main.bicep does both.'
        : 'Turn on the function app\'s system-assigned identity (az functionapp identity assign --name <app> --resource-group <group>), ' +
            'or set AZURE_CLIENT_ID to the client ID of its user-assigned identity.',
    );
  }
  if (e.name === 'CredentialUnavailableError' || e.name === 'AggregateAuthenticationError')
    return make(
      'KEYVAULT_FORBIDDEN',
      `No identity was available to read Key Vault ${ctx.keyVaultUrl}: ${firstLine(error)}`,
      'In Azure, give the function app its managed identity and set AZURE_CLIENT_ID to the client ID of the user-assigned identity; ' +
        'on a workstation, sign in with az login.',
    );
  if (e.statusCode === 404)
    return make(
      'KEYVAULT_NOT_FOUND',
      `Key Vault ${ctx.keyVaultUrl} has no ${what} named "${name}".`,
      ctx.credential.type === 'secret'
        ? `Store the client secret: az keyvault secret set --vault-name ${vault} --name ${name} --value '<secret value>' --expires <its expiry>, or correct CLIENT_SECRET_NAME.`
        : `Import the certificate: az keyvault certificate import --vault-name ${vault} --name ${name} --file app.pem, or correct CLIENT_CERTIFICATE_NAME.`,
    );
  if (e.statusCode === 403 && /disabled/i.test(e.details?.error?.innerError?.code ?? e.code ?? ''))
    return make(
      'KEYVAULT_FORBIDDEN',
      `The ${what} "${name}" in Key Vault ${ctx.keyVaultUrl} is disabled.`,
      `Enable it: az keyvault secret set-attributes --vault-name ${vault} --name ${name} --enabled true`,
    );
  if (e.statusCode === 401 || e.statusCode === 403)
    return make(
      'KEYVAULT_FORBIDDEN',
      `The function's identity may not read ${what} "${name}" in Key Vault ${ctx.keyVaultUrl} (HTTP ${e.statusCode}).`,
      'Assign the role "Key Vault Secrets User" to the identity on the secret: ' +
        `az role assignment create --role "Key Vault Secrets User" --assignee <identity principal id> ` +
        `--scope $(az keyvault show --name ${vault} --query id -o tsv)/secrets/${name}. ` +
        'The vault must use Azure RBAC (not access policies); role assignments take a few minutes to apply.',
    );
  if (e.statusCode === 429 || (e.statusCode !== undefined && e.statusCode >= 500))
    return make(
      'KEYVAULT_UNAVAILABLE',
      `Key Vault ${ctx.keyVaultUrl} is ${e.statusCode === 429 ? 'throttling requests' : 'unavailable'} (HTTP ${e.statusCode}), after the SDK's retries.`,
      'Nothing to fix in the settings or the credential: the next run tries again. If it persists, check the vault\'s health ' +
        'in the Azure portal (Resource health) and whether other clients share its request limits.',
    );
  if (isNetworkError(error))
    return make(
      'KEYVAULT_UNREACHABLE',
      `Key Vault ${ctx.keyVaultUrl} could not be reached: ${firstLine(error)}`,
      'Check KEY_VAULT_URL, and that the vault\'s firewall or private endpoint lets the function app in.',
    );
  return make(
    'CREDENTIAL_INVALID',
    `Reading ${what} "${name}" from Key Vault failed: ${firstLine(error)}`,
    'Check KEY_VAULT_URL and the credential\'s name and content.',
  );
}

/** An error from the IMAP server or the connection to it. */
export function explainImapError(error: unknown, ctx: Context): DrainError {
  if (error instanceof DrainError) return error;
  // imapflow puts a server's BYE text in `reason` of the NoConnection error that follows it.
  // imapflow marks what it recognised: code ETHROTTLE with throttleReset, authenticationFailed, tlsFailed,
  // mailboxMissing. Those are trusted first; text is matched only for what only Exchange says.
  const e = error as {
    code?: string;
    responseText?: string;
    response?: unknown;
    reason?: string;
    authenticationFailed?: boolean;
    tlsFailed?: boolean;
    mailboxMissing?: boolean;
    throttleReset?: number;
    message?: string;
  };
  const text = [e.responseText, typeof e.response === 'string' ? e.response : '', e.reason, e.message].filter(Boolean).join(' ');
  const make = (code: DrainErrorCode, message: string, remedy: string) =>
    new DrainError(code, message, remedy, { cause: error });
  const server = `${ctx.imap.host}:${ctx.imap.port}`;

  if (/User is authenticated but not connected/i.test(text))
    return make(
      'IMAP_MAILBOX_NOT_CONNECTED',
      `Exchange accepted the app's token but the app may not open mailbox ${ctx.mailbox} ("User is authenticated but not connected").`,
      `Grant the app access to the mailbox: ${exchangeSetup(ctx)}. Changes can take up to an hour to apply.`,
    );
  if (/AccessTokenExpired/i.test(text))
    return make(
      'IMAP_TOKEN_EXPIRED',
      'Exchange ended the session because the access token expired (AccessTokenExpired).',
      'Nothing to do: the next run gets a new token. If this repeats, shorten the run (fewer messages per run).',
    );
  const suggested = /Request is throttled\. Suggested Backoff Time: (\d+) milliseconds/i.exec(text);
  if (e.code === 'ETHROTTLE' || suggested) {
    const wait = typeof e.throttleReset === 'number' ? e.throttleReset : suggested ? Number(suggested[1]) : undefined;
    return new DrainError(
      'IMAP_THROTTLED',
      `Exchange is throttling this mailbox${wait === undefined ? '' : `; it asks to wait ${wait} ms`}.`,
      'Nothing to do: the next run continues. If it persists, run less often (DRAIN_SCHEDULE) or check other clients of the same mailbox.',
      { cause: error, retryAfterMs: wait },
    );
  }
  if (e.authenticationFailed || /AUTHENTICATE failed/i.test(text))
    return make(
      'IMAP_AUTH_FAILED',
      `Exchange refused the app's token for mailbox ${ctx.mailbox} ("AUTHENTICATE failed").`,
      'Check, in order: the app registration has the application permission Office 365 Exchange Online > IMAP.AccessAsApp ' +
        'with admin consent granted; the Exchange service principal exists and the mailbox permission is granted: ' +
        `${exchangeSetup(ctx)}; MAILBOX is the mailbox's primary address.`,
    );
  if (e.tlsFailed || isTlsError(error))
    return make(
      'IMAP_TLS',
      `The TLS certificate of ${server} could not be verified: ${firstLine(error)}`,
      'Check IMAP_HOST (Exchange Online: outlook.office365.com) and that no proxy intercepts TLS; a private CA must be trusted through NODE_EXTRA_CA_CERTS.',
    );
  if (isNetworkError(error))
    return make(
      'IMAP_UNREACHABLE',
      `Could not connect to the IMAP server ${server}: ${firstLine(error)}`,
      'Check IMAP_HOST and IMAP_PORT (Exchange Online: outlook.office365.com, 993, implicit TLS) and that outbound port 993 is open.',
    );
  if (e.mailboxMissing || /NONEXISTENT/i.test(text))
    return make(
      'IMAP_FOLDER_NOT_FOUND',
      `Folder "${ctx.folder}" does not exist in mailbox ${ctx.mailbox}.`,
      'Set MAIL_FOLDER to an existing folder path, e.g. INBOX or INBOX/Invoices.',
    );
  return make('IMAP_FAILED', `The IMAP server ${server} failed: ${firstLine(error)}`, 'Run again with LOG_LEVEL=debug to see the IMAP conversation.');
}

/** An error from Azure Storage (queue or blob). */
export function explainStorageError(error: unknown, target: string): DrainError {
  if (error instanceof DrainError) return error;
  const e = error as { statusCode?: number; code?: string };
  const make = (code: DrainErrorCode, message: string, remedy: string) =>
    new DrainError(code, message, remedy, { cause: error });
  if (e.statusCode === 403 || e.statusCode === 401)
    return make(
      'STORAGE_FORBIDDEN',
      `Storage refused access to ${target} (HTTP ${e.statusCode}${e.code ? `, ${e.code}` : ''}).`,
      'Give the function\'s identity "Storage Queue Data Message Sender" on the queues and "Storage Blob Data Contributor" on the container ' +
        '(infra/main.bicep does), or check the connection string in OUTPUT_STORAGE.',
    );
  if (e.statusCode === 404)
    return make(
      'STORAGE_FAILED',
      `${target} does not exist (${e.code ?? 'HTTP 404'}).`,
      'Deploy infra/main.bicep, which creates the queues and the container, or create them; or correct OUTPUT_QUEUE / OUTPUT_CONTAINER.',
    );
  if ((error as Error)?.name === 'AbortError' || (error as Error)?.name === 'TimeoutError')
    return make(
      'STORAGE_UNREACHABLE',
      `Storage did not answer for ${target} in time; the call was abandoned.`,
      'The message stays in the mailbox and is retried on the next run; check the storage account\'s health and network path.',
    );
  if (isNetworkError(error))
    return make(
      'STORAGE_UNREACHABLE',
      `Storage could not be reached for ${target}: ${firstLine(error)}`,
      'Check OUTPUT_STORAGE (or its __queueServiceUri/__blobServiceUri) and the storage account\'s network rules.',
    );
  return make(
    'STORAGE_FAILED',
    `Handing off to ${target} failed: ${firstLine(error)}`,
    'The message stays in the mailbox and is retried on the next run; check the storage account\'s health.',
  );
}

const NETWORK_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE', 'NoConnection', 'ETIMEOUT', 'ClosedAfterConnectTLS', 'REQUEST_SEND_ERROR']);

function codeChain(error: unknown): string[] {
  const codes: string[] = [];
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, i = 0; e && i < 5; e = e.cause as typeof e, i++) {
    if (typeof e.code === 'string') codes.push(e.code);
  }
  return codes;
}

export function isNetworkError(error: unknown): boolean {
  return codeChain(error).some((c) => NETWORK_CODES.has(c));
}

function isTlsError(error: unknown): boolean {
  return codeChain(error).some((c) => /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS/.test(c));
}

/** What the managed identity endpoint said, from MSAL's "... - Description: <what> - Correlation ID: ..." when it is there. */
function managedIdentityReason(error: unknown): string {
  const description = /Description: (.+?)(?: - Correlation ID:|$)/m.exec(firstLine(error));
  return description?.[1]?.trim() || firstLine(error);
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split(/\r?\n/)[0] ?? message;
}
