/**
 * The formats settings share, as zod string schemas whose messages are the
 * words SETTINGS_INVALID prints after the setting's name ("CLIENT_ID is not a GUID").
 */
import { z } from 'zod';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Key Vault object names: 1-127 alphanumerics and dashes.
const VAULT_OBJECT_NAME = /^[0-9a-zA-Z-]{1,127}$/;
// Azure Storage queue names: 3-63 lowercase letters, digits and single dashes; ours
// leave room for the "-poison" suffix of the poison queue.
const QUEUE_NAME = /^[a-z0-9](?!.*--)[a-z0-9-]{1,54}[a-z0-9]$/;
const CONTAINER_NAME = /^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/;

/** A string that `problem` finds nothing wrong with; its words are the message. */
const checkedBy = (problem: (value: string) => string | undefined) =>
  z.string().check((ctx) => {
    const found = problem(ctx.value);
    if (found) ctx.issues.push({ code: 'custom', message: found, input: ctx.value });
  });

const url = (value: string): URL | undefined => {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
};

export const settingFormats = {
  checkedBy,
  guid: () => z.string().regex(GUID, 'is not a GUID'),
  oneOf: <const T extends readonly [string, ...string[]]>(...allowed: T) =>
    z.enum(allowed, { error: `must be one of ${allowed.join(', ')}` }),
  httpsUrl: () =>
    checkedBy((value) => {
      const parsed = url(value);
      return !parsed ? 'is not a URL' : parsed.protocol === 'https:' ? undefined : 'must start with https://';
    }),
  /** http as well: Azurite and other emulators serve plain http on loopback. */
  storageUrl: () =>
    checkedBy((value) => {
      const parsed = url(value);
      return !parsed ? 'is not a URL' : ['https:', 'http:'].includes(parsed.protocol) ? undefined : 'is not an http(s) URL';
    }),
  vaultObjectName: (kind: 'secret' | 'certificate') => z.string().regex(VAULT_OBJECT_NAME, `is not a Key Vault ${kind} name`),
  queueName: () => z.string().regex(QUEUE_NAME, 'is not a valid queue name'),
  containerName: () => z.string().regex(CONTAINER_NAME, 'is not a valid container name'),
  mailAddress: () => z.string().regex(/^[^\s@]+@[^\s@]+$/, 'is not a mail address'),
  /** Digits only (no sign, no exponent, no decimals), from `min` to `max`, as a number. */
  wholeNumber: (min: number, max: number, problem: string) =>
    z
      .string()
      .check((ctx) => {
        if (!/^\d+$/.test(ctx.value) || +ctx.value < min || +ctx.value > max) {
          ctx.issues.push({ code: 'custom', message: problem, input: ctx.value });
        }
      })
      .transform(Number),
};
