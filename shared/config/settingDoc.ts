/**
 * What is said about one setting besides its format: the README's words and the
 * fix an error message gives. Kept in a zod registry, so each entry of
 * settingsSchema.ts carries its documentation with its validation.
 */
import { z } from 'zod';

export interface SettingDoc {
  /** The README's "meaning" column, in Markdown. */
  meaning: string;
  /** What a valid value looks like; SETTINGS_INVALID says "set it to <fix>." */
  fix: string;
  /** What leaving it unset means, beyond a default value: "50 MB", "system-assigned identity". */
  whenUnset?: string;
  /**
   * The Functions host's own setting, which the code reads too (functionTimeoutSetting):
   * documented with ours, but the template deploys none, and loadSettings leaves it to the host.
   */
  hostSetting?: true;
}

export const settingDocs = z.registry<SettingDoc>();
