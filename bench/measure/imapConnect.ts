/**
 * The plain imapflow client the baseline and the IMAP stage use: TLS to the
 * Dovecot (or proxy) given, AUTHENTICATE XOAUTH2 with a token the parent
 * issued. Not the product's session, so these yardsticks stay fixed while the
 * drain changes.
 */
import { ImapFlow } from 'imapflow';
import type { ChildConfig } from './childIo.js';

export async function connectImap(imap: NonNullable<ChildConfig['imap']>): Promise<ImapFlow> {
  const client = new ImapFlow({
    // Dovecot's certificate is for localhost, and the proxies listen on 127.0.0.1 (localhost here).
    host: imap.host,
    port: imap.port,
    secure: true,
    auth: { user: imap.user, accessToken: imap.accessToken },
    logger: false,
    disableAutoEnable: true,
  });
  client.on('error', (error: Error) => console.error(`IMAP: ${error.message}`));
  await client.connect();
  return client;
}
