/**
 * The few kinds of failure an operator can act on. Each carries a stable `code`
 * (for alerts and tests), the facts its remedy needs (vault, mailbox, client
 * ID...), and the original error as `cause`. The remedy itself is data, in
 * remedies.ts, rendered only where output happens. Anything else is a bug and
 * surfaces as itself.
 */
import type { Facts } from './facts.js';
import { renderRemedy } from './renderRemedy.js';
import { REMEDIES } from './remedies.js';

export type DrainErrorCode =
  | 'SETTINGS_INVALID'
  | 'IDENTITY_UNAVAILABLE'
  | 'KEYVAULT_FORBIDDEN'
  | 'KEYVAULT_SECRET_DISABLED'
  | 'KEYVAULT_NOT_FOUND'
  | 'KEYVAULT_UNREACHABLE'
  | 'KEYVAULT_UNAVAILABLE'
  | 'KEYVAULT_FAILED'
  | 'CREDENTIAL_INVALID'
  | 'CREDENTIAL_EXPIRED'
  | 'CREDENTIAL_NOT_RSA'
  | 'ENTRA_SECRET_INVALID'
  | 'ENTRA_SECRET_EXPIRED'
  | 'ENTRA_APP_NOT_FOUND'
  | 'ENTRA_TENANT_NOT_FOUND'
  | 'ENTRA_CONSENT_MISSING'
  | 'ENTRA_RESOURCE_NOT_FOUND'
  | 'ENTRA_ASSERTION_INVALID'
  | 'ENTRA_UNAVAILABLE'
  | 'ENTRA_TOKEN_MISMATCH'
  | 'ENTRA_TOKEN_FAILED'
  | 'IMAP_AUTH_FAILED'
  | 'IMAP_MAILBOX_NOT_CONNECTED'
  | 'IMAP_TOKEN_EXPIRED'
  | 'IMAP_THROTTLED'
  | 'IMAP_TLS'
  | 'IMAP_UNREACHABLE'
  | 'IMAP_CONNECTION_LOST'
  | 'IMAP_FOLDER_NOT_FOUND'
  | 'IMAP_UIDVALIDITY_CHANGED'
  | 'IMAP_CAPABILITY_MISSING'
  | 'IMAP_MESSAGE_UNREADABLE'
  | 'IMAP_FAILED'
  | 'STORAGE_FORBIDDEN'
  | 'STORAGE_QUEUE_NOT_FOUND'
  | 'STORAGE_CONTAINER_NOT_FOUND'
  | 'STORAGE_UNREACHABLE'
  | 'STORAGE_FAILED'
  | 'CLAIM_CHECK_GONE'
  | 'BLOB_IDENTITY_MISSING'
  | 'STILL_TOO_LARGE'
  | 'STILL_UNPARSEABLE';

export class DrainError extends Error {
  override readonly name = 'DrainError';
  readonly facts: Readonly<Facts>;

  constructor(
    readonly code: DrainErrorCode,
    message: string,
    facts: Facts = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.facts = { ...facts };
  }

  /** How long the service asked us to wait before trying again, when it said. */
  get retryAfterMs(): number | undefined {
    return this.facts.retryAfterMs;
  }

  /** True when the failure passes by itself (the next run tries again); false when it needs a person. */
  get passes(): boolean {
    return REMEDIES[this.code].passes;
  }

  /** What to do, in one line of an operator's words, with this setup's names filled in. */
  get remedy(): string {
    return renderRemedy(this.code, this.facts);
  }

  /** Message and remedy in one text, as an operator reads it in a log. */
  explain(): string {
    return `[${this.code}] ${this.message}\n  What to do: ${this.remedy}`;
  }
}

export function isDrainError(error: unknown): error is DrainError {
  return error instanceof DrainError;
}

/** A short description of any thrown value, without stack, for log lines. */
export function describe(error: unknown): string {
  if (error instanceof DrainError) return error.explain();
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}
