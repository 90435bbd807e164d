/**
 * What the drain needs from the host's configuration: the function timeout,
 * which bounds a timer run (the drain stops fetching in time to settle before it).
 * host.json says it; the app setting AzureFunctionsJobHost__functionTimeout
 * overrides it, as it overrides any host.json value.
 */
import { readFileSync } from 'node:fs';

/** Flex Consumption's default when host.json sets none: 30 minutes. */
export const DEFAULT_FUNCTION_TIMEOUT_MS = 30 * 60_000;

/**
 * The function timeout in ms: `override` (the app setting's value, when set), else
 * functionTimeout of host.json ("hh:mm:ss", or "-1" for none); undefined for no limit.
 */
export function functionTimeoutMs(hostJsonPath: URL | string, override?: string): number | undefined {
  let timeout: unknown = override;
  if (timeout === undefined) {
    try {
      timeout = (JSON.parse(readFileSync(hostJsonPath, 'utf8')) as { functionTimeout?: unknown }).functionTimeout;
    } catch {
      return DEFAULT_FUNCTION_TIMEOUT_MS;
    }
  }
  if (timeout === undefined) return DEFAULT_FUNCTION_TIMEOUT_MS;
  if (timeout === '-1' || timeout === -1) return undefined;
  const match = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})$/.exec(String(timeout));
  if (!match) return DEFAULT_FUNCTION_TIMEOUT_MS;
  const [, days, hours, minutes, seconds] = match.map((part) => Number(part ?? 0));
  return ((((days ?? 0) * 24 + hours!) * 60 + minutes!) * 60 + seconds!) * 1000;
}
