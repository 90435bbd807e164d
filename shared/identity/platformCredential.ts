import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import type { Settings } from '../config/settings.js';
import { authorityOptions } from './authorityOptions.js';

/**
 * The identity that reads Key Vault and, with identity-based settings, Storage.
 * In the function app, the managed identity alone (AZURE_CLIENT_ID for a
 * user-assigned one): DefaultAzureCredential would go on, when it fails, to
 * developer credentials Flex Consumption does not have, and report all of them
 * instead of the identity's own error. On the command line,
 * DefaultAzureCredential: the developer's az login, or a VM's or container's identity.
 */
export function platformCredential(settings: Settings, clientId = settings.managedIdentityClientId): TokenCredential {
  if (settings.runsIn === 'function') return new ManagedIdentityCredential(clientId ? { clientId } : {});
  return new DefaultAzureCredential({
    ...authorityOptions(settings.authorityHost),
    ...(clientId ? { managedIdentityClientId: clientId } : {}),
  });
}
