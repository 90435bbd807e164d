/**
 * The classifiers, one per service: each turns what Entra ID, Key Vault,
 * Exchange Online or Storage answered into a DrainError with a stable code and
 * the facts its remedy needs.
 */
export { explainTokenError } from './explainTokenError.js';
export { explainKeyVaultError } from './explainKeyVaultError.js';
export { explainImapError } from './explainImapError.js';
export { explainStorageError, type StorageTarget } from './explainStorageError.js';
export { aadstsCodes } from './aadstsCodes.js';
export { isNetworkError } from './isNetworkError.js';
