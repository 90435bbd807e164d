/**
 * Nothing lost, nothing blocked: every message of the shared MIME corpus
 * (test/fixtures/mime-corpus: mailparser's and MimeKit's test messages, bounces,
 * reports, bare bodies, a stack-overflow bomb, an out-of-memory bomb) through
 * the product's real drain(), each followed by an ordinary message. What the
 * in-process IMAP server cannot serve goes to Dovecot.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDovecot, startDovecot, type Dovecot } from '../support/dovecot.js';
import { useTestStack, type TestStack } from '../support/localStack.js';
import { describeOutcome, dovecotMailbox, drainHostile, hoodiecrowCannotServe, sha256, type Hostile, type Outcome } from './hostileDrain.js';

const CORPUS = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/mime-corpus');
const corpus: Hostile[] = ['mailparser', 'mimekit'].flatMap((folder) =>
  readdirSync(join(CORPUS, folder))
    .filter((file) => file !== 'LICENSE')
    .sort()
    .map((file) => ({ name: `${folder}/${file}`, raw: readFileSync(join(CORPUS, folder, file)) })),
);

/** The corpus drain takes about 3 s here; a hang does not finish in this. */
const DRAIN_TIME_LIMIT_MS = 60_000;
/** Seeding and checking included: the backstop should anything but the drain hang. */
const TEST_TIMEOUT_MS = 3 * DRAIN_TIME_LIMIT_MS;

/**
 * hoodiecrow's own MIME parser overflows its stack on stack-overflow.txt (its
 * recursive address parser, after about 9 s on the 2,700 encoded words of To), and
 * would answer the whole batch's UID FETCH with BAD: Dovecot drains it.
 */
const HOODIECROW_CANNOT_SERVE = ['mimekit/stack-overflow.txt'];

/** Ordinary mail: what the queue message must say, as mailparser parses it. */
const CONTENT_CHECKS: Record<string, (o: Extract<Outcome, { outcome: 'handedOff' }>) => void> = {
  'mimekit/japanese.txt': ({ message }) => assert.equal(message.subject, '日本語メールテスト (testing Japanese emails)'),
  'mailparser/nodemailer.eml': ({ message }) => {
    assert.match(message.subject ?? '', /^Nodemailer is unicode friendly ✔/);
    assert.equal(message.attachments.length, 4);
  },
  'mailparser/large_text.eml': ({ message }) => {
    // Over INLINE_BODY_LIMIT: the body is a blob of its own, the message points to it.
    assert.equal(message.text, null);
    assert.equal(message.textBlob?.size, 1_164_213, 'the whole text');
  },
  'mailparser/htmllargecallstack.eml': ({ message }) => {
    assert.equal(message.html, null);
    assert.equal(message.htmlBlob?.size, 570_287, 'the html as sent');
  },
  'mailparser/outofmemory.eml': ({ message }) => {
    assert.equal(message.html, null);
    assert.equal(message.htmlBlob?.size, 1_139_579, 'the html as sent');
  },
  'mimekit/missing-subtype.txt': ({ message }) => assert.equal(message.attachments.length, 1),
  'mimekit/simple-embedded-message.eml': ({ message }) => {
    assert.equal(message.subject, 'test of simple embedded message/rfc822 part');
    assert.equal(message.attachments.length, 1);
  },
  'mimekit/body.1.txt': ({ message }) => assert.equal(message.text, 'This is the text body.'),
};

let stack: TestStack;
useTestStack((ready) => (stack = ready));

function checkOutcomes(outcomes: Outcome[], log: (line: string) => void): void {
  for (const o of outcomes) {
    log(describeOutcome(o));
    // mailparser parses every corpus message (the bombs too, with its html-to-text conversion off).
    assert.equal(o.outcome, 'handedOff', `${o.name} is handed off: ${o.outcome === 'quarantined' ? o.poison.detail : ''}`);
    if (o.outcome === 'handedOff') CONTENT_CHECKS[o.name]?.(o);
  }
}

test('the corpus: both folders, every message', () => {
  assert.ok(corpus.length >= 40, `${corpus.length} messages`);
  assert.ok(corpus.some((m) => m.name === 'mimekit/stack-overflow.txt') && corpus.some((m) => m.name === 'mailparser/outofmemory.eml'));
  for (const name of [...HOODIECROW_CANNOT_SERVE, ...Object.keys(CONTENT_CHECKS)]) assert.ok(corpus.some((m) => m.name === name), name);
});

test('the in-process IMAP server cannot serve exactly the listed messages (its MIME parser throws)', () => {
  const cannot = corpus.filter((m) => hoodiecrowCannotServe(m.raw) !== undefined).map((m) => m.name);
  assert.deepEqual(cannot, HOODIECROW_CANNOT_SERVE);
});

test('every corpus message is handed off byte for byte, and the ordinary mail behind each one too', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const messages = corpus.filter((m) => !HOODIECROW_CANNOT_SERVE.includes(m.name));
  const { outcomes, ms } = await drainHostile(stack, messages, { timeLimitMs: DRAIN_TIME_LIMIT_MS });
  t.diagnostic(`drained ${messages.length * 2} messages in ${ms} ms`);
  checkOutcomes(outcomes, (line) => t.diagnostic(line));
});

const dovecotAvailable = ensureDovecot();

describe('on Dovecot: what the in-process server cannot serve', { skip: dovecotAvailable.available ? false : dovecotAvailable.reason }, () => {
  let dovecot: Dovecot;
  before(async () => {
    dovecot = await startDovecot({ entra: stack.entra });
  });
  after(() => dovecot?.stop());

  test(`${HOODIECROW_CANNOT_SERVE.join(', ')}: handed off byte for byte as Dovecot serves it, the mail behind handed off`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const user = 'hostile-corpus@contoso.example';
    await dovecot.grant(user);
    const messages = corpus.filter((m) => HOODIECROW_CANNOT_SERVE.includes(m.name));
    // Dovecot stores lines ending in CRLF (mail_save_crlf) and serves what it stored.
    const { outcomes } = await drainHostile(stack, messages, { timeLimitMs: DRAIN_TIME_LIMIT_MS, mailbox: dovecotMailbox(dovecot, user), exact: false });
    checkOutcomes(outcomes, (line) => t.diagnostic(line));
    const crlf = (raw: Buffer) => Buffer.from(raw.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
    outcomes.forEach((o, i) => o.outcome === 'handedOff' && assert.equal(o.message.raw.sha256, sha256(crlf(messages[i]!.raw)), `${o.name}: the file, with CRLF`));
  });
});
