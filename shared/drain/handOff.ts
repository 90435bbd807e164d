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
import { describe } from '../errors/errors.js';
import type { Logger } from '../errors/logger.js';
import type { FetchedMessage, StreamedFacts } from '../mailbox/mailbox.js';
import type { BlobMetadata, Outbox, StoredBlob } from '../outbox/outbox.js';
import { parseMessage, ParseError, type HeaderFields, type ParsedAttachment } from '../mailbox/parseMessage.js';
import { INLINE_BODY_LIMIT, messageKey, SCHEMA_VERSION, type Attachment, type MailMessage, type PoisonMessage } from '../contract/queueMessage.js';
import { isOwnFailure } from './isOwnFailure.js';
import { identityMetadata } from './messageIdentity.js';
import { safeName } from './safeName.js';

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
  | { outcome: 'quarantined'; uid: number; id: string; reason: QuarantineReason; detail: string; rawBlobUrl: string | null }
  | {
      outcome: 'failed';
      uid: number;
      id: string;
      error: unknown;
      /**
       * The message's own failure (its content or its bytes were refused), which
       * counts towards MAX_ATTEMPTS; otherwise a passing one (Storage or the
       * network down), which never does: a Storage outage must not quarantine good mail.
       */
      own: boolean;
    };

/**
 * Blob names for a message, all under its id. The claim-check blobs live under
 * `messages/`, the one prefix the container's lifecycle rule expires; the
 * drain's state (`locks/`) and quarantined mail (`quarantine/`) never expire.
 */
export const CLAIM_CHECK_PREFIX = 'messages/';
export const blobNames = {
  raw: (id: string) => `${CLAIM_CHECK_PREFIX}${id}/raw.eml`,
  attachment: (id: string, index: number, filename: string | null) =>
    `${CLAIM_CHECK_PREFIX}${id}/attachments/${index}${filename ? `-${safeName(filename)}` : ''}`,
  payload: (id: string) => `${CLAIM_CHECK_PREFIX}${id}/message.json`,
  body: (id: string, kind: 'text' | 'html') => `${CLAIM_CHECK_PREFIX}${id}/body.${kind === 'text' ? 'txt' : 'html'}`,
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
  logger?: Logger,
): Promise<HandOffResult> {
  const id = messageKey(ref.mailbox, ref.folder, ref.uidValidity, fetched.uid);
  if (attempts.previous >= attempts.max) {
    const detail = `its hand-off failed ${attempts.previous} times (MAX_ATTEMPTS ${attempts.max})`;
    return quarantine(fetched.uid, id, ref, 'max-attempts', detail, outbox, (name, metadata) =>
      outbox.putBlob(name, fetched.source, 'message/rfc822', metadata(fetched.receivedAt)),
    );
  }
  try {
    // Said before the step most likely to exhaust memory: the last line of a drain that died names the message.
    logger?.debug(`Parsing UID ${fetched.uid} (${fetched.source.length} bytes)`);
    const { message, viaBlob } = await storeAndSend(fetched, ref, outbox);
    return { outcome: 'handedOff', uid: fetched.uid, message, viaBlob };
  } catch (error) {
    if (!(error instanceof ParseError)) return failed(fetched.uid, id, error);
    return quarantine(fetched.uid, id, ref, 'unparseable', describe(error), outbox, (name, metadata) =>
      outbox.putBlob(name, fetched.source, 'message/rfc822', metadata(fetched.receivedAt)),
    );
  }
}

/**
 * The hand-off itself: parse, store the raw MIME (its identity as metadata, for
 * replay), attachments and large bodies under the message's id, then send the
 * queue message. Throws what failed (a ParseError for mail mailparser refuses).
 * The same bytes and identity make the same blobs and the same queue message:
 * `mail-drain replay` and `redrive` hand off again through here.
 */
export async function storeAndSend(fetched: FetchedMessage, ref: MailboxRef, outbox: Outbox): Promise<{ message: MailMessage; viaBlob: boolean }> {
  const id = messageKey(ref.mailbox, ref.folder, ref.uidValidity, fetched.uid);
  const parsed = await parseMessage(fetched.source);
  const raw = await outbox.putBlob(blobNames.raw(id), fetched.source, 'message/rfc822', identityMetadata(ref, fetched.uid, fetched.receivedAt));
  const attachments = await Promise.all(parsed.attachments.map((a, i) => storeAttachment(outbox, id, i, a)));
  const text = await inlineOrBlob(outbox, id, 'text', parsed.text);
  const html = await inlineOrBlob(outbox, id, 'html', parsed.html);
  const message = mailMessage(id, ref, fetched.uid, fetched.receivedAt, parsed, text, html, attachments, raw);
  const { viaBlob } = await outbox.send(message, blobNames.payload(id));
  return { message, viaBlob };
}

/** A stored body: inline, or the blob it is in. */
export interface StoredBody {
  inline: string | null;
  blob?: StoredBlob;
}

