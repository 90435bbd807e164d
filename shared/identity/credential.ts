/**
 * The app registration's credential and the app-only token for Exchange Online
 * it buys: the identity layer's public face.
 *
 * - `secret`: a client secret, read from Key Vault.
 * - `certificate`: a Key Vault certificate (PEM, or PKCS#12 converted to PEM).
 * - `federated`: no secret anywhere; the managed identity's token is the assertion.
 *
 * Key Vault (and identity-based Storage) is read with the platform identity
 * (platformCredential). The entry point creates a CredentialCache and passes it
 * down, so credentials and their tokens live exactly as long as it decides.
 */
export { AppCredential, CREDENTIAL_MAX_AGE_MS } from './appCredential.js';
export { authorityOptions } from './authorityOptions.js';
export { certificatePem } from './certificatePem.js';
export { CredentialCache } from './credentialCache.js';
export { credentialExpiry, type Expiry } from './credentialExpiry.js';
export { platformCredential } from './platformCredential.js';
export { EXCHANGE_AUDIENCE, EXCHANGE_SCOPE, IMAP_ROLE, TOKEN_EXCHANGE_SCOPE } from './scopes.js';
