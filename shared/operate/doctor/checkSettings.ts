import { credentialName, type Settings } from '../../config/settings.js';
import { loadSettings } from '../../config/loadSettings.js';
import { scheduleTimeZoneNote } from '../../config/scheduleTimeZoneNote.js';
import { withSettingsFile } from '../../config/withSettingsFile.js';
import type { Passed } from './doctorStep.js';

type Env = Record<string, string | undefined>;

/** The settings, loaded as the drain loads them, and what they say in one line. */
export async function checkSettings(env: Env, settingsFile: string | undefined): Promise<Passed<Settings>> {
  const settings = loadSettings(settingsFile ? withSettingsFile(settingsFile, env) : env);
  const credential =
    settings.credential.type === 'federated'
      ? `federated (managed identity ${settings.credential.managedIdentityClientId})`
      : `${settings.credential.type} "${credentialName(settings)}"`;
  // The hours of a schedule are UTC hours in Azure; whoever wrote them may well have meant local time.
  const timeZone = scheduleTimeZoneNote(settings.schedule);
  return {
    value: settings,
    detail:
      `valid: tenant ${settings.tenantId}, app ${settings.clientId}, credential ${credential}, ` +
      `mailbox ${settings.mailbox} folder "${settings.folder}" on ${settings.imap.host}:${settings.imap.port}, ` +
      `queue ${settings.output.queueName}, container ${settings.output.containerName}` +
      (timeZone ? `\n${timeZone}` : ''),
  };
}
