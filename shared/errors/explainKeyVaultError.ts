/** Key Vault's answer (or the platform identity's) to reading the app credential, as a DrainError. */
import { firstLine } from './errorChain.js';
import { DrainError, type DrainErrorCode } from './errors.js';
import type { Facts } from './facts.js';
import { isNetworkError } from './isNetworkError.js';

interface KeyVaultFailure {
  statusCode?: number;
  code?: string;
  name?: string;
  details?: { error?: { innerError?: { code?: string } } };
}

/** An error reading the app credential from Key Vault. */
export function explainKeyVaultError(error: unknown, facts: Facts): DrainError {
  if (error instanceof DrainError) return error;
  const e = (error ?? {}) as KeyVaultFailure;
  const kind = facts.credentialType === 'certificate' ? 'certificate' : 'secret';
  const what = `${kind} "${facts.credentialName}"`;
  const vault = `Key Vault ${facts.vaultUrl}`;
  const make = (code: DrainErrorCode, message: string) => new DrainError(code, message, facts, { cause: error });

  // In the function app the managed identity is the only credential: its own words, and its own fix.
  if (facts.runsIn === 'function' && (e.name === 'CredentialUnavailableError' || e.name === 'AuthenticationError')) {
    const identity = facts.managedIdentityClientId ? `user-assigned identity ${facts.managedIdentityClientId}` : 'system-assigned identity';
    return make('IDENTITY_UNAVAILABLE', `The function app's managed identity (${identity}) could not get a token for ${vault}: ${managedIdentityReason(error)}`);
  }
  if (e.name === 'CredentialUnavailableError' || e.name === 'AggregateAuthenticationError')
    return make('IDENTITY_UNAVAILABLE', `No identity was available to read ${vault}: ${firstLine(error)}`);
  if (e.statusCode === 404) return make('KEYVAULT_NOT_FOUND', `${vault} has no ${kind} named "${facts.credentialName}".`);
  if (e.statusCode === 403 && /disabled/i.test(e.details?.error?.innerError?.code ?? e.code ?? ''))
    return make('KEYVAULT_SECRET_DISABLED', `The ${what} in ${vault} is disabled.`);
  if (e.statusCode === 401 || e.statusCode === 403)
    return make('KEYVAULT_FORBIDDEN', `The function's identity may not read ${what} in ${vault} (HTTP ${e.statusCode}).`);
  if (e.statusCode === 429 || (e.statusCode !== undefined && e.statusCode >= 500))
    return make('KEYVAULT_UNAVAILABLE', `${vault} is ${e.statusCode === 429 ? 'throttling requests' : 'unavailable'} (HTTP ${e.statusCode}), after the SDK's retries.`);
  if (isNetworkError(error)) return make('KEYVAULT_UNREACHABLE', `${vault} could not be reached: ${firstLine(error)}`);
  return make('KEYVAULT_FAILED', `Reading ${what} from ${vault} failed: ${firstLine(error)}`);
}

/** What the managed identity endpoint said, from MSAL's "... - Description: <what> - Correlation ID: ..." when it is there. */
function managedIdentityReason(error: unknown): string {
  const description = /Description: (.+?)(?: - Correlation ID:|$)/m.exec(firstLine(error));
  return description?.[1]?.trim() || firstLine(error);
}
