/**
 * The sample consumer end to end on Azurite: the real drain (local stack)
 * fills the queue, and the consumer's handler is invoked, as the Functions
 * host would, for every queue item, its ledger in Azurite's Table service.
 * Each mail is processed once: replayed, delivered twice at once, and
 * re-delivered under new ids after a UIDVALIDITY change.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import functions from '@azure/functions';
import { TableClient } from '@azure/data-tables';
import { EXIT } from '../../shared/operate/cli.js';
import { runCli } from '../support/cli.js';
import { BlobServiceClient } from '@azure/storage-blob';
import { drain } from '../../shared/drain/drain.js';
import { readMailMessage, isConsumerError, type ConsumedMail } from '../../shared/consumer/index.js';
import { DOCTOR_PROBE } from '../../shared/contract/doctorProbe.js';
import { mailConsumer } from '../../examples/consumer/functions/consumeMail.js';
import { ClaimHeldError, DedupLedger } from '../../examples/consumer/dedupLedger.js';
import { handleMail } from '../../examples/consumer/handleMail.js';
import { consumerSettings } from '../../examples/consumer/consumerSettings.js';
import { capturingLogger, useTestStack, type SeededDemo, type TestStack } from '../support/localStack.js';

// The package is CommonJS; Node's ESM loader does not see InvocationContext as a named export.
const { InvocationContext } = functions;

let stack: TestStack;
let seeded: SeededDemo;
useTestStack((s, d) => {
  stack = s;
  seeded = d;
});

const blobs = () => BlobServiceClient.fromConnectionString(stack.azurite.connectionString).getContainerClient(stack.containerName);
/** A fresh ledger per test, in Azurite's Table service. */
const freshLedger = (claimMs?: number) =>
  new DedupLedger(
    TableClient.fromConnectionString(stack.azurite.connectionString, `processed${randomBytes(4).toString('hex')}`, { allowInsecureConnection: true }),
    claimMs,
  );

/** The drain's queue items as the host hands them to a trigger: base64 decoded, JSON parsed. */
async function drainedItems(messages = seeded.messages, uidValidity = 1): Promise<Record<string, unknown>[]> {
  await stack.reseed(messages, { uidValidity });
  // flag: the mail stays in the folder, as it does when the server renumbers it.
  await drain(stack.settingsWith({ AFTER_PROCESSING: 'flag' }), capturingLogger().logger);
  return stack.hostItems();
}

/** A consumer whose work is the sample's, recorded. */
function recordingConsumer(ledger: DedupLedger, fail?: (mail: ConsumedMail) => boolean, workMs = 0) {
  const processed: ConsumedMail[] = [];
  const lines: string[] = [];
  const consume = mailConsumer({
    blobs: blobs(),
    ledger,
    work: async (mail, context) => {
      if (fail?.(mail)) throw new Error('the consumer failed');
      await new Promise((r) => setTimeout(r, workMs));
      await handleMail(mail, context);
      processed.push(mail);
    },
  });
  const invoke = (item: unknown) =>
    consume(item, new InvocationContext({ functionName: 'consumeMail', invocationId: randomBytes(8).toString('hex'), logHandler: (_level, ...args) => lines.push(args.join(' ')) }));
  return { processed, lines, invoke };
}

test('each mail is processed once: every item, a replayed duplicate, and the same mail under new ids after a UIDVALIDITY change', async () => {
  const consumer = recordingConsumer(freshLedger());
  const first = await drainedItems(seeded.messages, 1);
  assert.equal(first.length, seeded.demo.length);
  for (const item of first) await consumer.invoke(item);
  assert.equal(consumer.processed.length, seeded.demo.length);
  assert.deepEqual(new Set(consumer.processed.map((m) => m.id)), new Set(first.map((i) => i.id)));
  // Attachments read and verified by the work: its line gives the bytes, the sum of the sizes the messages declare.
  for (const mail of consumer.processed) {
    const bytes = mail.attachments.reduce((n, a) => n + a.size, 0);
    assert.ok(consumer.lines.includes(`Processed mail ${mail.id} from ${mail.mailbox}: ${mail.attachments.length} attachment(s), ${bytes} bytes verified.`));
  }
  assert.ok(consumer.processed.some((m) => m.attachments.length > 0) && consumer.processed.some((m) => m.payloadBlobUrl));

  // The drain handed a batch off again (a crash before the settle): the same ids.
  for (const item of first.slice(0, 2)) await consumer.invoke(item);
  // An operator ran mail-drain replay for one, rebuilt from its blobs: the same id again.
  const replayed = await runCli(['replay', '--id', String(first[2]!.id)], stack.settings);
  assert.equal(replayed.code, EXIT.ok, replayed.output);
  const [again, ...more] = await stack.hostItems();
  assert.equal(more.length, 0);
  assert.equal(again!.id, first[2]!.id);
  await consumer.invoke(again);
  assert.equal(consumer.processed.length, seeded.demo.length, 'a replayed duplicate is acknowledged, not processed');
  assert.equal(consumer.lines.filter((l) => /a duplicate \(by id\)/.test(l)).length, 3);

  // The server renumbers the folder: the same mail comes back under new ids.
  const renumbered = await drainedItems(seeded.messages, 7);
  assert.equal(renumbered.length, seeded.demo.length);
  assert.ok(renumbered.every((r) => !first.some((f) => f.id === r.id)), 'new ids');
  for (const item of renumbered) await consumer.invoke(item);
  assert.equal(consumer.processed.length, seeded.demo.length, 'recognised by messageId');
  assert.equal(consumer.lines.filter((l) => /a duplicate \(by messageId\)/.test(l)).length, seeded.demo.length);
  // ...and recorded under the new id too: a replay of it is skipped by id.
  await consumer.invoke(renumbered[0]);
  assert.equal(consumer.lines.filter((l) => /a duplicate \(by id\)/.test(l)).length, 4);
});

