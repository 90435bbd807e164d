/**
 * The declaration of settingsSchema.ts as a list, for what documents or checks
 * the settings rather than reads them: the README's table, the infra tests.
 */
import type { z } from 'zod';
import { settingDocs, type SettingDoc } from './settingDoc.js';
import { requiredWhen, settingsSchema, type SettingName } from './settingsSchema.js';

export interface DeclaredSetting extends SettingDoc {
  name: SettingName;
  /** The default, as the environment would spell it; undefined without one. */
  default?: string;
  /** `true`: always; a string: the README's words for when (requiredWhen); `false`: never. */
  required: boolean | string;
}

export const declaredSettings: readonly DeclaredSetting[] = Object.entries(settingsSchema.shape).map(([name, schema]) => {
  const doc = settingDocs.get(schema as z.ZodType);
  if (!doc) throw new Error(`${name} has no documentation: register it in settingDocs (settingsSchema.ts)`);
  // What an unset setting becomes is the schema's own answer: its default, nothing, or a failure.
  const unset = (schema as z.ZodType).safeParse(undefined);
  return {
    ...doc,
    name: name as SettingName,
    default: unset.success && unset.data !== undefined ? String(unset.data) : undefined,
    required: !unset.success || (requiredWhen[name as SettingName]?.says ?? false),
  };
});
