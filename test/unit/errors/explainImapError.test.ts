/** imapflow 2.1.2's own codes and flags, and the few texts only Exchange says, each to its code. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { explainImapError } from '../../../shared/errors/explainImapError.js';

const settings = { mailbox: 'invoices@contoso.example', folder: 'INBOX', clientId: 'app-id', imap: { host: 'outlook.office365.com', port: 993 } };
const imapflow = (props: Record<string, unknown>, message = 'Command failed') => Object.assign(new Error(message), props);
const codeOf = (error: unknown) => explainImapError(error, settings).code;

test("imapflow's marks decide the code", () => {
  assert.equal(codeOf(imapflow({ code: 'ETHROTTLE', throttleReset: 1200 })), 'IMAP_THROTTLED');
  assert.equal(codeOf(imapflow({ authenticationFailed: true, responseText: 'AUTHENTICATE failed.' })), 'IMAP_AUTH_FAILED');
  assert.equal(codeOf(imapflow({ tlsFailed: true })), 'IMAP_TLS');
  assert.equal(codeOf(imapflow({ mailboxMissing: true, responseStatus: 'NO' })), 'IMAP_FOLDER_NOT_FOUND');
  assert.equal(codeOf(imapflow({ serverResponseCode: 'NONEXISTENT' })), 'IMAP_FOLDER_NOT_FOUND');
  for (const code of ['NoConnection', 'EConnectionClosed', 'StateLogout', 'ETIMEOUT', 'ECONNRESET', 'EPIPE']) {
    assert.equal(codeOf(imapflow({ code })), 'IMAP_CONNECTION_LOST', code);
  }
  for (const code of ['ENOTFOUND', 'ECONNREFUSED', 'EHOSTUNREACH', 'CONNECT_TIMEOUT', 'GREETING_TIMEOUT', 'ClosedAfterConnectTLS']) {
    assert.equal(codeOf(imapflow({ code })), 'IMAP_UNREACHABLE', code);
  }
  for (const code of ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'ERR_TLS_CERT_ALTNAME_INVALID']) {
    assert.equal(codeOf(imapflow({ code })), 'IMAP_TLS', code);
  }
  assert.equal(codeOf(imapflow({ code: 'UnexpectedTag' })), 'IMAP_FAILED');
});

test('the throttle wait comes from throttleReset, or from Exchange\'s text in a BYE', () => {
  assert.equal(explainImapError(imapflow({ code: 'ETHROTTLE', throttleReset: 1200 }), settings).retryAfterMs, 1200);
  const bye = imapflow({ code: 'NoConnection', reason: 'Request is throttled. Suggested Backoff Time: 92415 milliseconds' }, 'Connection not available');
  const error = explainImapError(bye, settings);
  assert.equal(error.code, 'IMAP_THROTTLED', 'the BYE reason wins over NoConnection');
  assert.equal(error.retryAfterMs, 92415);
  assert.match(error.message, /it asks to wait 92415 ms/);
  assert.equal(error.passes, true);
});

test("Exchange's own texts are matched where imapflow has no mark for them", () => {
  const expired = imapflow({ code: 'NoConnection', reason: 'Session invalidated - AccessTokenExpired' });
  assert.equal(codeOf(expired), 'IMAP_TOKEN_EXPIRED');
  const notConnected = imapflow({ responseText: 'User is authenticated but not connected.', responseStatus: 'BAD' });
  const error = explainImapError(notConnected, settings);
  assert.equal(error.code, 'IMAP_MAILBOX_NOT_CONNECTED');
  assert.match(error.remedy, /Add-MailboxPermission -Identity invoices@contoso\.example -User <enterprise-app-object-id> -AccessRights FullAccess/);
  assert.equal(error.passes, false);
});

test('the text "AUTHENTICATE failed" alone is not taken for an authentication failure: imapflow marks those', () => {
  assert.equal(codeOf(imapflow({}, 'AUTHENTICATE failed')), 'IMAP_FAILED');
});
