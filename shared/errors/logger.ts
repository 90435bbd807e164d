/**
 * Logging for the drain, with every line redacted on its way out.
 *
 * A token, a client secret, a private key or the base64 XOAUTH2 string must
 * never appear in any log line at any level: secrets known at run time are
 * registered with `registerSecret`, and shapes that are secret whatever their
 * value (JWTs, PEM private keys, XOAUTH2 initial responses, bearer headers,
 * form-encoded client secrets and assertions) are masked by pattern.
 */
import { format } from 'node:util';
import { AzureLogger, setLogLevel } from '@azure/logger';
import type { LogLevel } from '../config/settings.js';

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Where lines go: the Functions context, the console, a test's array. */
export type LogSink = Record<LogLevel, (line: string) => void>;

const REDACTED = '[REDACTED]';
const LEVELS: LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** Registered secrets and when they stop mattering (epoch ms; Infinity for a stored credential). */
const secrets = new Map<string, number>();
/**
 * An expired token is forgotten this long after its expiry: long enough for any
 * line about the request that used it, short enough that a warm host renewing
 * its token hourly does not scan a growing list on every line.
 */
const FORGET_AFTER_EXPIRY_MS = 60 * 60_000;

/**
 * Masks `value` in every later log line; a token passes its expiry, after which
 * it is forgotten (JWTs stay masked by their shape). Short values would mask
 * ordinary words.
 */
export function registerSecret(value: string | undefined, expiresAt = Number.POSITIVE_INFINITY): void {
  const now = Date.now();
  for (const [secret, until] of secrets) if (until + FORGET_AFTER_EXPIRY_MS < now) secrets.delete(secret);
  if (value && value.length >= 8) {
    // The same secret also travels base64- and URL-encoded.
    for (const form of [value, Buffer.from(value).toString('base64'), encodeURIComponent(value)]) {
      secrets.set(form, Math.max(secrets.get(form) ?? 0, expiresAt));
    }
  }
}

const PATTERNS: RegExp[] = [
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g,
  // JWTs: access tokens, client assertions.
  /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g,
  // base64("user=") starts every XOAUTH2 initial response.
  /dXNlcj[0-9A-Za-z+/=]{8,}/g,
  /(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi,
  /((?:client_secret|client_assertion|access_token|refresh_token|password)["']?\s*[=:]\s*["']?)[^&\s"',}]+/gi,
];

/** The text with every registered secret and secret-shaped string masked. */
export function redact(text: string): string {
  let out = text;
  for (const secret of secrets.keys()) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  for (const pattern of PATTERNS) {
    out = out.replace(pattern, (match, prefix?: string) =>
      typeof prefix === 'string' && match.startsWith(prefix) ? `${prefix}${REDACTED}` : REDACTED,
    );
  }
  return out;
}

/**
 * What may leave the process as an error: a new Error whose message and stack went
 * through `redact`, as every log line does. The Functions host sends an error's
 * message and stack on to Application Insights, which the logger never sees.
 * `name` and a string `code` (DrainError's, for alerts) are kept; `cause` is not,
 * nor anything else of the original, whose text no one redacted.
 */
export function redactedError(error: unknown): Error {
  const original = error instanceof Error ? error : undefined;
  const safe = new Error(redact(original ? original.message : typeof error === 'string' ? error : format(error)));
  if (!original) return safe;
  safe.name = redact(original.name);
  const code = (original as { code?: unknown }).code;
  if (typeof code === 'string') Object.assign(safe, { code: redact(code) });
  // The original's stack says where it was thrown; without one, the new error's own will do.
  if (typeof original.stack === 'string') safe.stack = redact(original.stack);
  return safe;
}

/** A logger that drops lines below `level` and redacts the rest. */
export function createLogger(sink: LogSink, level: LogLevel = 'info'): Logger {
  const threshold = LEVELS.indexOf(level);
  const at = (lineLevel: LogLevel) => (message: string) => {
    if (LEVELS.indexOf(lineLevel) >= threshold) sink[lineLevel](redact(message));
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export const consoleSink: LogSink = {
  debug: (line) => console.error(line),
  info: (line) => console.error(line),
  warn: (line) => console.error(line),
  error: (line) => console.error(line),
};

/**
 * At debug level, the Azure SDK's own logs (token requests, Key Vault and
 * Storage calls) join ours, redacted like every other line. Only its "info"
 * level: the SDK logs secrets at "verbose", and we never go there.
 */
export function routeAzureSdkLogs(logger: Logger, level: LogLevel): void {
  if (level !== 'debug') {
    // The SDK's warnings are mostly about credentials DefaultAzureCredential skips: noise here.
    setLogLevel('error');
    AzureLogger.log = (...args: unknown[]) => logger.warn(`azure ${format(...args)}`);
    return;
  }
  setLogLevel('info');
  AzureLogger.log = (...args: unknown[]) => logger.debug(`azure ${format(...args)}`);
}
