import { credentialName, type Settings } from '../../config/settings.js';
import { secretExpirySet } from '../../errors/commands.js';
import type { Logger } from '../../errors/logger.js';
import { REMEDIES } from '../../errors/remedies.js';
import { settingsFacts } from '../../errors/settingsFacts.js';
import { credentialExpiry, type AppCredential, type CredentialCache } from '../../identity/credential.js';
import type { Passed } from './doctorStep.js';

/** The app credential, read from Key Vault as the drain reads it, and how long it has left. */
export async function checkCredential(settings: Settings, logger: Logger, credentials: CredentialCache): Promise<Passed<AppCredential>> {
  // Fails an expired credential (CREDENTIAL_EXPIRED), as the drain does.
  const app = await credentials.get(settings, logger);
  if (settings.credential.type === 'federated') {
    return {
      value: app,
      notApplicable: true,
      detail:
        `CREDENTIAL_TYPE=federated reads nothing from Key Vault: the managed identity ` +
        `${settings.credential.managedIdentityClientId} is the app's credential`,
    };
  }
  const facts = settingsFacts(settings);
  const read = `read ${settings.credential.type} "${credentialName(settings)}" from ${settings.keyVaultUrl}`;
  const expiresOn = app.expiresOn;
  const expiry = credentialExpiry(expiresOn, Date.now(), settings.credentialExpiryWarningDays);
  if (expiry.state !== 'soon' && expiry.state !== 'later') {
    return {
      value: app,
      detail: `${read}; it has no expiry date in Key Vault, so no run can warn before it stops working`,
      steps: [{ say: 'Store its expiry with it:', run: [secretExpirySet(facts)] }],
    };
  }
  const days = Math.floor(expiry.days);
  const expires = `${read}, expires ${expiresOn!.toISOString().slice(0, 10)} (in ${days} day${days === 1 ? '' : 's'})`;
  return expiry.state === 'soon'
    ? { value: app, detail: `${expires}: renew it soon`, steps: REMEDIES.CREDENTIAL_EXPIRED.steps(facts) }
    : { value: app, detail: expires };
}
