/**
 * The control queue's name, read at function registration (the queue
 * trigger's binding names it), by the same declaration as every other setting.
 */
import { z } from 'zod';
import { parseSettings } from './parseSettings.js';
import { settingsSchema } from './settingsSchema.js';

const queueOnly = z.object({ DRAIN_REQUESTS_QUEUE: settingsSchema.shape.DRAIN_REQUESTS_QUEUE });

export function drainRequestsQueue(env: NodeJS.ProcessEnv = process.env): string {
  return parseSettings(queueOnly, env).DRAIN_REQUESTS_QUEUE;
}
