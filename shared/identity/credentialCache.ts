import type { Settings } from '../config/settings.js';
import type { Logger } from '../errors/logger.js';
import { AppCredential } from './appCredential.js';

/**
 * App credentials kept across runs by whoever creates the cache: the function
 * app keeps one for the life of the process, so a warm host reuses the
 * credential and its tokens; the command line, one per command. A credential is
 * read again from Key Vault after CREDENTIAL_MAX_AGE_MS, and after it expired.
 */
export class CredentialCache {
  private readonly credentials = new Map<string, AppCredential>();

  /** The app credential for these settings, checked against its expiry. */
  async get(settings: Settings, logger: Logger, now = Date.now()): Promise<AppCredential> {
    const key = JSON.stringify([settings.tenantId, settings.clientId, settings.authorityHost, settings.keyVaultUrl, settings.credential]);
    let app = this.credentials.get(key);
    if (!app || app.isStale(now)) {
      app = await AppCredential.load(settings, logger);
      this.credentials.set(key, app);
    }
    try {
      app.checkExpiry(logger, settings.credentialExpiryWarningDays, now);
    } catch (error) {
      this.credentials.delete(key); // read Key Vault again next run: the renewal may be there by then
      throw error;
    }
    return app;
  }
}
