/**
 * `mail-drain redrive` on Dovecot configured like Exchange Online, with Azurite:
 * mail quarantined for being over MAX_MESSAGE_BYTES, the limit raised, the mail
 * moved back and drained again; what Dovecot holds is read back with doveadm,
 * what Storage holds with the Storage SDK. Every step is run twice.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { messageKey, type MailMessage, type QueueMessage } from '../../shared/contract/queueMessage.js';
import { EXIT } from '../../shared/operate/cli.js';
import { runCli } from '../support/cli.js';
import { startTestStack, type TestStack } from '../support/localStack.js';
import { ensureDovecot, startDovecot, type Dovecot } from '../support/dovecot.js';

const CORPUS = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/mime-corpus');
/** Over the limit the mail is first drained with; under the raised one. */
const LARGE = ['mailparser/nodemailer.eml', 'mimekit/bounce.txt', 'mimekit/stack-overflow.txt', 'mimekit/issue358.txt'].map((f) => readFileSync(join(CORPUS, f)));
const SMALL_LIMIT = '5000';
const RAISED_LIMIT = '1000000';

/** What mailparser refuses by design (mailsplit's MAX_CHILD_NODES, 1000 parts): quarantined as unparseable. */
const UNPARSEABLE = Buffer.from(
  'From: a@fabrikam.example\r\nTo: b@contoso.example\r\nSubject: too many parts\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n' +
    Array.from({ length: 1100 }, (_, i) => `--b\r\nContent-Type: text/plain\r\n\r\npart ${i}\r\n`).join('') +
    '--b--\r\n',
);

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const crlf = (raw: Buffer) => Buffer.from(raw.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');

const dovecotAvailable = ensureDovecot();

describe('mail-drain redrive against Dovecot and Azurite', { skip: dovecotAvailable.available ? false : dovecotAvailable.reason }, () => {
  let stack: TestStack;
  let dovecot: Dovecot;
  let container: ContainerClient;

  before(async () => {
    stack = await startTestStack();
    dovecot = await startDovecot({ entra: stack.entra });
    container = BlobServiceClient.fromConnectionString(stack.azurite.connectionString).getContainerClient(stack.containerName);
  });
  after(async () => {
    await dovecot?.stop();
    await stack?.stop();
  });
  beforeEach(async () => {
    await stack.drainQueue();
    await stack.drainPoisonQueue();
  });

  const envFor = (mailbox: string, maxBytes: string) => ({ ...stack.settings, IMAP_HOST: dovecot.host, IMAP_PORT: String(dovecot.port), MAILBOX: mailbox, MAX_MESSAGE_BYTES: maxBytes });
  const quarantined = async (mailbox: string) => {
    const copies = new Map<string, { sha256: string; metadata: Record<string, string> }>();
    for await (const blob of container.listBlobsFlat({ prefix: 'quarantine/', includeMetadata: true })) {
      const id = blob.name.split('/')[1]!;
      if (blob.metadata?.mailbox !== encodeURIComponent(mailbox)) continue;
      copies.set(id, { sha256: sha256(await container.getBlobClient(blob.name).downloadToBuffer()), metadata: blob.metadata });
    }
    return copies;
  };
  const shas = async (mailbox: string, folder: string) => (await dovecot.messages(mailbox, folder)).map((m) => sha256(m.raw)).sort();
  const full = async (message: QueueMessage): Promise<MailMessage> =>
    'payloadBlobUrl' in message ? JSON.parse((await stack.readBlob(message.payloadBlobUrl)).toString('utf8')) : message;

  /** A mailbox whose `count` large messages a drain under SMALL_LIMIT quarantined. */
  const quarantinedMailbox = async (mailbox: string, count: number) => {
    await dovecot.grant(mailbox);
    for (const raw of LARGE.slice(0, count)) await dovecot.seed(mailbox, 'INBOX', raw);
    const drained = await runCli(['drain'], envFor(mailbox, SMALL_LIMIT));
    assert.equal(drained.code, EXIT.ok, drained.output);
    assert.equal((await dovecot.messages(mailbox, 'Failed')).length, count, 'quarantined to Failed');
    assert.equal((await stack.drainPoisonQueue()).length, count);
    const copies = await quarantined(mailbox);
    assert.equal(copies.size, count);
    return copies;
  };

  test('over the limit, redrive moves nothing and says to raise MAX_MESSAGE_BYTES; raised, it moves the mail back, the next drain hands it off, and a redrive after that deletes the copies', async () => {
    const mailbox = 'redrive-limit@contoso.example';
    const copies = await quarantinedMailbox(mailbox, 2);
    const expected = LARGE.slice(0, 2).map((raw) => sha256(crlf(raw))).sort();
    assert.deepEqual([...copies.values()].map((c) => c.sha256).sort(), expected, 'the copies are the mail, byte for byte');

    const statusOf = async () => (await runCli(['status'], envFor(mailbox, SMALL_LIMIT))).output;
    assert.match(await statusOf(), /\n  quarantine: {4}2 copy\(ies\) kept; see mail-drain redrive --dry-run\n/);

    const refused = await runCli(['redrive'], envFor(mailbox, SMALL_LIMIT));
    assert.equal(refused.code, EXIT.incomplete, refused.output);
    assert.equal(refused.output.match(/\[STILL_TOO_LARGE\]/g)?.length, 2, refused.output);
    assert.match(refused.output, /What to do: Raise MAX_MESSAGE_BYTES/);
    assert.deepEqual(await shas(mailbox, 'Failed'), expected, 'nothing moved');

    const [first, second] = [...copies.keys()];
    for (const run of [1, 2]) {
      const one = await runCli(['redrive', '--id', first!], envFor(mailbox, RAISED_LIMIT));
      assert.equal(one.code, EXIT.ok, one.output);
      assert.match(one.output, run === 1 ? new RegExp(`${first}  movedBack: .*back to INBOX as UID \\d+`) : new RegExp(`${first}  waiting: .*not drained yet`));
      assert.equal((await dovecot.messages(mailbox, 'INBOX')).length, 1, `run ${run}: one message back in INBOX`);
      assert.equal((await dovecot.messages(mailbox, 'Failed')).length, 1, `run ${run}: the other still in Failed`);
    }
    for (const run of [1, 2]) {
      const all = await runCli(['redrive', '--json'], envFor(mailbox, RAISED_LIMIT));
      assert.equal(all.code, EXIT.ok, all.output);
      const outcomes = Object.fromEntries(JSON.parse(all.output).map((r: { id: string; outcome: string }) => [r.id, r.outcome]));
      assert.deepEqual(outcomes, { [first!]: 'waiting', [second!]: run === 1 ? 'movedBack' : 'waiting' }, `run ${run}`);
      assert.deepEqual(await shas(mailbox, 'INBOX'), expected, `run ${run}: both in INBOX, once each`);
      assert.deepEqual(await shas(mailbox, 'Failed'), []);
    }
    const marked = await quarantined(mailbox);
    assert.equal(marked.size, 2, 'the copies are kept until the mail is handed off');
    for (const { metadata } of marked.values()) assert.ok(metadata.redrivenat && metadata.redrivenas, 'marked redriven, with the new id');
    assert.match(await statusOf(), /quarantine: {4}2 copy\(ies\) kept, 2 redriven \(waiting for a drain/);
    assert.deepEqual(JSON.parse((await runCli(['status', '--json'], envFor(mailbox, SMALL_LIMIT))).output)[0].quarantine, { kept: 2, redriven: 2 });

    const drained = await runCli(['drain'], envFor(mailbox, RAISED_LIMIT));
    assert.equal(drained.code, EXIT.ok, drained.output);
    const queued = await Promise.all((await stack.drainQueue()).map(full));
    assert.deepEqual(queued.map((m) => m.raw.sha256).sort(), expected, 'both handed off, byte for byte');
    assert.deepEqual(queued.map((m) => m.id).sort(), [...marked.values()].map((c) => c.metadata.redrivenas).sort(), 'under the new ids the redrive recorded');
    for (const m of queued) assert.ok(!copies.has(m.id), 'a new id: a new UID, a fresh attempt count');

    for (const run of [1, 2]) {
      const cleanup = await runCli(['redrive'], envFor(mailbox, RAISED_LIMIT));
      assert.equal(cleanup.code, EXIT.ok, cleanup.output);
      if (run === 1) assert.equal(cleanup.output.match(/deleted: .*handed off as [0-9a-f]{64}: quarantined copy deleted/g)?.length, 2, cleanup.output);
      else assert.match(cleanup.output, /Nothing is quarantined: nothing to redrive\./);
      assert.equal((await quarantined(mailbox)).size, 0);
    }
    assert.deepEqual(await stack.drainQueue(), [], 'no duplicates');
    assert.deepEqual(await stack.drainPoisonQueue(), []);
    assert.doesNotMatch(await statusOf(), /quarantine:/, 'status shows no copies once they are gone');
  });

  test('mail no longer in FAILED_FOLDER is handed off from its quarantined copy under its id, then the copy is deleted; twice, nothing more', async () => {
    const mailbox = 'redrive-gone@contoso.example';
    const copies = await quarantinedMailbox(mailbox, 1);
    const [[id, copy]] = [...copies];
    const [failedMessage] = await dovecot.messages(mailbox, 'Failed');
    // Someone deleted it from the Failed folder.
    await dovecot.doveadm(['expunge', '-u', mailbox, 'mailbox', 'Failed', 'all']);

    for (const run of [1, 2]) {
      const { code, output } = await runCli(['redrive', '--id', id!], envFor(mailbox, RAISED_LIMIT));
      assert.equal(code, EXIT.ok, output);
      assert.match(output, run === 1 ? new RegExp(`${id}  handedOff: .*copy deleted`) : /absent: nothing is quarantined under this id/);
      const queued = await Promise.all((await stack.drainQueue()).map(full));
      if (run === 2) {
        assert.deepEqual(queued, [], 'the second run sends nothing');
        continue;
      }
      assert.equal(queued.length, 1);
      assert.equal(queued[0]!.id, id, 'the id it was quarantined with');
      assert.equal(queued[0]!.uid, Number(copy!.metadata.uid));
      assert.equal(queued[0]!.raw.sha256, copy!.sha256);
      assert.deepEqual(await stack.readBlob(queued[0]!.raw.blobUrl), failedMessage!.raw, 'its raw blob is the quarantined bytes');
      assert.equal((await quarantined(mailbox)).size, 0, 'the copy is deleted once the mail is handed off');
    }
  });

  test('mail still unparseable: from its copy it is refused with STILL_UNPARSEABLE and the copy kept; moved back, the drain quarantines it anew and the old copy goes', async () => {
    const mailbox = 'redrive-unparseable@contoso.example';
    await dovecot.grant(mailbox);
    const [a, b] = ['A', 'BB'].map((tag) => Buffer.from(UNPARSEABLE.toString('latin1').replace('too many parts', `too many parts ${tag}`), 'latin1'));
    for (const raw of [a!, b!]) await dovecot.seed(mailbox, 'INBOX', raw);
    const drained = await runCli(['drain'], envFor(mailbox, RAISED_LIMIT));
    assert.equal(drained.code, EXIT.ok, drained.output);
    assert.deepEqual((await stack.drainPoisonQueue()).map((p) => p.reason), ['unparseable', 'unparseable']);
    const copies = [...(await quarantined(mailbox))];
    const copyOf = (raw: Buffer) => copies.find(([, c]) => c.sha256 === sha256(raw))![0];
    const [copyA, copyB] = [copyOf(a!), copyOf(b!)];

    // A deleted from Failed: redrive hands it off from its copy, and mailparser refuses it again.
    const failedA = (await dovecot.messages(mailbox, 'Failed')).find((m) => sha256(m.raw) === sha256(a!))!;
    await dovecot.doveadm(['expunge', '-u', mailbox, 'mailbox', 'Failed', 'uid', String(failedA.uid)]);
    for (const run of [1, 2]) {
      const { code, output } = await runCli(['redrive', '--id', copyA], envFor(mailbox, RAISED_LIMIT));
      assert.equal(code, EXIT.incomplete, output);
      assert.match(output, /\[STILL_UNPARSEABLE\] Its quarantined copy still cannot be parsed/);
      assert.ok((await quarantined(mailbox)).has(copyA), `run ${run}: the copy is kept`);
      assert.deepEqual(await stack.drainQueue(), [], 'nothing handed off');
      assert.deepEqual(await stack.drainPoisonQueue(), [], 'no second poison message');
    }

    // B moved back (its cause not fixed after all): the next drain quarantines it anew, under a new id.
    const moved = await runCli(['redrive', '--id', copyB], envFor(mailbox, RAISED_LIMIT));
    assert.match(moved.output, /movedBack: .*back to INBOX/);
    const again = await runCli(['drain'], envFor(mailbox, RAISED_LIMIT));
    assert.equal(again.code, EXIT.ok, again.output);
    const [poison] = await stack.drainPoisonQueue();
    assert.ok(poison && poison.id !== copyB, 'quarantined anew, under a new id');
    const cleanup = await runCli(['redrive', '--id', copyB], envFor(mailbox, RAISED_LIMIT));
    assert.equal(cleanup.code, EXIT.ok, cleanup.output);
    assert.match(cleanup.output, new RegExp(`deleted: .*quarantined again as ${poison.id}, whose copy holds its bytes: quarantined copy deleted`));
    assert.deepEqual([...(await quarantined(mailbox)).keys()].sort(), [copyA, poison.id].sort(), "A's copy, and B's new one");
    assert.deepEqual(await shas(mailbox, 'Failed'), [sha256(b!)]);
  });

  test("a mailbox with its own queue in a shared container: its mail is handed off from the copy, and replayed, to its own queue", async () => {
    const [first, own] = ['redrive-first@contoso.example', 'redrive-own@contoso.example'];
    const queues = QueueServiceClient.fromConnectionString(stack.azurite.connectionString);
    for (const name of ['redrive-own', 'redrive-own-poison']) await queues.getQueueClient(name).createIfNotExists();
    const env = (maxBytes: string) => ({ ...envFor(first, maxBytes), MAILBOX: undefined, MAILBOXES: JSON.stringify([{ mailbox: first }, { mailbox: own, outputQueue: 'redrive-own' }]) });
    await dovecot.grant(first);
    await dovecot.grant(own);
    await dovecot.seed(own, 'INBOX', LARGE[0]!);
    const drained = await runCli(['drain', '--mailbox', own], env(SMALL_LIMIT));
    assert.equal(drained.code, EXIT.ok, drained.output);
    const [[id]] = [...(await quarantined(own))];
    await dovecot.doveadm(['expunge', '-u', own, 'mailbox', 'Failed', 'all']);

    const { code, output } = await runCli(['redrive'], env(RAISED_LIMIT));
    assert.equal(code, EXIT.ok, output);
    assert.match(output, new RegExp(`${id}  handedOff:`));
    assert.deepEqual(await stack.drainQueue(), [], 'nothing on the default queue');
    const [handedOff] = await stack.drainQueue('redrive-own');
    assert.equal(handedOff?.id, id, "on the mailbox's own queue");

    const replayed = await runCli(['replay', '--id', id!], env(RAISED_LIMIT));
    assert.equal(replayed.code, EXIT.ok, replayed.output);
    assert.deepEqual(await stack.drainQueue('redrive-own'), [handedOff], 'replayed to its own queue, as first sent');
    assert.deepEqual(await stack.drainQueue(), []);
  });

  test('mail already moved back (by a redrive that ended before marking, or by a person) is marked, not handed off a second time; its copy is kept until the drain has settled it', async () => {
    const mailbox = 'redrive-back@contoso.example';
    const copies = await quarantinedMailbox(mailbox, 1);
    const [id] = [...copies.keys()];
    await dovecot.doveadm(['move', '-u', mailbox, 'INBOX', 'mailbox', 'Failed', 'all']);
    const [back] = await dovecot.messages(mailbox, 'INBOX');

    const { code, output } = await runCli(['redrive'], envFor(mailbox, RAISED_LIMIT));
    assert.equal(code, EXIT.ok, output);
    assert.match(output, new RegExp(`${id}  movedBack: .*already back in INBOX as UID ${back!.uid}`));
    assert.deepEqual(await stack.drainQueue(), [], 'nothing handed off from the copy');
    const uidValidity = Number(/uidvalidity=(\d+)/.exec((await dovecot.doveadm(['-f', 'flow', 'mailbox', 'status', '-u', mailbox, 'uidvalidity', 'INBOX'])).toString())![1]);
    const newId = messageKey(mailbox, 'INBOX', uidValidity, back!.uid);
    assert.equal((await quarantined(mailbox)).get(id!)!.metadata.redrivenas, newId);

    // A drain that stored the new raw.eml and died before its queue message: the mail is still in INBOX.
    const partial = container.getBlockBlobClient(`messages/${newId}/raw.eml`);
    await partial.uploadData(back!.raw);
    const meanwhile = await runCli(['redrive'], envFor(mailbox, RAISED_LIMIT));
    assert.equal(meanwhile.code, EXIT.ok, meanwhile.output);
    assert.match(meanwhile.output, /waiting: .*a drain is handing it off \(still in INBOX\): the copy is kept/);
    assert.equal((await quarantined(mailbox)).size, 1, 'kept while the mail is not handed off');
    await partial.delete();

    const drained = await runCli(['drain'], envFor(mailbox, RAISED_LIMIT));
    assert.equal(drained.code, EXIT.ok, drained.output);
    assert.equal((await stack.drainQueue()).length, 1, 'handed off once');
    const cleanup = await runCli(['redrive', '--dry-run'], envFor(mailbox, RAISED_LIMIT));
    assert.match(cleanup.output, /listed: .*handed off as [0-9a-f]{64}: the copy would be deleted/);
    assert.equal((await quarantined(mailbox)).size, 1, 'a dry run deletes nothing');
  });
  test('a redrive that stopped between its move and its mark, with a drain since: the mail is not handed off a second time from its copy', async () => {
    const mailbox = 'redrive-interrupted@contoso.example';
    const copies = await quarantinedMailbox(mailbox, 1);
    const [id] = [...copies.keys()];
    const [inFailed] = await dovecot.messages(mailbox, 'Failed');
    // What the interrupted redrive left: the copy says it is moving the mail, the move happened, the mark after it did not.
    const copyBlob = container.getBlockBlobClient(`quarantine/${id}/raw.eml`);
    await copyBlob.setMetadata({ ...copies.get(id!)!.metadata, redrivenat: new Date().toISOString(), redrivenfrom: String(inFailed!.uid) });
    await dovecot.doveadm(['move', '-u', mailbox, 'INBOX', 'mailbox', 'Failed', 'all']);
    const drained = await runCli(['drain'], envFor(mailbox, RAISED_LIMIT));
    assert.equal(drained.code, EXIT.ok, drained.output);
    assert.equal((await stack.drainQueue()).length, 1, 'the drain handed the moved mail off');

    for (const run of [1, 2]) {
      const { code, output } = await runCli(['redrive'], envFor(mailbox, RAISED_LIMIT));
      assert.equal(code, EXIT.ok, `run ${run}: ${output}`);
      assert.match(output, new RegExp(`${id}  waiting: .*a redrive at .* stopped while it moved the mail \\(UID ${inFailed!.uid} in Failed\\)`));
      assert.deepEqual(await stack.drainQueue(), [], `run ${run}: nothing handed off from the copy`);
      assert.equal((await quarantined(mailbox)).size, 1, `run ${run}: the copy is kept`);
    }
  });

  test('a redrive that marked the copy and stopped before its move: the next redrive moves the mail back', async () => {
    const mailbox = 'redrive-unmoved@contoso.example';
    const copies = await quarantinedMailbox(mailbox, 1);
    const [id] = [...copies.keys()];
    const [inFailed] = await dovecot.messages(mailbox, 'Failed');
    await container.getBlockBlobClient(`quarantine/${id}/raw.eml`).setMetadata({ ...copies.get(id!)!.metadata, redrivenat: new Date().toISOString(), redrivenfrom: String(inFailed!.uid) });

    const { code, output } = await runCli(['redrive'], envFor(mailbox, RAISED_LIMIT));
    assert.equal(code, EXIT.ok, output);
    assert.match(output, new RegExp(`${id}  movedBack: .*moved from Failed \\(UID ${inFailed!.uid}\\) back to INBOX`));
    assert.equal((await dovecot.messages(mailbox, 'Failed')).length, 0);
    assert.equal((await dovecot.messages(mailbox, 'INBOX')).length, 1);
    assert.equal((await quarantined(mailbox)).get(id!)!.metadata.redrivenmoved, 'true');
    assert.deepEqual(await stack.drainQueue(), [], 'moved back, not handed off from the copy');
  });
});
