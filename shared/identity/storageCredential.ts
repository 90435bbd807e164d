import type { TokenCredential } from '@azure/identity';
import type { Settings } from '../config/settings.js';
import { platformCredential } from './platformCredential.js';

/**
 * The identity the output Storage account is reached with, when its settings
 * are identity-based: OUTPUT_STORAGE__clientId names a user-assigned identity
 * of its own; otherwise the platform identity.
 */
export function storageCredential(settings: Settings): TokenCredential {
  const storage = settings.output.storage;
  return platformCredential(settings, storage.kind === 'identity' ? storage.clientId : undefined);
}
