/**
 * Nothing lost, nothing blocked: the generated hostile set
 * (test/support/hostileMail.ts, over 200 malformed and adversarial messages)
 * through the product's real drain(), against Azurite and the in-process IMAP
 * server, each hostile message followed by an ordinary one. One drain per
 * category, each within a time limit; what the in-process server cannot serve
 * goes to Dovecot.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HOSTILE_SEED, hostileMessages, type HostileCategory } from '../support/hostileMail.js';
import { ensureDovecot, startDovecot, type Dovecot } from '../support/dovecot.js';
import { useTestStack, type TestStack } from '../support/localStack.js';
import { describeOutcome, dovecotMailbox, drainHostile, hoodiecrowCannotServe, sha256, type Outcome } from './hostileDrain.js';

/** A drain of one category takes 1-7 s here (2 cores); a hang or a quadratic blow-up does not finish in this. */
const DRAIN_TIME_LIMIT_MS = 60_000;
/** Seeding and checking included: the backstop should anything but the drain hang. */
const TEST_TIMEOUT_MS = 3 * DRAIN_TIME_LIMIT_MS;

/**
 * What mailparser refuses, by design: mailsplit's limits on untrusted input,
 * MAX_CHILD_NODES (1000 MIME parts) and MAX_HEAD_SIZE (1 MiB of header per
 * part). Those messages are quarantined as 'unparseable', raw bytes kept; every
 * other generated message is handed off.
 */
const QUARANTINED: Record<string, RegExp> = {
  'nesting/multipart-1200-deep': /Max allowed child nodes exceeded/,
  'many-parts/5000-attachments': /Max allowed child nodes exceeded/,
  'many-parts/5000-text-parts': /Max allowed child nodes exceeded/,
  'headers/subject-1mb-one-line': /Max header size for a MIME node exceeded/,
  'headers/custom-header-1mb-one-line': /Max header size for a MIME node exceeded/,
  'headers/subject-1mb-folded': /Max header size for a MIME node exceeded/,
  'headers/custom-header-1mb-in-a-part': /Max header size for a MIME node exceeded/,
  'headers/headers-2mb-in-many-fields': /Max header size for a MIME node exceeded/,
};

/**
 * hoodiecrow's own MIME parser throws on these (see hoodiecrowCannotServe): its
 * address parser on an unterminated group. A test below keeps this list honest,
 * and Dovecot drains them.
 */
const HOODIECROW_CANNOT_SERVE = ['recipients/unterminated-group'];

/**
 * hoodiecrow's address parser takes 0.7 to 7 s of the test process's only thread
 * for each of these (10,000 to 50,000 addresses; the drain's own parse takes 50 to
 * 200 ms): Dovecot drains them when it is here, the in-process server otherwise.
 */
const HOODIECROW_TOO_SLOW = [
  'recipients/10000-to',
  'recipients/10000-each-to-cc-bcc-reply-to',
  'recipients/50000-to-unfolded',
  'recipients/10000-encoded-display-names',
];

/** What a handed-off message must carry, beyond its raw bytes. */
const CONTENT_CHECKS: Record<string, (o: Extract<Outcome, { outcome: 'handedOff' }>, stack: TestStack) => Promise<void>> = {
  // Regression: the blob name cut at 200 UTF-16 units split an emoji, and the hand-off failed on every run.
  async 'content-types/filename-astral-across-200'({ message }, stack) {
    const [attachment] = message.attachments;
    assert.ok(attachment && (attachment.filename ?? '').length > 200, 'the full name is kept in the message');
    assert.equal((await stack.readBlob(attachment.blobUrl)).length, attachment.size);
  },
  async '8bit-and-nul/all-256-bytes-as-attachment'({ message }, stack) {
    const [attachment] = message.attachments;
    assert.deepEqual(await stack.readBlob(attachment!.blobUrl), Buffer.from(Array.from({ length: 256 }, (_, i) => i)), 'every byte value, in order');
  },
  async 'headers/subject-900k-one-line'({ message, viaBlob }) {
    assert.ok(viaBlob, 'claim-checked');
    assert.equal(message.subject, 's'.repeat(900 * 1024), 'not truncated');
  },
  async 'many-parts/900-attachments'({ message }) {
    assert.equal(message.attachments.length, 900);
    assert.equal(new Set(message.attachments.map((a) => a.blobUrl)).size, 900, 'a blob each');
  },
  async 'rfc2231/utf-16-lone-surrogate'({ message }) {
    assert.equal(message.attachments[0]!.filename, '\uFFFDa', 'the lone surrogate became U+FFFD');
  },
  async 'encoded-words/in-filename-parameter'({ message }) {
    assert.deepEqual(message.attachments.map((a) => a.filename), ['ééé.txt', '\uFFFD.bin']);
  },
  async 'content-types/control-character-in-type'({ message }) {
    assert.deepEqual(message.attachments.map((a) => [a.filename, a.contentType]), [['ctl.pdf', 'application/octet-stream']]);
  },
  async 'rfc2231/path-traversal-and-controls'({ message }) {
    const [attachment] = message.attachments;
    assert.equal(attachment!.filename, '../../../etc/passwd\u0000\r\n.txt', 'the name as sent, for the consumer to judge');
    assert.match(new URL(attachment!.blobUrl).pathname, new RegExp(`/${message.id}/attachments/0-[^/]+$`), 'the blob stays under the message id');
  },
  async 'truncated/base64-attachment-cut-mid-line'({ message }) {
    assert.equal(message.attachments.length, 1, 'what arrived of the attachment is kept');
    assert.ok(message.attachments[0]!.size > 0);
  },
};

