/**
 * The AzureFunctionsJobHost__functionTimeout app setting, when set: it overrides
 * host.json's functionTimeout (the host's AzureFunctionsJobHost__<path>
 * convention), so the drain's time budget must follow it. Declared with the
 * other settings (settingsSchema.ts) for the README; the host, not this code,
 * validates it.
 */
import type { SettingName } from './settingsSchema.js';

const FUNCTION_TIMEOUT_SETTING = 'AzureFunctionsJobHost__functionTimeout' satisfies SettingName;

export function functionTimeoutSetting(env: NodeJS.ProcessEnv = process.env): string | undefined {
  // The host reads its configuration case-insensitively, as .NET configuration does.
  const key = Object.keys(env).find((k) => k.toLowerCase() === FUNCTION_TIMEOUT_SETTING.toLowerCase());
  return (key && env[key]?.trim()) || undefined;
}