test('two copies delivered at once (one batch): one processes, the other fails to be retried, and is then skipped', async () => {
  // The work takes a while, as real work does: the second copy arrives while the first is at it.
  const consumer = recordingConsumer(freshLedger(), undefined, 500);
  const [item] = await drainedItems(seeded.messages.slice(5, 6));
  const results = await Promise.allSettled([consumer.invoke(item), consumer.invoke(item)]);
  assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
  const rejected = results.find((r) => r.status === 'rejected')!;
  assert.ok(rejected.reason instanceof ClaimHeldError, String(rejected.reason));
  assert.equal(consumer.processed.length, 1);
  await consumer.invoke(item); // the host's retry
  assert.equal(consumer.processed.length, 1);
});

test('a failed handler is retried, not marked done', async () => {
  const ledger = freshLedger();
  let failures = 1;
  const consumer = recordingConsumer(ledger, () => failures-- > 0);
  const [item] = await drainedItems(seeded.messages.slice(0, 1));
  await assert.rejects(consumer.invoke(item), /the consumer failed/);
  assert.equal(await ledger.stateOf(item as { mailbox: string; id: string }), undefined, 'the claim is released');
  await consumer.invoke(item);
  assert.equal(consumer.processed.length, 1);
  assert.equal(await ledger.stateOf(item as { mailbox: string; id: string }), 'done');
});

test('a tampered attachment fails the handler with CONSUMER_BLOB_MISMATCH, and the mail is not marked done', async () => {
  const ledger = freshLedger();
  const consumer = recordingConsumer(ledger);
  const [item] = await drainedItems(seeded.messages.slice(5, 6)); // the PDF
  const attachment = (item.attachments as { blobUrl: string }[])[0]!;
  const name = decodeURIComponent(new URL(attachment.blobUrl).pathname.split('/').slice(3).join('/'));
  const original = await blobs().getBlobClient(name).downloadToBuffer();
  original[original.length - 10] ^= 0x01;
  await blobs().getBlockBlobClient(name).uploadData(original);
  let caught: unknown;
  await consumer.invoke(item).catch((error: unknown) => (caught = error));
  assert.ok(isConsumerError(caught) && caught.code === 'CONSUMER_BLOB_MISMATCH', String(caught));
  assert.equal(consumer.processed.length, 0);
  assert.equal(await ledger.stateOf(item as { mailbox: string; id: string }), undefined);
});

test("a dead invocation's claim is taken over once it is older than the claim time", async () => {
  const ledger = freshLedger(200);
  const consumer = recordingConsumer(ledger);
  const [item] = await drainedItems(seeded.messages.slice(0, 1));
  await ledger.ensureTable();
  await ledger.claim((await readMailMessage(item, { blobs: blobs() }))!); // claimed, then the invocation died
  await assert.rejects(consumer.invoke(item), ClaimHeldError);
  await new Promise((r) => setTimeout(r, 250));
  await consumer.invoke(item);
  assert.equal(consumer.processed.length, 1);
});

test('the same mail twice in the folder (two UIDs, one UIDVALIDITY) is two deliveries: both processed', async () => {
  const consumer = recordingConsumer(freshLedger());
  const once = seeded.messages[0]!;
  const items = await drainedItems([once, { ...once, internalDate: new Date() }]);
  assert.equal(new Set(items.map((i) => i.messageId)).size, 1);
  for (const item of items) await consumer.invoke(item);
  assert.equal(consumer.processed.length, 2);
});

test("the registered handler runs from app settings, and acknowledges the doctor's probe", async () => {
  assert.throws(() => consumerSettings({}), /needs these app settings: MAIL_QUEUE, MAIL_STORAGE__blobServiceUri, DEDUP_STORAGE__tableServiceUri \(/);
  const saved = { ...process.env };
  Object.assign(process.env, {
    MAIL_QUEUE: stack.queueName,
    MAIL_STORAGE: stack.azurite.connectionString,
    DEDUP_STORAGE: stack.azurite.connectionString,
    DEDUP_TABLE: `processed${randomBytes(4).toString('hex')}`,
  });
  try {
    const { consumeMail } = await import('../../examples/consumer/functions/consumeMail.js');
    const lines: string[] = [];
    const context = () => new InvocationContext({ functionName: 'consumeMail', invocationId: 'x', logHandler: (_l, ...args) => lines.push(args.join(' ')) });
    await consumeMail({ ...DOCTOR_PROBE }, context());
    const [item] = await drainedItems(seeded.messages.slice(5, 6));
    await consumeMail(item, context());
    await consumeMail(item, context());
    assert.deepEqual(
      lines.map((l) => l.replace(/[0-9a-f]{64}/, '<id>').replace(/\d+ bytes/, 'n bytes')),
      [
        "Skipped the doctor's probe: not mail.",
        `Processed mail <id> from ${stack.mailbox}: 1 attachment(s), n bytes verified.`,
        'Skipped mail <id>: a duplicate (by id), processed before.',
      ],
    );
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  }
});
