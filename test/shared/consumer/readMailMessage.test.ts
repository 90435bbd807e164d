/**
 * readMailMessage against what the real drain wrote to Azurite (the local
 * stack): every form a queue item arrives in, the claim check followed, blobs
 * verified on read, and each failure with its code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { QueueServiceClient, type ReceivedMessageItem } from '@azure/storage-queue';
import { drain } from '../../../shared/drain/drain.js';
import { readMailMessage, isConsumerError, type ConsumedMail, type ConsumerError, type ConsumerErrorCode } from '../../../shared/consumer/index.js';
import { DOCTOR_PROBE } from '../../../shared/contract/doctorProbe.js';
import { encodeForQueue, INLINE_BODY_LIMIT } from '../../../shared/contract/queueMessage.js';
import { startAzurite } from '../../../local/azurite.js';
import { loadOrCreateLocalCa } from '../../../local/ca.js';
import { capturingLogger, useTestStack, type SeededDemo, type TestStack } from '../../support/localStack.js';

let stack: TestStack;
let seeded: SeededDemo;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let container: ContainerClient;
useTestStack((s, d) => {
  container = BlobServiceClient.fromConnectionString(s.azurite.connectionString).getContainerClient(s.containerName);
  stack = s;
  seeded = d;
});

/** The queue's items as QueueClient receives them (and deletes them). */
async function receiveItems(): Promise<ReceivedMessageItem[]> {
  const queue = QueueServiceClient.fromConnectionString(stack.azurite.connectionString).getQueueClient(stack.queueName);
  const items: ReceivedMessageItem[] = [];
  for (;;) {
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32 });
    if (receivedMessageItems.length === 0) return items;
    for (const item of receivedMessageItems) {
      items.push(item);
      await queue.deleteMessage(item.messageId, item.popReceipt);
    }
  }
}

/** Drains `messages` (the demo mailbox unless given) and returns the queue's items. */
async function drained(messages = seeded.messages): Promise<ReceivedMessageItem[]> {
  await stack.reseed(messages);
  await drain(stack.settingsWith(), capturingLogger().logger);
  return receiveItems();
}

const blobName = (url: string) => decodeURIComponent(new URL(url).pathname.split('/').slice(3).join('/'));
const asHostGives = (item: ReceivedMessageItem) => JSON.parse(Buffer.from(item.messageText, 'base64').toString('utf8')) as Record<string, unknown>;

