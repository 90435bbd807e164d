/**
 * handOffStreamed against the local stack (Azurite, the in-process IMAP
 * server, the real Outbox and Mailbox): the queue message it sends is the one
 * handOff sends for the same bytes, blob for blob; and nothing is lost when the
 * mailbox's stream or Storage fails halfway, or mailparser refuses the message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { handOff, type HandOffResult, type MailboxRef } from '../../../shared/drain/handOff.js';
import { handOffStreamed, type MessageStream } from '../../../shared/drain/handOffStreamed.js';
import { DrainError } from '../../../shared/errors/errors.js';
import { Mailbox } from '../../../shared/mailbox/mailbox.js';
import { Outbox } from '../../../shared/outbox/outbox.js';
import { CredentialCache } from '../../../shared/identity/credential.js';
import { storageCredential } from '../../../shared/identity/storageCredential.js';
import type { MailMessage } from '../../../shared/contract/queueMessage.js';
import { capturingLogger, useTestStack, type TestStack } from '../../support/localStack.js';
import { startFaultyProxy } from '../../support/faultyProxy.js';
import { chunked } from '../../support/parseBothWays.js';
import { hostileMessages } from '../../support/hostileMail.js';
import { largeMessages } from '../../support/largeMail.js';

let stack: TestStack;
useTestStack((s) => (stack = s));

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const CORPUS = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/mime-corpus');
const corpus = ['mailparser', 'mimekit'].flatMap((folder) =>
  readdirSync(join(CORPUS, folder))
    .filter((file) => file !== 'LICENSE')
    .sort()
    .map((file) => ({ name: `${folder}/${file}`, raw: readFileSync(join(CORPUS, folder, file)) })),
);
const ref: MailboxRef = { mailbox: 'invoices@contoso.example', folder: 'INBOX', uidValidity: 7, failedFolder: 'Failed' };
const attempts = { previous: 0, max: 5 };
const receivedAt = new Date(Date.UTC(2026, 10, 20, 8, 0, 0));
const outboxFor = (connectionString = stack.azurite.connectionString) => {
  const settings = stack.settingsWith({ OUTPUT_STORAGE: connectionString });
  return Outbox.open(settings.output.storage, settings.output, () => storageCredential(settings));
};
/** The message's bytes as a mailbox would stream them, in chunks of random sizes, with its INTERNALDATE. */
const streamOf = (raw: Buffer, seed: number, internalDate = receivedAt): MessageStream => (sink) => sink(chunked(raw, seed), { internalDate });

function handedOff(result: HandOffResult): MailMessage {
  assert.equal(result.outcome, 'handedOff', result.outcome === 'failed' ? String(result.error) : JSON.stringify(result));
  return (result as Extract<HandOffResult, { outcome: 'handedOff' }>).message;
}

/** Every blob the message names holds what the message says: its size and SHA-256. */
async function assertBlobsMatch(message: MailMessage): Promise<void> {
  const blobs = [message.raw, ...message.attachments, ...(message.textBlob ? [message.textBlob] : []), ...(message.htmlBlob ? [message.htmlBlob] : [])];
  for (const blob of blobs) {
    const stored = await stack.readBlob(blob.blobUrl);
    assert.equal(stored.length, blob.size, blob.blobUrl);
    assert.equal(sha256(stored), blob.sha256, blob.blobUrl);
  }
}

test('the corpus and large generated messages: the streamed hand-off sends the queue message handOff sends, every blob as stored', async () => {
  const outbox = outboxFor();
  const messages = [...corpus, ...largeMessages()];
  for (const [i, { name, raw }] of messages.entries()) {
    const uid = 1000 + i;
    const streamed = await handOffStreamed({ uid, size: raw.length }, ref, outbox, attempts, undefined, streamOf(raw, i));
    const streamedMessage = handedOff(streamed);
    await assertBlobsMatch(streamedMessage);
    const whole = await handOff({ uid, size: raw.length, receivedAt, source: raw }, ref, outbox, attempts);
    assert.deepEqual(streamed, whole, name);
  }
  const queued = await stack.drainQueue();
  assert.equal(queued.length, messages.length * 2, 'one queue message per hand-off');
});

