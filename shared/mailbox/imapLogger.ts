/**
 * The shape imapflow expects of a logger (pino-like: one object per call),
 * private to the mailbox. imapflow's chatter goes to our debug level, redacted
 * like every line (the XOAUTH2 string is a registered secret). Its errors
 * (connection errors) reach the drain as exceptions, which it explains; the raw
 * ones are for debugging.
 */
import { format } from 'node:util';
import type { Logger } from '../errors/logger.js';

/**
 * imapflow reports a failed command only in a warning (and returns false from
 * the command): `{ err, cid }`, from its reportCommandError. Other warnings
 * ("Throttling detected", "Partial FETCH response") carry an `err` too, with a
 * `msg`: they are not the command's failure, and are not kept.
 */
function commandFailure(entry: unknown): unknown {
  if (typeof entry !== 'object' || entry === null) return undefined;
  const { err, msg } = entry as { err?: unknown; msg?: unknown };
  return msg === undefined ? err : undefined;
}

export function imapLogger(logger: Logger, onCommandError: (error: unknown) => void = () => {}) {
  return {
    trace: () => {},
    debug: (entry: unknown) => logger.debug(line(entry)),
    info: (entry: unknown) => logger.debug(line(entry)),
    warn: (entry: unknown) => {
      const error = commandFailure(entry);
      if (error) onCommandError(error);
      logger.debug(line(entry));
    },
    error: (entry: unknown) => logger.debug(line(entry)),
    fatal: (entry: unknown) => logger.error(line(entry)),
  };
}

function line(entry: unknown): string {
  if (typeof entry !== 'object' || entry === null) return format(entry);
  const { msg, src, ...rest } = entry as Record<string, unknown>;
  delete rest.cid;
  const direction = src === 's' ? 'S: ' : src === 'c' ? 'C: ' : '';
  const extra = Object.keys(rest).length > 0 ? ` ${safeJson(rest)}` : '';
  return `imap ${direction}${String(msg ?? '')}${extra}`;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
  } catch {
    return format(value);
  }
}
