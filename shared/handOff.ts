/**
 * Hands one fetched message off to downstream consumers: parse, store the raw
 * MIME and every attachment in Blob storage, then send the queue message.
 * The queue message goes last, so a consumer never sees a message whose blobs
 * are missing.
 *
 * A message that cannot be handed off is quarantined instead: its raw bytes,
 * untouched, go to `quarantine/<id>/raw.eml` and a poison queue message says
 * why. The drain then moves it to FAILED_FOLDER.
 */
import type { Readable } from 'node:stream';
import { describe } from './errors.js';
import type { FetchedMessage } from './mailbox.js';
import type { Outbox, StoredBlob } from './outbox.js';
import { parseMessage, ParseError, type ParsedAttachment } from './parseMessage.js';
import { messageKey, SCHEMA_VERSION, type MailMessage, type PoisonMessage } from './queueMessage.js';

export interface MailboxRef {
  mailbox: string;
  folder: string;
  uidValidity: number;
  /** Where quarantined messages are moved (FAILED_FOLDER). */
  failedFolder: string;
}

export type QuarantineReason = PoisonMessage['reason'];

export type HandOffResult =
  | { outcome: 'handedOff'; uid: number; message: MailMessage; viaBlob: boolean }
  | { outcome: 'quarantined'; uid: number; id: string; reason: QuarantineReason; detail: string; rawBlobUrl: string }
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
 * in the mailbox for the next run (failed). A message whose hand-off already
 * failed `maxAttempts` times is quarantined without another try.
 */
export async function handOff(
  fetched: FetchedMessage,
  ref: MailboxRef,
  outbox: Outbox,
  attempts: { previous: number; max: number },
): Promise<HandOffResult> {
  const id = messageKey(ref.mailbox, ref.folder, ref.uidValidity, fetched.uid);
  if (attempts.previous >= attempts.max) {
    const detail = `its hand-off failed ${attempts.previous} times (MAX_ATTEMPTS ${attempts.max})`;
    return quarantine(fetched.uid, id, ref, 'max-attempts', detail, outbox, (name) => outbox.putBlob(name, fetched.source, 'message/rfc822'));
  }
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
    return quarantine(fetched.uid, id, ref, 'unparseable', describe(error), outbox, (name) =>
      outbox.putBlob(name, fetched.source, 'message/rfc822'),
    );
  }
}

/** Quarantines a message too large to parse, streaming its bytes from the mailbox to Blob storage. */
export async function quarantineStream(
  uid: number,
  size: number,
  maxBytes: number,
  ref: MailboxRef,
  outbox: Outbox,
  stream: (sink: (content: Readable) => Promise<StoredBlob>) => Promise<StoredBlob>,
): Promise<HandOffResult> {
  const id = messageKey(ref.mailbox, ref.folder, ref.uidValidity, uid);
  const detail = `${size} bytes, over MAX_MESSAGE_BYTES (${maxBytes})`;
  return quarantine(uid, id, ref, 'too-large', detail, outbox, (name) =>
    stream((content) => outbox.putBlobStream(name, content, 'message/rfc822')),
  );
}

/** Keeps the raw bytes and reports them on the poison queue; failing that, leaves the message in the mailbox. */
async function quarantine(
  uid: number,
  id: string,
  ref: MailboxRef,
  reason: QuarantineReason,
  detail: string,
  outbox: Outbox,
  storeRaw: (blobName: string) => Promise<StoredBlob>,
): Promise<HandOffResult> {
  try {
    const raw = await storeRaw(blobNames.quarantined(id));
    await outbox.sendPoison({
      schemaVersion: SCHEMA_VERSION,
      id,
      mailbox: ref.mailbox,
      folder: ref.folder,
      uid,
      uidValidity: ref.uidValidity,
      reason,
      detail,
      raw,
      movedTo: ref.failedFolder,
      quarantinedAt: new Date().toISOString(),
    });
    return { outcome: 'quarantined', uid, id, reason, detail, rawBlobUrl: raw.blobUrl };
  } catch (error) {
    return { outcome: 'failed', uid, id, error };
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

/**
 * A file name safe as the last segment of a blob name: no path separators, no
 * control characters, at most 200 UTF-16 units, and never half a surrogate pair
 * (a cut emoji would make the blob URL unencodable on every run).
 */
function safeName(filename: string): string {
  const cleaned = filename
    .replace(/[\\/\x00-\x1f\x7f?#%]+/g, '_')
    .replace(/^\.+/, '_')
    .slice(0, 200)
    .replace(/[\uD800-\uDBFF]$/, '');
  return cleaned || 'attachment';
}
