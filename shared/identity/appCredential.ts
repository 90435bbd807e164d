import type { AccessToken, TokenCredential } from '@azure/identity';
import type { Settings } from '../config/settings.js';
import { DrainError, type DrainErrorCode } from '../errors/errors.js';
import type { Facts } from '../errors/facts.js';
import type { Logger } from '../errors/logger.js';
import { renderRemedy } from '../errors/renderRemedy.js';
import { settingsFacts } from '../errors/settingsFacts.js';
import { credentialExpiry } from './credentialExpiry.js';
import { requestToken } from './requestToken.js';
import { readStoredCredential, type StoredCredential } from './storedCredential.js';
import { tokenCredential } from './tokenCredential.js';

/** How long a credential read from Key Vault is trusted before it is read again. */
export const CREDENTIAL_MAX_AGE_MS = 60 * 60_000;

// Entra's answers that mean "this credential is not (or no longer) the app's".
const REJECTED_CREDENTIAL: DrainErrorCode[] = ['ENTRA_SECRET_INVALID', 'ENTRA_SECRET_EXPIRED', 'ENTRA_ASSERTION_INVALID'];

/**
 * The app registration's credential, as read from Key Vault, and the tokens
 * for Exchange Online it buys. A credential Entra ID rejects is read again
 * once, so a rotated secret or certificate is picked up without a restart.
 */
export class AppCredential {
  private credential: TokenCredential;
  private readonly facts: Facts;

  private constructor(
    private readonly settings: Settings,
    private stored: StoredCredential,
  ) {
    this.credential = tokenCredential(settings, stored);
    this.facts = settingsFacts(settings);
  }

  /** Reads the credential from Key Vault (or, for federated, from nowhere). */
  static async load(settings: Settings, logger: Logger): Promise<AppCredential> {
    return new AppCredential(settings, await readStoredCredential(settings, logger));
  }

  /** When the stored secret or certificate stops working, if known. */
  get expiresOn(): Date | undefined {
    return this.stored.expiresOn;
  }

  isStale(now: number): boolean {
    return now - this.stored.loadedAt > CREDENTIAL_MAX_AGE_MS;
  }

  /**
   * An access token for Exchange Online. `fresh` bypasses the token cache (the
   * server said the last one expired).
   */
  async mailboxToken(logger: Logger, options: { fresh?: boolean } = {}): Promise<AccessToken> {
    if (options.fresh) this.credential = tokenCredential(this.settings, this.stored);
    try {
      return await requestToken(this.credential, this.facts, logger);
    } catch (error) {
      if (!(error instanceof DrainError) || !REJECTED_CREDENTIAL.includes(error.code) || this.stored.kind === 'federated') throw error;
      const reread = await readStoredCredential(this.settings, logger);
      if (reread.version !== undefined && reread.version === this.stored.version) throw error;
      logger.info(`Entra ID rejected the cached ${this.stored.kind}; using version ${reread.version ?? '?'} from Key Vault.`);
      this.stored = reread;
      this.credential = tokenCredential(this.settings, reread);
      return requestToken(this.credential, this.facts, logger);
    }
  }

  /**
   * Fails an expired credential before any request to Entra ID, and warns, on
   * every run, within CREDENTIAL_EXPIRY_WARNING_DAYS of the expiry.
   */
  checkExpiry(logger: Logger, warningDays: number, now: number): void {
    const { expiresOn } = this.stored;
    const expiry = credentialExpiry(expiresOn, now, warningDays);
    const what = `${this.stored.kind} "${this.facts.credentialName}"`;
    if (expiry.state === 'expired') {
      throw new DrainError('CREDENTIAL_EXPIRED', `The app's ${what} in Key Vault expired on ${expiresOn!.toISOString()}.`, this.facts);
    }
    if (expiry.state === 'soon') {
      // The warning's fix is the expired credential's remedy: the same commands, before it is too late.
      logger.warn(
        `The app's ${what} expires on ${expiresOn!.toISOString()} (in ${Math.floor(expiry.days)} days). ` +
          `Renew it before then: ${renderRemedy('CREDENTIAL_EXPIRED', this.facts)}`,
      );
    }
  }
}
