/**
 * The queue message: the contract downstream consumers code against.
 *
 * Declared once, as a zod schema; the TypeScript types are inferred from it and
 * `schema/queue-message.schema.json` is generated from it (`npm run schema`;
 * a test keeps the committed file equal to the generated one).
 *
 * On the queue the JSON is UTF-8, base64-encoded: the Azure Functions queue
 * trigger's default `messageEncoding`.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';

export const SCHEMA_VERSION = 1;

/**
 * A queue message may be 64 KiB; base64 turns every 3 bytes into 4, so the JSON
 * may be at most 48 KiB. Larger JSON goes to Blob storage (claim check).
 */
export const QUEUE_MESSAGE_LIMIT = 64 * 1024;
export const QUEUE_JSON_LIMIT = (QUEUE_MESSAGE_LIMIT / 4) * 3;

const address = z
  .object({ name: z.string().describe('Display name, "" when absent'), address: z.string().describe('Mail address, "" for a group without members') })
  .describe('A mailbox from an address header');

const blobRef = z.object({
  blobUrl: z.string().describe('URL of the blob in the output container (read it with your own identity)'),
  size: z.number().int().nonnegative().describe('Bytes'),
  sha256: z.string().regex(/^[0-9a-f]{64}$/).describe('Hex SHA-256 of the blob content'),
});

/**
 * A body larger than this (UTF-8 bytes) goes to a blob instead of inline JSON.
 * A hostile 49 MiB body of control characters becomes 6 times that once JSON
 * escapes it, held several times over while it is serialised and uploaded;
 * 256 KiB keeps a message's JSON under about 1.5 MiB whatever the body holds.
 */
export const INLINE_BODY_LIMIT = 256 * 1024;

export const attachmentSchema = z.object({
  filename: z.string().nullable().describe('File name as sent, null when the part has none'),
  contentType: z.string(),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  contentId: z.string().nullable().describe('Content-ID without angle brackets, for cid: references in html'),
  inline: z.boolean().describe('Content-Disposition inline (e.g. an image shown in the html)'),
  blobUrl: z.string(),
});

const envelopeShape = {
  schemaVersion: z.literal(SCHEMA_VERSION),
  id: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .describe('Idempotency key: SHA-256 of mailbox, folder, UIDVALIDITY and UID; the same on every re-delivery. Dedupe on it.'),
  mailbox: z.string(),
  folder: z.string(),
  uid: z.number().int().positive(),
  uidValidity: z.number().int().nonnegative(),
  messageId: z.string().nullable().describe('Message-ID header, null when absent'),
  receivedAt: z.string().describe('IMAP INTERNALDATE (when the server received it), ISO 8601'),
  date: z.string().nullable().describe('Date header, ISO 8601; null when absent or invalid'),
  subject: z.string().nullable(),
  from: z.array(address),
};

/** The full message: what consumers get, inline or through `payloadBlobUrl`. */
export const mailMessageSchema = z
  .object({
    ...envelopeShape,
    to: z.array(address),
    cc: z.array(address),
    replyTo: z.array(address),
    inReplyTo: z.string().nullable(),
    references: z.array(z.string()),
    text: z.string().nullable().describe('Plain-text body as parsed; null when absent or when it is in textBlob'),
    html: z.string().nullable().describe('HTML body as parsed; null when absent or when it is in htmlBlob. Untrusted: sanitise before rendering.'),
    textBlob: blobRef
      .optional()
      .describe('Present when the plain-text body is over 256 KiB (UTF-8): the body is this blob (text/plain; charset=utf-8) and text is null'),
    htmlBlob: blobRef
      .optional()
      .describe('Present when the HTML body is over 256 KiB (UTF-8): the body is this blob (text/html; charset=utf-8) and html is null'),
    attachments: z.array(attachmentSchema).describe('Bytes are always in Blob storage, never inline'),
    raw: blobRef.describe('The original MIME message'),
  })
  .strict();

/** What the queue carries when the full JSON would exceed QUEUE_JSON_LIMIT. */
export const envelopeMessageSchema = z
  .object({
    ...envelopeShape,
    subject: envelopeShape.subject.optional(),
    from: envelopeShape.from.optional(),
    messageId: envelopeShape.messageId.optional(),
    payloadBlobUrl: z.string().describe('The full message JSON (mailMessage) in Blob storage'),
    payloadSize: z.number().int().positive(),
  })
  .strict();

export const queueMessageSchema = z
  .union([mailMessageSchema, envelopeMessageSchema])
  .describe('One mail from the drained mailbox. A message with payloadBlobUrl carries only envelope fields; read the rest from that blob.');

/**
 * What the poison queue (`<OUTPUT_QUEUE>-poison`) carries for each quarantined
 * message: why, and where its untouched raw bytes are.
 */
export const poisonMessageSchema = z
  .object({
    schemaVersion: z.literal(SCHEMA_VERSION),
    id: envelopeShape.id,
    mailbox: z.string(),
    folder: z.string(),
    uid: z.number().int().positive(),
    uidValidity: z.number().int().nonnegative(),
    reason: z
      .enum(['unparseable', 'too-large', 'max-attempts'])
      .describe('unparseable: mailparser failed; too-large: over MAX_MESSAGE_BYTES; max-attempts: hand-off failed MAX_ATTEMPTS times'),
    detail: z.string().describe('The error, in words'),
    raw: blobRef
      .nullable()
      .describe('The original MIME message, byte for byte; null when the server would not return its bytes (the message itself is in movedTo)'),
    movedTo: z.string().describe('The mailbox folder the message was moved to (FAILED_FOLDER)'),
    quarantinedAt: z.string().describe('ISO 8601'),
  })
  .strict();

export type PoisonMessage = z.infer<typeof poisonMessageSchema>;
export type Address = z.infer<typeof address>;
export type Attachment = z.infer<typeof attachmentSchema>;
export type MailMessage = z.infer<typeof mailMessageSchema>;
export type EnvelopeMessage = z.infer<typeof envelopeMessageSchema>;
export type QueueMessage = z.infer<typeof queueMessageSchema>;

/** The JSON Schema of the poison queue message, as committed in schema/. */
export function poisonMessageJsonSchema(): object {
  return {
    $id: 'urn:mail-drain:poison-message:v1',
    title: 'mail-drain poison queue message',
    ...z.toJSONSchema(poisonMessageSchema, { target: 'draft-2020-12' }),
  };
}

/** The JSON Schema of the queue message, as committed in schema/. */
export function queueMessageJsonSchema(): object {
  return {
    $id: 'urn:mail-drain:queue-message:v1',
    title: 'mail-drain queue message',
    ...z.toJSONSchema(queueMessageSchema, { target: 'draft-2020-12' }),
  };
}

/** The stable idempotency key of a message: same mailbox, folder, UIDVALIDITY and UID, same id. */
export function messageKey(mailbox: string, folder: string, uidValidity: number, uid: number): string {
  return createHash('sha256').update(`${mailbox.toLowerCase()}\n${folder}\n${uidValidity}\n${uid}`).digest('hex');
}

/** UTF-8 JSON, base64: the Functions queue trigger's default encoding (queue, poison queue, doctor's probe). */
export function encodeForQueue(message: QueueMessage | PoisonMessage | Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(message), 'utf8').toString('base64');
}

export function decodeFromQueue(text: string): QueueMessage {
  return queueMessageSchema.parse(JSON.parse(Buffer.from(text, 'base64').toString('utf8')));
}