async function rejectsWith(promise: Promise<unknown>, code: ConsumerErrorCode, pattern?: RegExp): Promise<ConsumerError> {
  let caught: unknown;
  await promise.then(
    () => assert.fail(`expected ${code}`),
    (error: unknown) => (caught = error),
  );
  assert.ok(isConsumerError(caught), `not a ConsumerError: ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (pattern) assert.match(caught.message, pattern);
  assert.ok(caught.remedy.length > 0);
  return caught;
}

test('every demo mail reads the same from each form a queue hands over; attachments and raw MIME verified; the claim check followed', async () => {
  const items = await drained();
  assert.equal(items.length, seeded.demo.length);
  const options = { blobs: container };
  for (const item of items) {
    const forms: unknown[] = [
      asHostGives(item), // the Functions trigger: decoded, JSON parsed
      item.messageText, // base64 text
      item, // the ReceivedMessageItem itself
      Buffer.from(item.messageText, 'base64'), // bytes of the JSON
      Buffer.from(item.messageText, 'base64').toString('utf8'), // the JSON text
    ];
    const [first, ...others] = (await Promise.all(forms.map((f) => readMailMessage(f, options)))) as ConsumedMail[];
    assert.ok(first);
    for (const other of others) assert.deepEqual(JSON.stringify(other), JSON.stringify(first));

    const demo = seeded.demo.find((d) => d.subject === first.subject);
    assert.ok(demo, `no demo mail with subject ${first.subject}`);
    assert.deepEqual(await first.raw.read(), seeded.messages[seeded.demo.indexOf(demo)]!.raw, 'the original MIME, byte for byte');
    assert.deepEqual(
      first.attachments.map((a) => a.filename),
      demo.attachments.map((a) => a.filename),
    );
    for (const a of first.attachments) {
      const bytes = await a.read();
      assert.equal(bytes.length, a.size);
      assert.equal(sha256(bytes), a.sha256);
      const streamed: Buffer[] = [];
      for await (const chunk of await a.stream()) streamed.push(chunk as Buffer);
      assert.deepEqual(Buffer.concat(streamed), bytes);
    }
    if (demo.kind === 'larger than a queue message') {
      assert.ok('payloadBlobUrl' in asHostGives(item), 'the queue carried the envelope');
      assert.match(first.payloadBlobUrl ?? '', /message\.json$/);
      assert.ok(first.text && first.text.length > 48 * 1024, 'the full text, from the payload blob');
    } else assert.equal(first.payloadBlobUrl, undefined);
  }
});

test('the blobs are reachable through a BlobServiceClient or a connection string as well as a ContainerClient', async () => {
  const [item] = await drained(seeded.messages.slice(5, 6)); // the PDF
  const service = BlobServiceClient.fromConnectionString(stack.azurite.connectionString);
  for (const blobs of [service, stack.azurite.connectionString]) {
    const mail = (await readMailMessage(item, { blobs }))!;
    assert.equal(mail.attachments.length, 1);
    assert.equal(sha256(await mail.attachments[0]!.read()), mail.attachments[0]!.sha256);
  }
});

test('a body over INLINE_BODY_LIMIT is read from its blob by readText, verified', async () => {
  const text = 'Zeile mit Umlauten: äöü ✓\n'.repeat(Math.ceil((INLINE_BODY_LIMIT * 1.5) / 30));
  const raw = await new MailComposer({ from: 'a@fabrikam.example', to: stack.mailbox, subject: 'Long report', text, messageId: '<long@fabrikam.example>' }).compile().build();
  const [item] = await drained([{ raw, internalDate: new Date() }]);
  const mail = (await readMailMessage(item, { blobs: container }))!;
  assert.equal(mail.text, null);
  assert.ok(mail.textBlob);
  assert.equal((await mail.readText())?.replace(/\r\n/g, '\n').trim(), text.trim());
  assert.equal(await mail.readHtml(), null);
});

test("the doctor's probe is null: not mail, to be acknowledged", async () => {
  assert.equal(await readMailMessage(encodeForQueue(DOCTOR_PROBE), { blobs: container }), null);
  assert.equal(await readMailMessage({ ...DOCTOR_PROBE }, { blobs: container }), null);
});

test('a tampered attachment is rejected on read and on stream, with CONSUMER_BLOB_MISMATCH', async () => {
  const [item] = await drained(seeded.messages.slice(5, 6));
  const mail = (await readMailMessage(item, { blobs: container }))!;
  const attachment = mail.attachments[0]!;
  const original = await attachment.read();
  const tampered = Buffer.from(original);
  tampered[100] ^= 0xff;
  await container.getBlockBlobClient(blobName(attachment.blobUrl)).uploadData(tampered);
  await rejectsWith(attachment.read(), 'CONSUMER_BLOB_MISMATCH', /SHA-256/);
  await rejectsWith((async () => {
    for await (const _ of await attachment.stream());
  })(), 'CONSUMER_BLOB_MISMATCH');
  // Longer than the message says: refused as soon as it runs past the size.
  await container.getBlockBlobClient(blobName(attachment.blobUrl)).uploadData(Buffer.concat([original, Buffer.from('x')]));
  await rejectsWith(attachment.read(), 'CONSUMER_BLOB_MISMATCH', /larger than/);
});

test('a claim-check blob that expired is CONSUMER_BLOB_GONE: the raw MIME, and the payload of an envelope', async () => {
  const items = await drained();
  const envelope = items.find((i) => 'payloadBlobUrl' in asHostGives(i))!;
  const plain = items.find((i) => i !== envelope)!;
  const mail = (await readMailMessage(plain, { blobs: container }))!;
  await container.deleteBlob(blobName(mail.raw.blobUrl));
  const gone = await rejectsWith(mail.raw.read(), 'CONSUMER_BLOB_GONE', /does not exist/);
  assert.match(gone.remedy, /claimCheckRetentionDays/);
  await container.deleteBlob(blobName(asHostGives(envelope).payloadBlobUrl as string));
  await rejectsWith(readMailMessage(envelope, { blobs: container }), 'CONSUMER_BLOB_GONE');
});

test("an envelope whose payload blob holds another message's JSON is CONSUMER_BLOB_MISMATCH", async () => {
  const items = await drained();
  const envelope = asHostGives(items.find((i) => 'payloadBlobUrl' in asHostGives(i))!);
  const other = asHostGives(items.find((i) => !('payloadBlobUrl' in asHostGives(i)))!);
  const json = Buffer.from(JSON.stringify(other));
  await container.getBlockBlobClient(blobName(envelope.payloadBlobUrl as string)).uploadData(json);
  await rejectsWith(readMailMessage({ ...envelope, payloadSize: json.length }, { blobs: container }), 'CONSUMER_BLOB_MISMATCH', /holds another message/);
});

test('a field that does not match the schema is named; a malformed item is CONSUMER_ITEM_MALFORMED', async () => {
  const [item] = await drained(seeded.messages.slice(5, 6));
  const message = asHostGives(item);
  const attachments = message.attachments as Record<string, unknown>[];
  const cases: [unknown, string][] = [
    [{ ...message, attachments: [{ ...attachments[0], sha256: 'not-a-hash' }] }, 'attachments[0].sha256'],
    [{ ...message, schemaVersion: 2 }, 'schemaVersion'],
    [{ ...message, priority: 'high' }, 'priority'],
    [{ doctor: 'probe', schemaVersion: 1 }, 'id'],
  ];
  for (const [value, field] of cases) {
    const error = await rejectsWith(readMailMessage(value, { blobs: container }), 'CONSUMER_SCHEMA_MISMATCH');
    assert.equal(error.facts.field, field, error.message);
    assert.ok(error.message.includes(field), error.message);
  }
  for (const bad of ['not base64 at all!', 'eyJub3QganNvbg', '{"truncated": ', 42, null, [1, 2], { messageText: '%%%' }]) {
    await rejectsWith(readMailMessage(bad, { blobs: container }), 'CONSUMER_ITEM_MALFORMED');
  }
});

test('a blob URL outside the container given is refused when the message is read, before any request: CONSUMER_BLOB_OUTSIDE', async () => {
  const [item] = await drained(seeded.messages.slice(5, 6));
  const message = asHostGives(item);
  const raw = message.raw as { blobUrl: string };
  const elsewhere = { ...message, raw: { ...raw, blobUrl: 'https://attacker.example/devstoreaccount1/inbound-mail/messages/x/raw.eml' } };
  await rejectsWith(readMailMessage(elsewhere, { blobs: container }), 'CONSUMER_BLOB_OUTSIDE', /attacker\.example/);
  const otherContainer = BlobServiceClient.fromConnectionString(stack.azurite.connectionString).getContainerClient('other-container');
  await rejectsWith(readMailMessage(item, { blobs: otherContainer }), 'CONSUMER_BLOB_OUTSIDE');
});

test('with a TokenCredential, a blob URL that is not https is refused before any token is asked for', async () => {
  const [item] = await drained(seeded.messages.slice(5, 6));
  let asked = 0;
  const credential = { getToken: async () => (asked++, { token: 'never-sent', expiresOnTimestamp: Date.now() + 3600_000 }) };
  await rejectsWith(readMailMessage(item, { blobs: credential }), 'CONSUMER_BLOB_OUTSIDE', /not an https URL/);
  assert.equal(asked, 0);
});

test("with the consumer's own identity (a TokenCredential), blobs are read over https with its bearer token; a token Storage refuses is CONSUMER_BLOB_FORBIDDEN", async () => {
  // Storage as it is in Azure for an identity: HTTPS, OAuth bearer tokens (Azurite checks audience and issuer).
  const secure = await startAzurite({ tls: loadOrCreateLocalCa().issue(['localhost']) });
  try {
    const [item] = await drained(seeded.messages.slice(5, 6)); // the PDF
    const message = asHostGives(item);
    const target = BlobServiceClient.fromConnectionString(secure.connectionString).getContainerClient(stack.containerName);
    await target.createIfNotExists();
    const urls = [(message.raw as { blobUrl: string }).blobUrl, ...(message.attachments as { blobUrl: string }[]).map((a) => a.blobUrl)];
    for (const url of urls) await target.getBlockBlobClient(blobName(url)).uploadData(await container.getBlobClient(blobName(url)).downloadToBuffer());
    const moved = JSON.parse(JSON.stringify(message).replaceAll(stack.azurite.blobEndpoint, secure.blobEndpoint)) as Record<string, unknown>;

    const scopes: string[] = [];
    const jwt = (claims: object) => [{ alg: 'RS256', typ: 'JWT' }, claims, 'unsigned'].map((p) => Buffer.from(typeof p === 'string' ? p : JSON.stringify(p)).toString('base64url')).join('.');
    const identity = (audience: string) => ({
      getToken: async (scope: string | string[]) => {
        scopes.push(...[scope].flat());
        const now = Math.floor(Date.now() / 1000);
        const claims = { aud: audience, iss: 'https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/', iat: now - 60, nbf: now - 60, exp: now + 3600, oid: 'consumer' };
        return { token: jwt(claims), expiresOnTimestamp: (now + 3600) * 1000 };
      },
    });

    const mail = (await readMailMessage(moved, { blobs: identity('https://storage.azure.com') }))!;
    assert.deepEqual(await mail.raw.read(), seeded.messages[5]!.raw);
    assert.equal(sha256(await mail.attachments[0]!.read()), mail.attachments[0]!.sha256);
    assert.ok(scopes.length > 0 && scopes.every((s) => s === 'https://storage.azure.com/.default'), scopes.join(', '));

    const refused = (await readMailMessage(moved, { blobs: identity('https://vault.azure.net') }))!;
    const error = await rejectsWith(refused.raw.read(), 'CONSUMER_BLOB_FORBIDDEN');
    assert.match(error.remedy, /Storage Blob Data Reader/);
  } finally {
    await secure.stop();
  }
});
