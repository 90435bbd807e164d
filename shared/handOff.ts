/**
 * Hands one fetched message off to downstream consumers: parse, store the raw
 * MIME and every attachment in Blob storage, then send the queue message.
 * The queue message goes last, so a consumer never sees a message whose blobs
 * are missing.
 */
import { describe } from './errors.js';
import type { FetchedMessage } from './mailbox.js';
import type { Outbox } from './outbox.js';
import { parseMessage, ParseError, type ParsedAttachment } from './parseMessage.js';
import { messageKey, SCHEMA_VERSION, type MailMessage } from './queueMessage.js';

export interface MailboxRef {
  mailbox: string;
  folder: string;
  uidValidity: number;
}

export type HandOffResult =
  | { outcome: 'handedOff'; uid: number; message: MailMessage; viaBlob: boolean }
  | { outcome: 'quarantined'; uid: number; id: string; reason: string; rawBlobUrl: string }
  | { outcome: 'failed'; uid: number; id: string; error: unknown };

/** Blob names for a message, all under its id. */
export const blobNames = {
  raw: (id: string) => `${id}/raw.eml`,
  attachment: (id: string, index: number, filename: string | null) =>
    `${id}/attachments/${index}${filename ? `-${safeName(filename)}` : ''}`,
  payload: (id: string) => `${id}/message.json`,
  quarantined: (id: string) => `quarantine/${id}/raw.eml`,
};

/**
 * Never throws: the outcome says whether the message may be settled
 * (handedOff), must be moved aside (quarantined, raw bytes kept), or must stay
 * in the mailbox for the next run (failed).
 */
export async function handOff(fetched: FetchedMessage, ref: MailboxRef, outbox: Outbox): Promise<HandOffResult> {
  const id = messageKey(ref.mailbox, ref.folder, ref.uidValidity, fetched.uid);
  try {
    const parsed = await parseMessage(fetched.source);
    const raw = await outbox.putBlob(blobNames.raw(id), fetched.source, 'message/rfc822');
    const attachments = await Promise.all(parsed.attachments.map((a, i) => storeAttachment(outbox, id, i, a)));
    const message: MailMessage = {
      schemaVersion: SCHEMA_VERSION,
      id,
      mailbox: ref.mailbox,
      folder: ref.folder,
      uid: fetched.uid,
      uidValidity: ref.uidValidity,
      messageId: parsed.messageId,
      receivedAt: fetched.receivedAt.toISOString(),
      date: parsed.date,
      subject: parsed.subject,
      from: parsed.from,
      to: parsed.to,
      cc: parsed.cc,
      replyTo: parsed.replyTo,
      inReplyTo: parsed.inReplyTo,
      references: parsed.references,
      text: parsed.text,
      html: parsed.html,
      attachments,
      raw,
    };
    const { viaBlob } = await outbox.send(message, blobNames.payload(id));
    return { outcome: 'handedOff', uid: fetched.uid, message, viaBlob };
  } catch (error) {
    if (!(error instanceof ParseError)) return { outcome: 'failed', uid: fetched.uid, id, error };
    return quarantine(fetched, id, describe(error), outbox);
  }
}

/** Keeps the raw bytes of a message that cannot be handed off; failing that, leaves it in the mailbox. */
async function quarantine(fetched: FetchedMessage, id: string, reason: string, outbox: Outbox): Promise<HandOffResult> {
  try {
    const stored = await outbox.putBlob(blobNames.quarantined(id), fetched.source, 'message/rfc822');
    return { outcome: 'quarantined', uid: fetched.uid, id, reason, rawBlobUrl: stored.blobUrl };
  } catch (error) {
    return { outcome: 'failed', uid: fetched.uid, id, error };
  }
}

async function storeAttachment(outbox: Outbox, id: string, index: number, attachment: ParsedAttachment) {
  const stored = await outbox.putBlob(blobNames.attachment(id, index, attachment.filename), attachment.content, attachment.contentType);
  return {
    filename: attachment.filename,
    contentType: attachment.contentType,
    size: stored.size,
    sha256: stored.sha256,
    contentId: attachment.contentId,
    inline: attachment.inline,
    blobUrl: stored.blobUrl,
  };
}

/** A file name safe as the last segment of a blob name (no path separators, no control characters). */
function safeName(filename: string): string {
  const cleaned = filename.replace(/[\\/\x00-\x1f\x7f?#%]+/g, '_').replace(/^\.+/, '_').slice(0, 200);
  return cleaned || 'attachment';
}