/** The queue message, from the parsed headers and what was stored (the same for a message parsed whole or streamed). */
export function mailMessage(
  id: string,
  ref: MailboxRef,
  uid: number,
  receivedAt: Date,
  parsed: HeaderFields,
  text: StoredBody,
  html: StoredBody,
  attachments: Attachment[],
  raw: StoredBlob,
): MailMessage {
  return {
    schemaVersion: SCHEMA_VERSION,
    id,
    mailbox: ref.mailbox,
    folder: ref.folder,
    uid,
    uidValidity: ref.uidValidity,
    messageId: parsed.messageId,
    receivedAt: receivedAt.toISOString(),
    date: parsed.date,
    subject: parsed.subject,
    from: parsed.from,
    to: parsed.to,
    cc: parsed.cc,
    replyTo: parsed.replyTo,
    inReplyTo: parsed.inReplyTo,
    references: parsed.references,
    text: text.inline,
    html: html.inline,
    ...(text.blob && { textBlob: text.blob }),
    ...(html.blob && { htmlBlob: html.blob }),
    attachments,
    raw,
  };
}

/** Quarantines a message too large to parse, streaming its bytes from the mailbox to Blob storage. */
export async function quarantineStream(
  pending: { uid: number; size: number; receivedAt?: Date },
  maxBytes: number,
  ref: MailboxRef,
  outbox: Outbox,
  stream: (sink: (content: Readable, facts: StreamedFacts) => Promise<StoredBlob>) => Promise<StoredBlob>,
): Promise<HandOffResult> {
  const { uid, size } = pending;
  const id = messageKey(ref.mailbox, ref.folder, ref.uidValidity, uid);
  const detail = `${size} bytes, over MAX_MESSAGE_BYTES (${maxBytes})`;
  return quarantine(uid, id, ref, 'too-large', detail, outbox, (name, metadata) =>
    stream((content, facts) => outbox.putBlobStream(name, content, 'message/rfc822', size, metadata(facts.internalDate ?? pending.receivedAt))),
  );
}

/**
 * Quarantines a message whose bytes the server would not return MAX_ATTEMPTS
 * times: there are none to keep, so the poison notice says so (`raw: null`) and
 * the message itself, moved to FAILED_FOLDER, is the copy.
 */
export async function quarantineUnreadable(uid: number, ref: MailboxRef, outbox: Outbox, detail: string): Promise<HandOffResult> {
  const id = messageKey(ref.mailbox, ref.folder, ref.uidValidity, uid);
  return quarantine(uid, id, ref, 'max-attempts', detail, outbox, async () => null);
}

/** A failed hand-off, classified: see `own` in HandOffResult. */
export function failed(uid: number, id: string, error: unknown): HandOffResult {
  return { outcome: 'failed', uid, id, error, own: isOwnFailure(error) };
}

/**
 * Keeps the raw bytes and reports them on the poison queue; failing that, leaves
 * the message in the mailbox. `storeRaw` stores them with the metadata given
 * (the message's identity and INTERNALDATE, by which `mail-drain redrive` finds
 * it in FAILED_FOLDER).
 */
export async function quarantine(
  uid: number,
  id: string,
  ref: MailboxRef,
  reason: QuarantineReason,
  detail: string,
  outbox: Outbox,
  storeRaw: (blobName: string, metadata: (receivedAt: Date | undefined) => BlobMetadata) => Promise<StoredBlob | null>,
): Promise<HandOffResult> {
  try {
    const raw = await storeRaw(blobNames.quarantined(id), (receivedAt) => identityMetadata(ref, uid, receivedAt));
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
    return { outcome: 'quarantined', uid, id, reason, detail, rawBlobUrl: raw?.blobUrl ?? null };
  } catch (error) {
    return failed(uid, id, error);
  }
}

/** A body inline while it is small; beyond INLINE_BODY_LIMIT, a blob the message points to. */
async function inlineOrBlob(outbox: Outbox, id: string, kind: 'text' | 'html', body: string | null): Promise<StoredBody> {
  if (body === null || Buffer.byteLength(body, 'utf8') <= INLINE_BODY_LIMIT) return { inline: body, blob: undefined };
  const blob = await outbox.putBlob(blobNames.body(id, kind), Buffer.from(body, 'utf8'), bodyContentType(kind));
  return { inline: null, blob };
}

/** A body blob's Content-Type. */
export function bodyContentType(kind: 'text' | 'html'): string {
  return `text/${kind === 'text' ? 'plain' : 'html'}; charset=utf-8`;
}

async function storeAttachment(outbox: Outbox, id: string, index: number, attachment: ParsedAttachment) {
  const stored = await outbox.putBlob(blobNames.attachment(id, index, attachment.filename), attachment.content, attachment.contentType);
  return attachmentOf(attachment, stored);
}

/** An attachment as the queue message lists it. */
export function attachmentOf(attachment: Omit<ParsedAttachment, 'content'>, stored: StoredBlob): Attachment {
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
