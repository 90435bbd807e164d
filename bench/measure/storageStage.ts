/**
 * The Storage ceiling: what the drain must write for the corpus, with nothing
 * else to do: per message its raw MIME, each attachment, the body as a blob
 * when over 256 KiB, then its queue message (the JSON as a blob when over a
 * queue message's 48 KiB), IN_FLIGHT messages at a time. Only the writing is
 * timed: the corpus is generated off the clock, in slices of SLICE_BYTES, so
 * that a 50,000-message corpus never sits in memory whole.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import pLimit from 'p-limit';
import { corpus, type BenchMessage } from '../corpus/corpus.js';
import { childConfig, cpuMsOf, finish, median, QUEUE_JSON_LIMIT, UPLOAD_OPTIONS } from './childIo.js';

const IN_FLIGHT = 32;
const SLICE_BYTES = 256 * 1024 * 1024;
/** A body over this goes to a blob (shared/contract/queueMessage.ts INLINE_BODY_LIMIT). */
const INLINE_BODY_LIMIT = 256 * 1024;
const ROUND_TRIPS = 7;

const config = childConfig();
if (!config.storage) throw new Error('the Storage stage needs storage in BENCH_CHILD');
const { connectionString } = config.storage;
const container = BlobServiceClient.fromConnectionString(connectionString).getContainerClient(config.storage.container);
const queue = QueueServiceClient.fromConnectionString(connectionString).getQueueClient(config.storage.queue);
const upload = (name: string, content: Buffer) => container.getBlockBlobClient(name).uploadData(content, UPLOAD_OPTIONS);

async function store(message: BenchMessage): Promise<void> {
  const id = `bench-${message.index}`;
  const body = Buffer.from(message.body, 'utf8');
  const inline = body.length <= INLINE_BODY_LIMIT;
  await Promise.all([
    upload(`messages/${id}/raw.eml`, message.raw),
    ...message.attachments.map((a, n) => upload(`messages/${id}/attachments/${n}`, a.content)),
    ...(inline ? [] : [upload(`messages/${id}/body.txt`, body)]),
  ]);
  const json = JSON.stringify({
    id,
    messageId: message.messageId,
    subject: message.subject,
    text: inline ? message.body : null,
    attachments: message.attachments.map((a, n) => ({ filename: a.filename, contentType: a.contentType, size: a.content.length, blob: `messages/${id}/attachments/${n}` })),
  });
  let queued = json;
  if (Buffer.byteLength(json) > QUEUE_JSON_LIMIT) {
    await upload(`messages/${id}/message.json`, Buffer.from(json, 'utf8'));
    queued = JSON.stringify({ id, payload: `messages/${id}/message.json` });
  }
  await queue.sendMessage(Buffer.from(queued, 'utf8').toString('base64'));
}

const trips: number[] = [];
for (let i = 0; i < ROUND_TRIPS; i++) {
  const sent = performance.now();
  await queue.getProperties();
  trips.push(performance.now() - sent);
}

const limit = pLimit(IN_FLIGHT);
let storingMs = 0;
let storingCpuMs = 0;
let messages = 0;
let bytes = 0;
let slice: BenchMessage[] = [];
let sliceBytes = 0;
const flush = async () => {
  const before = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(slice.map((m) => limit(() => store(m))));
  storingCpuMs += cpuMsOf(process.cpuUsage(cpu));
  storingMs += performance.now() - before;
  messages += slice.length;
  bytes += sliceBytes;
  slice = [];
  sliceBytes = 0;
};
for (const message of corpus(config.corpus)) {
  slice.push(message);
  sliceBytes += message.raw.length;
  if (sliceBytes >= SLICE_BYTES) await flush();
}
await flush();
finish(performance.now() - storingMs, { messages, bytes, rttMs: median(trips) }, storingCpuMs);
