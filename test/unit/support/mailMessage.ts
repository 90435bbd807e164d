/** A valid queue message to start from, for tests that need one without a drain. */
import { messageKey, SCHEMA_VERSION, type MailMessage } from '../../../shared/contract/queueMessage.js';

const HASH = 'a'.repeat(64);

export function mailMessage(overrides: Partial<MailMessage> = {}): MailMessage {
  return {
    schemaVersion: SCHEMA_VERSION,
    id: messageKey('invoices@contoso.com', 'INBOX', 7, 42),
    mailbox: 'invoices@contoso.com',
    folder: 'INBOX',
    uid: 42,
    uidValidity: 7,
    messageId: '<m1@fabrikam.com>',
    receivedAt: '2026-01-02T03:04:05.000Z',
    date: '2026-01-02T03:04:00.000Z',
    subject: 'Invoice 1001',
    from: [{ name: 'Fabrikam Billing', address: 'billing@fabrikam.com' }],
    to: [{ name: '', address: 'invoices@contoso.com' }],
    cc: [],
    replyTo: [],
    inReplyTo: null,
    references: [],
    text: 'Please find the invoice attached.',
    html: null,
    attachments: [
      {
        filename: 'invoice-1001.pdf',
        contentType: 'application/pdf',
        size: 1234,
        sha256: HASH,
        contentId: null,
        inline: false,
        blobUrl: 'https://a.blob.core.windows.net/c/messages/x/attachments/0-invoice-1001.pdf',
      },
    ],
    raw: { blobUrl: 'https://a.blob.core.windows.net/c/messages/x/raw.eml', size: 4321, sha256: HASH },
    ...overrides,
  };
}
