/**
 * One queue item to the mail it carries: decoded, validated against the
 * contract, the claim check followed, and every blob it names readable on
 * demand with its size and SHA-256 verified.
 *
 *   const mail = await readMailMessage(item, { blobs: containerClient });
 *   if (mail === null) return;                 // the doctor's probe: not mail
 *   for (const a of mail.attachments) await save(a.filename, await a.read());
 */
import type { Attachment, EnvelopeMessage, MailMessage } from '../contract/queueMessage.js';
import { isDoctorProbe } from '../contract/doctorProbe.js';
import { blobClientFor, type BlobAccess } from './blobClientFor.js';
import { ConsumerError } from './consumerError.js';
import { decodeQueueItem } from './decodeQueueItem.js';
import { validateMailMessage, validateQueueMessage } from './validateMessage.js';
import { readVerified, verifiedBlob, type MailBlob } from './verifiedBlob.js';

export interface ReadOptions {
  /** How to read the message's blobs, with the consumer's own access (see blobClientFor.ts). */
  blobs: BlobAccess;
}

/** An attachment as the message lists it, with its bytes on demand. */
export type MailAttachment = Attachment & Pick<MailBlob, 'read' | 'stream'>;

/** The full message (whether the queue carried it or its envelope), its blobs readable. */
export interface ConsumedMail extends Omit<MailMessage, 'attachments' | 'raw' | 'textBlob' | 'htmlBlob'> {
  attachments: MailAttachment[];
  /** The original MIME message. */
  raw: MailBlob;
  /** Present when the plain-text body is over 256 KiB: `text` is then null. */
  textBlob?: MailBlob;
  htmlBlob?: MailBlob;
  /** When the queue carried only the envelope: where the full JSON was read from. */
  payloadBlobUrl?: string;
  /** The plain-text body, inline or read from textBlob; null when the mail has none. */
  readText(): Promise<string | null>;
  /** The HTML body, inline or read from htmlBlob; null when the mail has none. Untrusted: sanitise before rendering. */
  readHtml(): Promise<string | null>;
}

/**
 * Reads what a queue trigger or a QueueClient hands over (see decodeQueueItem.ts).
 * Resolves to null for the doctor's probe, which is not mail: acknowledge it and
 * move on. Throws a ConsumerError with a code otherwise: a malformed item, a
 * field that does not match the schema, a payload blob gone (past
 * claimCheckRetentionDays) or not this message's.
 */
export async function readMailMessage(item: unknown, options: ReadOptions): Promise<ConsumedMail | null> {
  const value = decodeQueueItem(item);
  if (isDoctorProbe(value)) return null;
  const clientFor = blobClientFor(options.blobs);
  const queued = validateQueueMessage(value);
  const message = 'payloadBlobUrl' in queued ? await readPayload(queued, clientFor) : queued;
  return consumed(message, clientFor, 'payloadBlobUrl' in queued ? queued.payloadBlobUrl : undefined);
}

/** The full JSON of a claim-checked message, checked to be the one its envelope announces. */
async function readPayload(envelope: EnvelopeMessage, clientFor: ReturnType<typeof blobClientFor>): Promise<MailMessage> {
  const ref = { blobUrl: envelope.payloadBlobUrl, size: envelope.payloadSize };
  const bytes = await readVerified(clientFor(ref.blobUrl), ref);
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new ConsumerError('CONSUMER_BLOB_MISMATCH', `${ref.blobUrl} is not JSON: it is not the payload the drain wrote.`, { id: envelope.id, blobUrl: ref.blobUrl }, { cause: error });
  }
  const message = validateMailMessage(json, 'payload blob');
  for (const key of ['id', 'mailbox', 'folder', 'uid', 'uidValidity'] as const) {
    if (message[key] !== envelope[key]) {
      throw new ConsumerError('CONSUMER_BLOB_MISMATCH', `${ref.blobUrl} holds another message (its ${key} differs from the envelope's).`, {
        id: envelope.id,
        blobUrl: ref.blobUrl,
      });
    }
  }
  return message;
}

function consumed(message: MailMessage, clientFor: ReturnType<typeof blobClientFor>, payloadBlobUrl: string | undefined): ConsumedMail {
  const blob = (ref: MailMessage['raw']) => verifiedBlob(clientFor(ref.blobUrl), ref);
  const textBlob = message.textBlob && blob(message.textBlob);
  const htmlBlob = message.htmlBlob && blob(message.htmlBlob);
  const body = async (inline: string | null, stored: MailBlob | undefined) => (stored ? (await stored.read()).toString('utf8') : inline);
  const { attachments, raw, textBlob: _t, htmlBlob: _h, ...fields } = message;
  return {
    ...fields,
    attachments: attachments.map((a) => {
      const bytes = blob(a);
      return { ...a, read: bytes.read, stream: bytes.stream };
    }),
    raw: blob(raw),
    ...(textBlob ? { textBlob } : {}),
    ...(htmlBlob ? { htmlBlob } : {}),
    ...(payloadBlobUrl ? { payloadBlobUrl } : {}),
    readText: () => body(message.text, textBlob),
    readHtml: () => body(message.html, htmlBlob),
  };
}
