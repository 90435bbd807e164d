/**
 * `mail-drain replay` after a real drain: Dovecot configured like Exchange
 * Online, Azurite, and the command line as an operator runs it. The replayed
 * queue messages are compared with those the drain sent, read off the queue.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import type { QueueMessage } from '../../shared/contract/queueMessage.js';
import { blobNames } from '../../shared/drain/handOff.js';
import { EXIT } from '../../shared/operate/cli.js';
import { runCli } from '../support/cli.js';
import { seededDemo, startTestStack, type TestStack } from '../support/localStack.js';
import { largeMessages } from '../support/largeMail.js';
import { STREAM_PARSE_BYTES } from '../../shared/drain/plan.js';
import { ensureDovecot, startDovecot, type Dovecot } from '../support/dovecot.js';

const CORPUS = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/mime-corpus');
const CORPUS_FILES = ['mailparser/nested.eml', 'mailparser/mixed.eml', 'mimekit/japanese.txt', 'mimekit/multipart-related-mhtml.txt'];
/** Bodies over INLINE_BODY_LIMIT (body blobs), and one over STREAM_PARSE_BYTES: the drain streamed it, replay parses it whole. */
const LARGE = largeMessages().filter((m) => m.name.startsWith('mixed:') || m.name === 'attachments only, large');

const dovecotAvailable = ensureDovecot();

