/**
 * The few kinds of failure an operator can act on. Each carries a stable `code`
 * (for alerts and tests), a `remedy` in an operator's words, and the original
 * error as `cause`. Anything else is a bug and surfaces as itself.
 */

export type DrainErrorCode =
  | 'SETTINGS_INVALID'
  | 'KEYVAULT_FORBIDDEN'
  | 'KEYVAULT_NOT_FOUND'
  | 'KEYVAULT_UNREACHABLE'
  | 'KEYVAULT_UNAVAILABLE'
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
  | 'ENTRA_TOKEN_FAILED'
  | 'IMAP_AUTH_FAILED'
  | 'IMAP_MAILBOX_NOT_CONNECTED'
  | 'IMAP_TOKEN_EXPIRED'
  | 'IMAP_THROTTLED'
  | 'IMAP_TLS'
  | 'IMAP_UNREACHABLE'
  | 'IMAP_FOLDER_NOT_FOUND'
  | 'IMAP_UIDVALIDITY_CHANGED'
  | 'IMAP_CAPABILITY_MISSING'
  | 'IMAP_MESSAGE_UNREADABLE'
  | 'IMAP_FAILED'
  | 'STORAGE_FORBIDDEN'
  | 'STORAGE_UNREACHABLE'
  | 'STORAGE_FAILED';

export class DrainError extends Error {
  override readonly name = 'DrainError';

  /** How long the service asked us to wait before trying again, when it said. */
  readonly retryAfterMs?: number;

  constructor(
    readonly code: DrainErrorCode,
    message: string,
    readonly remedy: string,
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
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
