/**
 * The one way settings are read from the environment: each setting a zod object
 * declares (settingsSchema.ts, or a part of it), trimmed, unset when empty.
 * Every problem is named at once, each with its fix, as one SETTINGS_INVALID,
 * the way the Azure SDK's credentials fail fast.
 */
import type { z } from 'zod';
import { DrainError } from '../errors/errors.js';
import { settingDocs } from './settingDoc.js';

export function parseSettings<Shape extends z.ZodRawShape>(schema: z.ZodObject<Shape>, env: NodeJS.ProcessEnv): z.output<z.ZodObject<Shape>> {
  const names = Object.keys(schema.shape);
  // An app setting cannot always be removed (a slot setting, a pipeline variable), only emptied: empty is unset.
  const input = Object.fromEntries(names.map((name) => [name, env[name]?.trim() || undefined]));
  const result = schema.safeParse(input);
  if (result.success) return result.data;

  // One line per setting (its first problem), in the declaration's order.
  const problems = new Map<string, string>();
  for (const issue of result.error.issues) {
    const name = String(issue.path[0]);
    if (problems.has(name)) continue;
    const fix = settingDocs.get(schema.shape[name]!)?.fix;
    const raw = input[name];
    problems.set(name, raw === undefined ? `${name} is missing: set it to ${fix}.` : `${name} ${issue.message} (got "${raw}"): set it to ${fix}.`);
  }
  const ordered = [...names.filter((name) => problems.has(name)), ...[...problems.keys()].filter((name) => !names.includes(name))];
  throw settingsInvalid(ordered.map((name) => problems.get(name)!));
}

function settingsInvalid(problems: string[]): DrainError {
  return new DrainError(
    'SETTINGS_INVALID',
    `${problems.length} setting${problems.length === 1 ? ' is' : 's are'} not valid:\n` + problems.map((p) => `  - ${p}`).join('\n'),
  );
}
