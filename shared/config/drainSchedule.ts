/**
 * The timer schedule, read at function registration (before a drain's full
 * validation), by the same declaration as every other setting. A schedule the
 * host would refuse fails here, with our words and the fix (the host's would
 * fail indexing as "The schedule expression ... was not recognized"), as
 * SETTINGS_INVALID.
 */
import { z } from 'zod';
import { parseSettings } from './parseSettings.js';
import { settingsSchema } from './settingsSchema.js';

const scheduleOnly = z.object({ DRAIN_SCHEDULE: settingsSchema.shape.DRAIN_SCHEDULE });

export function drainSchedule(env: NodeJS.ProcessEnv = process.env): string {
  return parseSettings(scheduleOnly, env).DRAIN_SCHEDULE;
}
