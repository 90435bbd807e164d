/**
 * The big ones, and memory. A 60 MB message (over the default MAX_MESSAGE_BYTES
 * of 50 MB) is quarantined as too large, streamed from the mailbox to Blob
 * storage without ever being held in memory, raw bytes intact; the largest
 * generated messages are drained with memory bounded by the batch, and nothing
 * left behind.
 *
 * Memory is measured in a drain process of its own (measuredDrain.ts): the
 * in-process IMAP server keeps every message, and its own parse of it, in the
 * test process (a 60 MB message costs it about 190 MiB of heap), which would
 * drown what the drain itself uses.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DrainReport } from '../../shared/drain/drain.js';
import { hostileMessages, largeAttachmentMessage } from '../support/hostileMail.js';
import { ensureDovecot, startDovecot, type Dovecot } from '../support/dovecot.js';
import { useTestStack, type TestStack } from '../support/localStack.js';
import { drainInProcess, type DrainMemory } from './measuredDrain.js';
import { describeOutcome, dovecotMailbox, drainHostile, sha256, type HostileMailbox } from './hostileDrain.js';

const MB = 1024 * 1024;
const LARGE_BYTES = 60 * MB;

/**
 * What streaming the 60 MB message may cost the drain at the peak, in RSS, heap
 * and Buffers each: a constant, below the 60 MiB a drain that held the message
 * would need for its source alone (its upload would copy it again). The stream
 * holds imapflow's 64 KiB chunks and the blob upload's 2 blocks of 4 MiB in
 * flight with the data waiting for them, whatever the message's size. Measured
 * here (2 cores, Node 20), in-process server / Dovecot: RSS +38 to +45 / +31 to
 * +38 MiB, heap +19 to +20 MiB, Buffers +26 to +31 / +21 to +26 MiB; and the same
 * for a 120 MB message (RSS +45 / +31 MiB), so it does not grow with the message.
 */
const STREAMING_BOUND = 56 * MB;

/** The generated messages of at least this size are "the big ones": 0.9 to 10.5 MB each, 29 MB together. */
const BIG = 900 * 1000;

/**
 * What draining the big ones may cost at the peak: messages up to
 * MAX_MESSAGE_BYTES are fetched and parsed whole, a batch of at most BATCH_BYTES
 * (64 MiB) at a time, so this bound is the batch's, not any one message's.
 * Measured: RSS +104 to +130 MiB, heap +57 MiB, Buffers +40 to +72 MiB.
 */
const BIG_BATCH_BOUND = 256 * MB;

/**
 * What a drain may keep after a GC, in heap and Buffers: code loaded on first
 * use (mailparser, iconv tables, the Storage clients), none of the messages.
 * Measured: heap +4 to +6 MiB, Buffers +0.1 MiB. (RSS is not compared: the
 * allocator keeps freed pages, so it says nothing about what is still held.)
 */
const RETAINED_BOUND = 16 * MB;

/** The 60 MB drain takes 4 to 8 s here; one that hangs does not finish in this. */
const DRAIN_TIME_LIMIT_MS = 120_000;
/** Seeding and checking included: the backstop should anything but the drain hang. */
const TEST_TIMEOUT_MS = 3 * DRAIN_TIME_LIMIT_MS;

const mib = (bytes: number) => `${(bytes / MB).toFixed(1)} MiB`;
const describeMemory = ({ before, peak, after }: DrainMemory) =>
  (['rss', 'heapUsed', 'arrayBuffers'] as const)
    .map((k) => `${k} ${mib(before[k])}: peak +${mib(peak[k] - before[k])}, after ${after[k] >= before[k] ? '+' : ''}${mib(after[k] - before[k])}`)
    .join('; ');

let stack: TestStack;
useTestStack((ready) => (stack = ready));

/** drainHostile's drain, in its own process; keeps the memory it reports. */
function measured(): { drain: (settings: Record<string, string>) => Promise<DrainReport>; memory: () => DrainMemory } {
  let memory: DrainMemory | undefined;
  return {
    drain: async (settings) => {
      const result = await drainInProcess(settings);
      memory = result.memory;
      return result.report;
    },
    memory: () => memory!,
  };
}

async function drainLarge(t: { diagnostic(line: string): void }, mailbox?: HostileMailbox): Promise<void> {
  const large = largeAttachmentMessage(LARGE_BYTES);
  assert.equal(large.length, LARGE_BYTES);
  const run = measured();
  const { outcomes, ms } = await drainHostile(stack, [{ name: 'large/60-MB-attachment', raw: large }], {
    timeLimitMs: DRAIN_TIME_LIMIT_MS,
    mailbox,
    drain: run.drain,
  });
  const memory = run.memory();
  t.diagnostic(`drained in ${ms} ms; ${describeMemory(memory)}`);

  const [outcome] = outcomes;
  assert.equal(outcome?.outcome, 'quarantined');
  assert.equal(outcome.poison.reason, 'too-large');
  assert.equal(outcome.poison.detail, `${LARGE_BYTES} bytes, over MAX_MESSAGE_BYTES (${50 * MB})`);
  // drainHostile compared the blob with the served bytes; these are the generated ones, regenerated.
  assert.equal(outcome.poison.raw?.sha256, sha256(largeAttachmentMessage(LARGE_BYTES)));

  assertMemory(memory, STREAMING_BOUND);
}

function assertMemory(memory: DrainMemory, peakBound: number): void {
  for (const key of ['rss', 'heapUsed', 'arrayBuffers'] as const) {
    const growth = memory.peak[key] - memory.before[key];
    assert.ok(growth < peakBound, `${key} grew by ${mib(growth)} at the peak (bound ${mib(peakBound)})`);
  }
  for (const key of ['heapUsed', 'arrayBuffers'] as const) {
    const retained = memory.after[key] - memory.before[key];
    assert.ok(retained < RETAINED_BOUND, `${key} kept ${mib(retained)} after the drain (bound ${mib(RETAINED_BOUND)})`);
  }
}

test('a 60 MB message is quarantined as too large, streamed byte for byte in bounded memory, and the mail behind it handed off', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  await drainLarge(t);
});

test('the big generated messages: each handed off or quarantined, memory bounded by the batch and nothing kept', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const big = hostileMessages().filter((m) => m.raw.length >= BIG);
  t.diagnostic(`${big.length} messages, ${mib(big.reduce((n, m) => n + m.raw.length, 0))}: ${big.map((m) => m.name).join(', ')}`);
  const run = measured();
  const { outcomes, ms } = await drainHostile(stack, big, { timeLimitMs: DRAIN_TIME_LIMIT_MS, drain: run.drain });
  const memory = run.memory();
  t.diagnostic(`drained in ${ms} ms; ${describeMemory(memory)}`);
  for (const o of outcomes) t.diagnostic(describeOutcome(o));
  assertMemory(memory, BIG_BATCH_BOUND);
});

const dovecotAvailable = ensureDovecot();

describe('on Dovecot', { skip: dovecotAvailable.available ? false : dovecotAvailable.reason }, () => {
  let dovecot: Dovecot;
  before(async () => {
    dovecot = await startDovecot({ entra: stack.entra });
  });
  after(() => dovecot?.stop());

  test('a 60 MB message is quarantined as too large, streamed byte for byte in bounded memory, and the mail behind it handed off', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const user = 'hostile-large@contoso.example';
    await dovecot.grant(user);
    // The generated message has CRLF lines and no NUL: Dovecot serves the very bytes.
    await drainLarge(t, dovecotMailbox(dovecot, user));
  });
});
