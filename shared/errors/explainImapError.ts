/**
 * The IMAP server's answer (or the connection's failure), as a DrainError.
 *
 * imapflow 2.1.2 marks what it recognised, and those marks are trusted first:
 * `code` ETHROTTLE with `throttleReset`, `authenticationFailed`, `tlsFailed`,
 * `mailboxMissing`, `serverResponseCode`, and its connection codes
 * (NoConnection, EConnectionClosed, ETIMEOUT, CONNECT_TIMEOUT, ...). Text is
 * matched only for what only Exchange says, which imapflow does not mark; it
 * puts a server's BYE text in `reason` of the NoConnection error that follows.
 */
import { codeChain, firstLine } from './errorChain.js';
import { DrainError, type DrainErrorCode } from './errors.js';
import { settingsFacts, type FactSource } from './settingsFacts.js';

interface ImapFlowFailure {
  code?: string;
  responseText?: string;
  response?: unknown;
  reason?: string;
  message?: string;
  authenticationFailed?: boolean;
  tlsFailed?: boolean;
  mailboxMissing?: boolean;
  serverResponseCode?: string;
  throttleReset?: number;
}

// Exchange's own words, none of which imapflow marks.
const NOT_CONNECTED = /User is authenticated but not connected/i;
const TOKEN_EXPIRED = /AccessTokenExpired/i;
// imapflow parses this too, but only on a tagged BAD; in a BYE's reason it is text alone.
const THROTTLED = /Request is throttled\. Suggested Backoff Time: (\d+) milliseconds/i;

/** The server could not be reached or would not start a session: a setting or the network path. */
const CONNECT_FAILED = new Set([
  'ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT',
  'CONNECT_TIMEOUT', 'GREETING_TIMEOUT', 'UPGRADE_TIMEOUT', 'ClosedAfterConnectTLS', 'ClosedAfterConnectText',
]);
/** A session that was up went away: passes, the mailbox reconnects. */
const SESSION_LOST = new Set(['NoConnection', 'EConnectionClosed', 'StateLogout', 'ETIMEOUT', 'ECONNRESET', 'EPIPE']);
const TLS_CODE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS/;

/** An error from the IMAP server or the connection to it. */
export function explainImapError(error: unknown, settings: Pick<FactSource, 'mailbox' | 'folder' | 'clientId' | 'imap'>): DrainError {
  if (error instanceof DrainError) return error;
  const e = (error ?? {}) as ImapFlowFailure;
  const text = [e.responseText, typeof e.response === 'string' ? e.response : '', e.reason, e.message].filter(Boolean).join(' ');
  const facts = settingsFacts(settings);
  const codes = codeChain(error);
  const make = (code: DrainErrorCode, message: string, extra = {}) => new DrainError(code, message, { ...facts, ...extra }, { cause: error });
  const server = `${facts.host}:${facts.port}`;

  if (NOT_CONNECTED.test(text))
    return make('IMAP_MAILBOX_NOT_CONNECTED', `Exchange accepted the app's token but the app may not open mailbox ${facts.mailbox} ("User is authenticated but not connected").`);
  if (TOKEN_EXPIRED.test(text)) return make('IMAP_TOKEN_EXPIRED', 'Exchange ended the session because the access token expired (AccessTokenExpired).');
  const suggested = THROTTLED.exec(text);
  if (e.code === 'ETHROTTLE' || suggested) {
    const wait = typeof e.throttleReset === 'number' ? e.throttleReset : suggested ? Number(suggested[1]) : undefined;
    return make('IMAP_THROTTLED', `Exchange is throttling this mailbox${wait === undefined ? '' : `; it asks to wait ${wait} ms`}.`, { retryAfterMs: wait });
  }
  if (e.authenticationFailed) return make('IMAP_AUTH_FAILED', `Exchange refused the app's token for mailbox ${facts.mailbox} ("AUTHENTICATE failed").`);
  if (e.tlsFailed || codes.some((c) => TLS_CODE.test(c))) return make('IMAP_TLS', `The TLS certificate of ${server} could not be verified: ${firstLine(error)}`);
  if (codes.some((c) => CONNECT_FAILED.has(c))) return make('IMAP_UNREACHABLE', `Could not connect to the IMAP server ${server}: ${firstLine(error)}`);
  if (codes.some((c) => SESSION_LOST.has(c))) return make('IMAP_CONNECTION_LOST', `The connection to the IMAP server ${server} was lost: ${firstLine(error)}`);
  if (e.mailboxMissing || e.serverResponseCode === 'NONEXISTENT') return make('IMAP_FOLDER_NOT_FOUND', `Folder "${facts.folder}" does not exist in mailbox ${facts.mailbox}.`);
  return make('IMAP_FAILED', `The IMAP server ${server} failed: ${firstLine(error)}`);
}