describe('mail-drain replay against Dovecot and Azurite', { skip: dovecotAvailable.available ? false : dovecotAvailable.reason }, () => {
  let stack: TestStack;
  let dovecot: Dovecot;
  let container: ContainerClient;
  const mailbox = 'replay@contoso.example';
  /** What the drain sent, by id, read off the queue. */
  const original = new Map<string, QueueMessage>();
  let env: Record<string, string>;

  before(async () => {
    stack = await startTestStack();
    dovecot = await startDovecot({ entra: stack.entra, grants: [mailbox] });
    container = BlobServiceClient.fromConnectionString(stack.azurite.connectionString).getContainerClient(stack.containerName);
    env = { ...stack.settings, IMAP_HOST: dovecot.host, IMAP_PORT: String(dovecot.port), MAILBOX: mailbox };
    const { demo } = await seededDemo(mailbox);
    for (const m of demo) await dovecot.seed(mailbox, 'INBOX', m.raw);
    for (const file of CORPUS_FILES) await dovecot.seed(mailbox, 'INBOX', readFileSync(join(CORPUS, file)));
    assert.ok(LARGE.length === 2 && LARGE.some((m) => m.raw.length > STREAM_PARSE_BYTES), 'one large message is streamed by the drain');
    for (const m of LARGE) await dovecot.seed(mailbox, 'INBOX', m.raw);
    const drained = await runCli(['drain'], env);
    assert.equal(drained.code, EXIT.ok, drained.output);
    for (const message of await stack.drainQueue()) original.set(message.id, message);
    assert.equal(original.size, demo.length + CORPUS_FILES.length + LARGE.length);
    assert.ok([...original.values()].some((m) => 'payloadBlobUrl' in m), 'one message went through message.json (the demo has one larger than a queue message)');
  });
  after(async () => {
    await dovecot?.stop();
    await stack?.stop();
  });
  beforeEach(() => stack.drainQueue());

  /** Every blob under messages/, with its content's SHA-256, type and metadata, to show a replay changes nothing stored. */
  const stored = async () => {
    const blobs: Record<string, unknown> = {};
    for await (const blob of container.listBlobsFlat({ prefix: 'messages/', includeMetadata: true })) {
      const content = await container.getBlobClient(blob.name).downloadToBuffer();
      blobs[blob.name] = { sha256: createHash('sha256').update(content).digest('hex'), type: blob.properties.contentType, metadata: blob.metadata };
    }
    return blobs;
  };
  const byId = (messages: QueueMessage[]) => new Map(messages.map((m) => [m.id, m]));

  test('--id sends each message again with the same id, deep-equal to what the drain sent (inline and via message.json); twice, the same again', async () => {
    const before = await stored();
    assert.ok(Object.keys(before).length > original.size, 'raw.eml, attachments and message.json blobs are compared');
    const ids = [...original.keys()];
    for (const run of [1, 2]) {
      const { code, output } = await runCli(['replay', ...ids.flatMap((id) => ['--id', id])], env);
      assert.equal(code, EXIT.ok, output);
      assert.match(output, new RegExp(`Replayed ${ids.length} of ${ids.length} message\\(s\\)`));
      const replayed = byId(await stack.drainQueue());
      assert.equal(replayed.size, ids.length, `run ${run}: one queue message per id`);
      for (const [id, message] of original) assert.deepEqual(replayed.get(id), message, `run ${run}: ${id} as the drain sent it`);
    }
    assert.deepEqual(await stored(), before, 'the same blobs, names, bytes and metadata, as the drain left them');
  });

  test('the raw.eml records which mail it is, as metadata of the upload', async () => {
    const [id, message] = [...original][0]!;
    const { metadata } = await container.getBlobClient(blobNames.raw(id)).getProperties();
    assert.deepEqual(metadata, {
      mailbox: encodeURIComponent(mailbox),
      folder: 'INBOX',
      uidvalidity: String(message.uidValidity),
      uid: String(message.uid),
      receivedat: message.receivedAt,
    });
  });

  test('--since and --mailbox select by receivedAt; --dry-run lists and sends nothing', async () => {
    const times = [...original.values()].map((m) => m.receivedAt).sort();
    const dry = await runCli(['replay', '--mailbox', mailbox, '--since', times[0]!, '--dry-run'], env);
    assert.equal(dry.code, EXIT.ok, dry.output);
    assert.match(dry.output, new RegExp(`Would replay ${original.size} of ${original.size}`));
    for (const id of original.keys()) assert.ok(dry.output.includes(`${id}  would send`), `${id} listed`);
    assert.deepEqual(await stack.drainQueue(), [], 'a dry run sends nothing');

    const all = await runCli(['replay', '--since', times[0]!], env);
    assert.equal(all.code, EXIT.ok, all.output);
    const replayed = byId(await stack.drainQueue());
    assert.deepEqual([...replayed.keys()].sort(), [...original.keys()].sort());
    for (const [id, message] of original) assert.deepEqual(replayed.get(id), message);

    const later = new Date(Date.parse(times.at(-1)!) + 1000).toISOString();
    const none = await runCli(['replay', '--since', later, '--mailbox', mailbox], env);
    assert.equal(none.code, EXIT.ok, none.output);
    assert.match(none.output, /No stored message matches: nothing sent\./);
    assert.deepEqual(await stack.drainQueue(), []);
  });

  test('a message past the claim-check retention is reported gone with its remedy, exit 1; the others are still sent', async () => {
    const [gone, kept] = [...original.keys()].filter((id) => !('payloadBlobUrl' in original.get(id)!));
    // What the lifecycle rule does after claimCheckRetentionDays.
    const saved = await container.getBlobClient(blobNames.raw(gone!)).downloadToBuffer();
    const { metadata } = await container.getBlobClient(blobNames.raw(gone!)).getProperties();
    await container.deleteBlob(blobNames.raw(gone!));
    try {
      const { code, output } = await runCli(['replay', '--id', gone!, '--id', kept!], env);
      assert.equal(code, EXIT.incomplete, output);
      assert.match(output, new RegExp(`${gone}  not sent: \\[CLAIM_CHECK_GONE\\]`));
      assert.match(output, /What to do: .*claimCheckRetentionDays/);
      assert.match(output, new RegExp(`${kept}  sent`));
      assert.deepEqual([...byId(await stack.drainQueue()).keys()], [kept]);
    } finally {
      await container.getBlockBlobClient(blobNames.raw(gone!)).uploadData(saved, { metadata, blobHTTPHeaders: { blobContentType: 'message/rfc822' } });
    }
  });

  test('a raw.eml stored without its identity (before this version) is refused with BLOB_IDENTITY_MISSING, never guessed', async () => {
    const id = 'ab'.repeat(32);
    await container.getBlockBlobClient(blobNames.raw(id)).uploadData(Buffer.from('Subject: old\r\n\r\nbody\r\n'));
    try {
      const { code, output } = await runCli(['replay', '--id', id], env);
      assert.equal(code, EXIT.incomplete, output);
      assert.match(output, /\[BLOB_IDENTITY_MISSING\]/);
      const json = await runCli(['replay', '--id', id, '--json'], env);
      assert.equal(JSON.parse(json.output)[0].outcome, 'failed');
      assert.deepEqual(await stack.drainQueue(), []);
    } finally {
      await container.deleteBlob(blobNames.raw(id));
    }
  });

  test('usage errors: a malformed id, --id with --since, a time that is not one; redrive takes no --since and one --id; drain no --dry-run', async () => {
    const cases = [
      ['replay', '--id', 'nope'],
      ['replay', '--id', 'ab'.repeat(32), '--since', '2026-01-01T00:00:00Z'],
      ['replay', '--since', 'yesterday'],
      ['redrive', '--since', '2026-01-01T00:00:00Z'],
      ['redrive', '--id', 'ab'.repeat(32), '--id', 'cd'.repeat(32)],
      ['drain', '--dry-run'],
    ];
    for (const args of cases) {
      const { code, output } = await runCli(args, env);
      assert.equal(code, EXIT.usage, `${args.join(' ')}: ${output}`);
    }
  });
});
