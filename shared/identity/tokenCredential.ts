import { ClientAssertionCredential, ClientCertificateCredential, ClientSecretCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import type { Settings } from '../config/settings.js';
import { registerSecret } from '../errors/logger.js';
import { authorityOptions } from './authorityOptions.js';
import { TOKEN_EXCHANGE_SCOPE } from './scopes.js';
import type { StoredCredential } from './storedCredential.js';

/**
 * The app registration's credential as @azure/identity takes it: a client
 * secret, a certificate (the token request carries a signed client assertion),
 * or federated: the function's user-assigned managed identity gets a token for
 * api://AzureADTokenExchange and presents it as the app's client assertion.
 */
export function tokenCredential(settings: Settings, stored: StoredCredential): TokenCredential {
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
