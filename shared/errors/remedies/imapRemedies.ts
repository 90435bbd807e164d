/** Remedies for Exchange Online's (the IMAP server's) answers. */
import type { DrainErrorCode } from '../errors.js';
import * as run from '../commands.js';
import { passing, type Remedy } from './remedy.js';

const ENTERPRISE_APP =
  "with the object ID of the Enterprise application (Entra admin center > Enterprise applications > your app > Object ID; not the app registration's object ID)";

export const IMAP_REMEDIES: Record<Extract<DrainErrorCode, `IMAP_${string}`>, Remedy> = {
  IMAP_AUTH_FAILED: {
    said: '`NO AUTHENTICATE failed`',
    summary: '`IMAP.AccessAsApp` with admin consent; `New-ServicePrincipal` with the **Enterprise application\'s** object ID; `Add-MailboxPermission`',
    passes: false,
    steps: (f) => [
      { say: 'Check, in order: the app registration has the application permission Office 365 Exchange Online > IMAP.AccessAsApp with admin consent granted;' },
      { say: `the Exchange service principal exists and the mailbox permission is granted (Exchange Online PowerShell, ${ENTERPRISE_APP}):`, run: run.exchangeSetup(f) },
      { say: "MAILBOX is the mailbox's primary address." },
    ],
  },
  IMAP_MAILBOX_NOT_CONNECTED: {
    said: '`BAD User is authenticated but not connected`',
    summary: '`Add-MailboxPermission -Identity <mailbox> -User <enterprise app object id> -AccessRights FullAccess` (can take up to an hour to apply)',
    passes: false,
    steps: (f) => [
      { say: `Grant the app access to the mailbox in Exchange Online PowerShell, ${ENTERPRISE_APP}:`, run: run.exchangeSetup(f) },
      { say: 'Changes can take up to an hour to apply.' },
    ],
  },
  IMAP_TOKEN_EXPIRED: passing('`BYE … AccessTokenExpired`', 'nothing: the next run gets a new token', 'Nothing to do: the next run gets a new token.', 'If this repeats, shorten the run (fewer messages per run).'),
  IMAP_THROTTLED: passing(
    '`Request is throttled. Suggested Backoff Time: N milliseconds`',
    'nothing: the next run continues; run less often if it persists',
    'Nothing to do: the next run continues.',
    'If it persists, run less often (DRAIN_SCHEDULE) or check other clients of the same mailbox.',
  ),
  IMAP_TLS: {
    said: 'the server\'s certificate cannot be verified',
    summary: '`IMAP_HOST` (`outlook.office365.com`), no TLS-intercepting proxy; a private CA through `NODE_EXTRA_CA_CERTS`',
    passes: false,
    steps: () => [{ say: 'Check IMAP_HOST (Exchange Online: outlook.office365.com) and that no proxy intercepts TLS; a private CA must be trusted through NODE_EXTRA_CA_CERTS.' }],
  },
  IMAP_UNREACHABLE: {
    said: '`ENOTFOUND`, `ECONNREFUSED`, `CONNECT_TIMEOUT`, … when connecting',
    summary: '`IMAP_HOST` / `IMAP_PORT` (`outlook.office365.com:993`), outbound 993 open',
    passes: false,
    steps: () => [{ say: 'Check IMAP_HOST and IMAP_PORT (Exchange Online: outlook.office365.com, 993, implicit TLS) and that outbound port 993 is open.' }],
  },
  IMAP_CONNECTION_LOST: passing(
    '`ECONNRESET`, imapflow\'s `NoConnection`, `ETIMEOUT` during the session',
    'nothing: the drain reconnects, and what is left waits for the next run',
    'Nothing to do: the drain reconnects once with a new token, and what is left waits for the next run.',
    'If it repeats, check the network path to IMAP_HOST (proxies, idle timeouts).',
  ),
  IMAP_FOLDER_NOT_FOUND: {
    said: 'SELECT fails and LIST does not show the folder (`NONEXISTENT`)',
    summary: '`MAIL_FOLDER` must be an existing folder path',
    passes: false,
    steps: () => [{ say: 'Set MAIL_FOLDER to an existing folder path, e.g. INBOX or INBOX/Invoices.' }],
  },
  IMAP_UIDVALIDITY_CHANGED: passing(
    'UIDVALIDITY changed during the drain',
    'nothing: the next run drains the folder afresh',
    'Nothing to do: the next run drains the folder afresh; messages already handed off but not settled are handed off again under new ids.',
  ),
  IMAP_CAPABILITY_MISSING: {
    said: 'the server lacks UIDPLUS (for `delete`) or MOVE and UIDPLUS (for `move`)',
    summary: '`AFTER_PROCESSING=flag`, or a server with UIDPLUS (Exchange Online has it)',
    passes: false,
    steps: () => [{ say: 'Set AFTER_PROCESSING=flag (marks handed-off messages \\Seen, expunges nothing), or use a server that supports UIDPLUS (RFC 4315), as Exchange Online does.' }],
  },
  IMAP_MESSAGE_UNREADABLE: passing(
    'a FETCH came back without the message\'s body',
    'nothing: it stays, and after `MAX_ATTEMPTS` it is quarantined and moved to `FAILED_FOLDER`',
    'Nothing to do: the message stays in the mailbox; if the server keeps refusing it, it is quarantined after MAX_ATTEMPTS runs (moved to FAILED_FOLDER).',
  ),
  IMAP_FAILED: {
    said: 'any other IMAP failure',
    summary: '`LOG_LEVEL=debug` shows the IMAP conversation',
    passes: false,
    steps: () => [{ say: 'Run again with LOG_LEVEL=debug to see the IMAP conversation.' }],
  },
};
