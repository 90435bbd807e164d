/**
 * The one-at-a-time baseline: what a first, plain implementation does, one
 * message after the other: fetch it, parse it, upload its raw MIME and each
 * attachment, send its queue message, move it to Processed. Written with
 * imapflow, mailparser and the Storage SDKs directly, not the product's
 * modules, so that it stays a fixed yardstick while the drain changes. It
 * parses with the drain's options: the ratio measures how the drain works,
 * not which parser features it skips.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { simpleParser } from 'mailparser';
import { childConfig, finish, PARSER_OPTIONS, QUEUE_JSON_LIMIT, UPLOAD_OPTIONS } from './childIo.js';
import { connectImap } from './imapConnect.js';

const { imap, storage } = childConfig();
if (!imap || !storage) throw new Error('the baseline needs imap and storage in BENCH_CHILD');
const container = BlobServiceClient.fromConnectionString(storage.connectionString).getContainerClient(storage.container);
const queue = QueueServiceClient.fromConnectionString(storage.connectionString).getQueueClient(storage.queue);
const upload = (name: string, content: Buffer) => container.getBlockBlobClient(name).uploadData(content, UPLOAD_OPTIONS);

const started = performance.now();
const client = await connectImap(imap);
let moved = 0;
let bytes = 0;
const lock = await client.getMailboxLock('INBOX');
try {
  const uidValidity = String(client.mailbox ? client.mailbox.uidValidity : 0);
  if (!(await client.list()).some((folder) => folder.path === 'Processed')) await client.mailboxCreate('Processed');
  const uids = (await client.search({ all: true }, { uid: true })) || [];
  for (const uid of uids) {
    const fetched = await client.fetchOne(String(uid), { source: true, internalDate: true }, { uid: true });
    if (!fetched || !fetched.source) throw new Error(`UID ${uid} came back without its body`);
    const parsed = await simpleParser(fetched.source, PARSER_OPTIONS);
    const id = `${uidValidity}-${uid}`;
    await upload(`messages/${id}/raw.eml`, fetched.source);
    const attachments = [];
    for (const [n, attachment] of parsed.attachments.entries()) {
      const name = `messages/${id}/attachments/${n}`;
      await upload(name, attachment.content);
      attachments.push({ filename: attachment.filename ?? null, contentType: attachment.contentType, size: attachment.size, blob: name });
    }
    const json = JSON.stringify({
      id,
      uid,
      messageId: parsed.messageId ?? null,
      subject: parsed.subject ?? null,
      from: parsed.from?.value ?? [],
      date: parsed.date?.toISOString() ?? null,
      text: parsed.text ?? null,
      html: parsed.html || null,
      attachments,
    });
    // Too large for a queue message: the message goes to a blob, the queue carries where.
    const body = Buffer.byteLength(json) <= QUEUE_JSON_LIMIT ? json : JSON.stringify({ id, uid, payload: `messages/${id}/message.json` });
    if (body !== json) await upload(`messages/${id}/message.json`, Buffer.from(json, 'utf8'));
    await queue.sendMessage(Buffer.from(body, 'utf8').toString('base64'));
    if (!(await client.messageMove(String(uid), 'Processed', { uid: true }))) throw new Error(`UID MOVE ${uid} failed`);
    moved++;
    bytes += fetched.source.length;
  }
} finally {
  lock.release();
}
await client.logout();
finish(started, { messages: moved, bytes });
