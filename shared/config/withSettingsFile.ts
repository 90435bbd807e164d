/**
 * The environment with the `Values` of a Functions settings file
 * (local.settings.json) laid over it: a file named on the command line wins.
 */
import { readFileSync } from 'node:fs';
import { DrainError } from '../errors/errors.js';

export function withSettingsFile(path: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  let values: unknown;
  try {
    values = (JSON.parse(readFileSync(path, 'utf8')) as { Values?: unknown }).Values;
  } catch (error) {
    throw new DrainError(
      'SETTINGS_INVALID',
      `Settings file ${path} could not be read: ${(error as Error).message}`,
      { settingsFile: path },
    );
  }
  if (typeof values !== 'object' || values === null) {
    throw new DrainError('SETTINGS_INVALID', `Settings file ${path} has no "Values" object.`, { settingsFile: path });
  }
  return { ...env, ...(values as NodeJS.ProcessEnv) };
}