const all = hostileMessages();
const categories = [...new Set(all.map((m) => m.category))] as HostileCategory[];

let stack: TestStack;
useTestStack((ready) => (stack = ready));

async function checkOutcomes(outcomes: Outcome[], log: (line: string) => void): Promise<void> {
  for (const o of outcomes) {
    log(describeOutcome(o));
    const quarantined = QUARANTINED[o.name];
    if (quarantined) {
      assert.equal(o.outcome, 'quarantined', `${o.name} is quarantined`);
      assert.equal(o.outcome === 'quarantined' && o.poison.reason, 'unparseable');
      assert.match(o.outcome === 'quarantined' ? o.poison.detail : '', quarantined);
    } else {
      assert.equal(o.outcome, 'handedOff', `${o.name} is handed off: ${o.outcome === 'quarantined' ? o.poison.detail : ''}`);
      if (o.outcome === 'handedOff') await CONTENT_CHECKS[o.name]?.(o, stack);
    }
  }
}

test('the generated set: over 200 messages in every category, the same bytes for the same seed', () => {
  assert.ok(all.length >= 200, `${all.length} messages`);
  assert.equal(new Set(all.map((m) => m.name)).size, all.length, 'unique names');
  assert.equal(categories.length, 16);
  const again = hostileMessages(HOSTILE_SEED);
  assert.deepEqual(again.map((m) => sha256(m.raw)), all.map((m) => sha256(m.raw)), 'deterministic');
  const other = hostileMessages(HOSTILE_SEED + 1);
  assert.notDeepEqual(other.map((m) => sha256(m.raw)), all.map((m) => sha256(m.raw)), 'the seed matters');
  for (const name of [...Object.keys(QUARANTINED), ...HOODIECROW_CANNOT_SERVE, ...HOODIECROW_TOO_SLOW, ...Object.keys(CONTENT_CHECKS)]) {
    assert.ok(all.some((m) => m.name === name), `${name} is generated`);
  }
});

test('the in-process IMAP server cannot serve exactly the listed messages (its MIME parser throws)', () => {
  const cannot = all.filter((m) => !HOODIECROW_TOO_SLOW.includes(m.name) && hoodiecrowCannotServe(m.raw) !== undefined).map((m) => m.name);
  assert.deepEqual(cannot, HOODIECROW_CANNOT_SERVE);
});

const dovecotAvailable = ensureDovecot();
const onDovecot = [...HOODIECROW_CANNOT_SERVE, ...(dovecotAvailable.available ? HOODIECROW_TOO_SLOW : [])];

for (const category of categories) {
  const messages = all.filter((m) => m.category === category && !onDovecot.includes(m.name));
  test(`${category}: ${messages.length} messages, each handed off or quarantined, and the ordinary mail behind each one handed off`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const { outcomes, ms } = await drainHostile(stack, messages, { timeLimitMs: DRAIN_TIME_LIMIT_MS });
    t.diagnostic(`${category}: drained ${messages.length * 2} messages in ${ms} ms`);
    await checkOutcomes(outcomes, (line) => t.diagnostic(line));
  });
}

describe('on Dovecot: what the in-process server cannot serve, or only slowly', { skip: dovecotAvailable.available ? false : dovecotAvailable.reason }, () => {
  let dovecot: Dovecot;
  before(async () => {
    dovecot = await startDovecot({ entra: stack.entra });
  });
  after(() => dovecot?.stop());

  test(`${onDovecot.join(', ')}: each handed off or quarantined, the mail behind each handed off`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const user = 'hostile-generated@contoso.example';
    await dovecot.grant(user);
    const messages = all.filter((m) => onDovecot.includes(m.name));
    // These are CRLF mail without NUL: Dovecot stores and serves their very bytes.
    const { outcomes, ms } = await drainHostile(stack, messages, { timeLimitMs: DRAIN_TIME_LIMIT_MS, mailbox: dovecotMailbox(dovecot, user) });
    t.diagnostic(`drained ${messages.length * 2} messages in ${ms} ms`);
    await checkOutcomes(outcomes, (line) => t.diagnostic(line));
  });
});
