/**
 * Entra ID's answer to the token request, as a DrainError. Entra errors are
 * recognised by their AADSTS number, never by description text (Microsoft
 * rewords descriptions).
 */
import { aadstsCodes } from './aadstsCodes.js';
import { firstLine } from './errorChain.js';
import { DrainError, type DrainErrorCode } from './errors.js';
import type { Facts } from './facts.js';

// 700027/700024/7000218/700023: certificate assertions; 70021/700211/700212/700213/50013: federated ones.
const ASSERTION_REJECTED = [700027, 700024, 7000218, 700023, 70021, 700211, 700212, 700213, 50013];

/** An error from the token request for the mailbox scope. */
export function explainTokenError(error: unknown, facts: Facts): DrainError {
  if (error instanceof DrainError) return error;
  const codes = aadstsCodes(error);
  const has = (code: number) => codes.includes(code);
  const make = (code: DrainErrorCode, message: string) => new DrainError(code, message, facts, { cause: error });
  const listed = codes.length ? ` (AADSTS${codes.join(', AADSTS')})` : '';
  const message = String((error as Error)?.message);

  if (has(7000215)) return make('ENTRA_SECRET_INVALID', `Entra ID rejected the client secret from Key Vault secret "${facts.credentialName}" (AADSTS7000215).`);
  if (has(7000222)) return make('ENTRA_SECRET_EXPIRED', `The client secret of app ${facts.clientId} has expired (AADSTS7000222).`);
  if (has(700016)) return make('ENTRA_APP_NOT_FOUND', `No application with client ID ${facts.clientId} exists in tenant ${facts.tenantId} (AADSTS700016).`);
  // MSAL drops Entra's answer (AADSTS90002) when the tenant's metadata cannot be
  // fetched and reports endpoints_resolution_error: a wrong tenant or an unreachable host.
  if (/endpoints_resolution_error/.test(message))
    return make('ENTRA_TENANT_NOT_FOUND', `Entra ID has no tenant ${facts.tenantId}, or its host could not be reached (endpoints_resolution_error).`);
  if (has(90002) || has(90023)) return make('ENTRA_TENANT_NOT_FOUND', `Tenant ${facts.tenantId} was not found (AADSTS${has(90002) ? 90002 : 90023}).`);
  if (has(65001)) return make('ENTRA_CONSENT_MISSING', `App ${facts.clientId} has no admin consent for its permissions (AADSTS65001).`);
  if (has(500011)) return make('ENTRA_RESOURCE_NOT_FOUND', `Tenant ${facts.tenantId} has no service principal for Office 365 Exchange Online (AADSTS500011).`);
  if (ASSERTION_REJECTED.some(has)) return make('ENTRA_ASSERTION_INVALID', `Entra ID rejected the app's client assertion${listed}.`);
  // AADSTS90033 (temporarily_unavailable), and 429/5xx answers: Entra is throttling or down.
  const status = (error as { statusCode?: number })?.statusCode;
  if (has(90033) || /temporarily_unavailable|throttl/i.test(message) || status === 429 || (status ?? 0) >= 500)
    return make('ENTRA_UNAVAILABLE', `Could not get a token: Entra ID is throttling or temporarily unavailable${listed}, after the SDK's retries.`);
  return make('ENTRA_TOKEN_FAILED', `Could not get a token for the mailbox from Entra ID${listed}: ${firstLine(error)}`);
}