test('through the mailbox: Mailbox.stream feeds the streamed hand-off, INTERNALDATE becomes receivedAt', async () => {
  const large = largeMessages().filter((m) => m.raw.length > 1024 * 1024);
  const internalDate = new Date(Date.UTC(2026, 10, 21, 9, 30, 0));
  await stack.reseed(large.map((m) => ({ raw: m.raw, internalDate })));
  const settings = stack.settingsWith();
  const { logger } = capturingLogger();
  const app = await new CredentialCache().get(settings, logger);
  const mailbox = await Mailbox.open(settings, (o) => app.mailboxToken(logger, o), logger);
  const outbox = outboxFor();
  try {
    const mailboxRef = { mailbox: settings.mailbox, folder: mailbox.folder, uidValidity: mailbox.uidValidity, failedFolder: settings.failedFolder };
    const pending = await mailbox.pending();
    assert.equal(pending.length, large.length);
    for (const { uid, size } of pending) {
      const streamed = handedOff(await handOffStreamed({ uid, size }, mailboxRef, outbox, attempts, logger, (sink) => mailbox.stream(uid, size, sink)));
      assert.equal(streamed.receivedAt, internalDate.toISOString());
      const [fetched] = (await mailbox.fetch([uid])).messages;
      assert.deepEqual(streamed, handedOff(await handOff(fetched!, mailboxRef, outbox, attempts)), `UID ${uid}`);
    }
  } finally {
    await mailbox.close();
  }
});

test('the mailbox stream failing halfway fails the message: no queue message, the failure not the message\'s own', async () => {
  const raw = largeMessages()[7]!.raw;
  const lost = new DrainError('IMAP_CONNECTION_LOST', 'The connection to the IMAP server was lost: injected.', {});
  const breaking: MessageStream = (sink) =>
    sink(
      Readable.from(
        (async function* () {
          yield raw.subarray(0, raw.length >> 1);
          throw lost;
        })(),
      ),
      { internalDate: receivedAt },
    ).then(() => {
      throw new Error('the sink must not succeed on half a message');
    }, () => {
      throw lost;
    });
  const result = await handOffStreamed({ uid: 2001, size: raw.length }, ref, outboxFor(), attempts, undefined, breaking);
  assert.equal(result.outcome, 'failed');
  assert.equal((result as Extract<HandOffResult, { outcome: 'failed' }>).error, lost);
  assert.equal((result as Extract<HandOffResult, { outcome: 'failed' }>).own, false);
  assert.deepEqual(await stack.drainQueue(), [], 'nothing was sent');
});

test('Storage failing an attachment\'s upload halfway fails the message: no queue message, a passing failure', async () => {
  const raw = largeMessages()[7]!.raw;
  // The attachment's blocks are refused with 503: Storage busy, not the message's fault.
  const proxy = await startFaultyProxy(stack.azurite.blobEndpoint, (req) =>
    req.method === 'PUT' && /attachments/.test(req.url ?? '') ? { status: 503, code: 'ServerBusy' } : undefined,
  );
  try {
    const outbox = outboxFor(stack.azurite.connectionString.replace(stack.azurite.blobEndpoint, proxy.url));
    const result = await handOffStreamed({ uid: 2002, size: raw.length }, ref, outbox, attempts, undefined, streamOf(raw, 3));
    assert.equal(result.outcome, 'failed', JSON.stringify(result));
    assert.equal((result as Extract<HandOffResult, { outcome: 'failed' }>).own, false, 'a Storage outage is not the message\'s failure');
    assert.ok(proxy.failed > 0);
  } finally {
    await proxy.close();
  }
  assert.deepEqual(await stack.drainQueue(), [], 'nothing was sent');
});

test('a message mailparser refuses is quarantined as handOff quarantines it: its raw bytes streamed again, a poison notice', async () => {
  const refused = hostileMessages().find((m) => m.name === 'nesting/multipart-1200-deep')!.raw;
  let streams = 0;
  const counting: MessageStream = (sink) => {
    streams++;
    return streamOf(refused, 9)(sink);
  };
  const result = await handOffStreamed({ uid: 2003, size: refused.length }, ref, outboxFor(), attempts, undefined, counting);
  assert.equal(result.outcome, 'quarantined', JSON.stringify(result));
  assert.equal(streams, 2, 'once to parse, once to keep its bytes');
  const [poison] = await stack.drainPoisonQueue();
  assert.equal(poison?.reason, 'unparseable');
  assert.match(poison.detail, /mailparser could not parse the message/);
  assert.equal(poison.raw?.sha256, sha256(refused), 'its bytes are kept, byte for byte');
  assert.deepEqual(await stack.drainQueue(), []);
  const whole = await handOff({ uid: 2003, size: refused.length, receivedAt, source: refused }, ref, outboxFor(), attempts);
  assert.equal(whole.outcome, 'quarantined', 'handOff quarantines it too');
});

test('after MAX_ATTEMPTS the message is quarantined without parsing, its bytes streamed to quarantine', async () => {
  const raw = largeMessages()[0]!.raw;
  const result = await handOffStreamed({ uid: 2004, size: raw.length }, ref, outboxFor(), { previous: 5, max: 5 }, undefined, streamOf(raw, 4));
  assert.equal(result.outcome, 'quarantined');
  const [poison] = await stack.drainPoisonQueue();
  assert.equal(poison?.reason, 'max-attempts');
  assert.equal(poison.raw?.sha256, sha256(raw));
});
