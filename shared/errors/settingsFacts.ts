import type { Settings } from '../config/settings.js';
import type { Facts } from './facts.js';

/** The settings an error's facts come from; any of them may be missing. */
export type FactSource = Partial<
  Pick<Settings, 'tenantId' | 'clientId' | 'mailbox' | 'folder' | 'keyVaultUrl' | 'credential' | 'imap' | 'managedIdentityClientId' | 'runsIn'>
>;

/** The facts a remedy may need, taken from the settings: names and IDs, never a secret. */
export function settingsFacts(settings: FactSource): Facts {
  const { credential } = settings;
  const facts: Facts = {
    tenantId: settings.tenantId,
    clientId: settings.clientId,
    mailbox: settings.mailbox,
    folder: settings.folder,
    host: settings.imap?.host,
    port: settings.imap?.port,
    vaultUrl: settings.keyVaultUrl || undefined,
    vault: vaultName(settings.keyVaultUrl),
    credentialType: credential?.type,
    credentialName: credential?.type === 'secret' ? credential.secretName : credential?.type === 'certificate' ? credential.certificateName : undefined,
    managedIdentityClientId: settings.managedIdentityClientId ?? (credential?.type === 'federated' ? credential.managedIdentityClientId : undefined),
    runsIn: settings.runsIn,
  };
  return Object.fromEntries(Object.entries(facts).filter(([, value]) => value !== undefined && value !== '')) as Facts;
}

/** A vault's name is the first label of its host: https://kv.vault.azure.net/ is "kv". */
function vaultName(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).hostname.split('.')[0] || undefined;
  } catch {
    return undefined;
  }
}
