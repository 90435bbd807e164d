/**
 * Drains hostile mail with the product's real drain() and checks the promise
 * for every message: it left the mailbox either handed off (on the queue, raw
 * blob byte for byte what was seeded, in Processed) or quarantined (on the
 * poison queue, raw blob byte for byte, in Failed), within a time limit, and
 * the ordinary sentinel behind it was handed off unchanged.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { drain, isComplete, type DrainReport } from '../../shared/drain/drain.js';
import type { MailMessage, PoisonMessage, QueueMessage } from '../../shared/contract/queueMessage.js';
import { loadSettings } from '../../shared/config/loadSettings.js';
import type { SeedMessage } from '../../local/imapServer.js';
import type { Dovecot } from '../support/dovecot.js';
import { sentinelMessage } from '../support/hostileMail.js';
import { capturingLogger, type TestStack } from '../support/localStack.js';

export const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Resolves with `promise`, or fails the test once `ms` have passed (the promise itself cannot be stopped). */
export async function within<T>(promise: Promise<T>, ms: number, failure: string): Promise<T> {
  // Once the limit has failed the test, a late rejection is no news.
  promise.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new assert.AssertionError({ message: `${failure} (no result within ${ms} ms)` })), ms);
  });
  try {
    return await Promise.race([promise, limit]);
  } finally {
    clearTimeout(timer);
  }
}

export interface Hostile {
  name: string;
  raw: Buffer;
}

export type Outcome =
  | { name: string; uid: number; outcome: 'handedOff'; message: MailMessage; viaBlob: boolean }
  | { name: string; uid: number; outcome: 'quarantined'; poison: PoisonMessage };

export interface HostileDrain {
  report: DrainReport;
  /** One per hostile message, in seeding order. */
  outcomes: Outcome[];
  ms: number;
}

/** The full message behind a queue message, reading the payload blob of a claim-checked one. */
export async function fullMessage(stack: TestStack, message: QueueMessage): Promise<MailMessage> {
  return 'payloadBlobUrl' in message ? JSON.parse((await stack.readBlob(message.payloadBlobUrl)).toString('utf8')) : message;
}

/** [hostile, sentinel] pairs: the sentinel is the message right behind each hostile one. */
export function withSentinels(hostile: Hostile[]): { raw: Buffer; name: string; sentinel?: ReturnType<typeof sentinelMessage> }[] {
  return hostile.flatMap((h, i) => {
    const sentinel = sentinelMessage(i);
    return [{ raw: h.raw, name: h.name }, { raw: sentinel.raw, name: `sentinel ${i}`, sentinel }];
  });
}

/** A mailbox the drain runs against: the in-process server, or Dovecot. */
export interface HostileMailbox {
  /** Stores the messages as INBOX's only ones; resolves with each one's UID and the bytes the server serves, in order. */
  seed(raws: Buffer[]): Promise<{ uid: number; raw: Buffer }[]>;
  /** The sources a folder holds now. */
  folder(name: string): Promise<Buffer[]>;
  /** Settings for a drain of this mailbox (names as app settings). */
  settings: Record<string, string>;
}

/** The stack's in-process IMAP server (hoodiecrow), a fresh one per call of seed(). */
export function inProcessMailbox(stack: TestStack): HostileMailbox {
  return {
    async seed(raws) {
      await stack.reseed(raws.map((raw, i): SeedMessage => ({ raw, internalDate: new Date(Date.UTC(2026, 10, 20, 8, 0, i)) })));
      return stack.imap.messages('INBOX').map(({ uid, raw }) => ({ uid, raw }));
    },
    folder: async (name) => stack.imap.messages(name).map((m) => m.raw),
    settings: {},
  };
}

/**
 * Seeds [hostile, sentinel] pairs, drains them once within `timeLimitMs`, and
 * checks every message's fate (see the module comment). The raw blobs are
 * compared with the bytes the server serves; `exact` (the default) also
 * requires those to be the seeded bytes.
 */
export async function drainHostile(
  stack: TestStack,
  hostile: Hostile[],
  options: {
    timeLimitMs: number;
    mailbox?: HostileMailbox;
    settings?: Record<string, string>;
    exact?: boolean;
    /** Runs the drain with these settings (names as app settings); drain() in this process by default. */
    drain?: (settings: Record<string, string>) => Promise<DrainReport>;
  },
): Promise<HostileDrain> {
  const mailbox = options.mailbox ?? inProcessMailbox(stack);
  const seeded = withSentinels(hostile);
  const served = await mailbox.seed(seeded.map((m) => m.raw));
  assert.equal(served.length, seeded.length, 'the server holds every seeded message');
  if (options.exact ?? true) {
    // The server holds the very bytes seeded: hoodiecrow keeps sources as 'binary' strings, NUL, 8-bit and bare CR included.
    served.forEach((m, i) => assert.ok(m.raw.equals(seeded[i]!.raw), `${seeded[i]!.name}: the IMAP server holds the seeded bytes`));
  }
  const indexOf = new Map(served.map((m, i) => [m.uid, i]));

  const { lines, logger } = capturingLogger();
  const settings = { ...stack.settings, ...mailbox.settings, ...options.settings };
  const started = Date.now();
  const report = await within(
    options.drain ? options.drain(settings) : drain(loadSettings(settings), logger),
    options.timeLimitMs,
    `the drain of ${hostile.map((h) => h.name).join(', ')} finishes`,
  );
  const ms = Date.now() - started;

  const context = () => {
    const choked = !options.mailbox && /IMAP_FAILED/.test(report.stoppedBecause ?? '')
      ? `\nThe in-process server cannot serve: ${seeded.filter((m) => hoodiecrowCannotServe(m.raw)).map((m) => m.name).join(', ') || 'none of them'}`
      : '';
    return `${JSON.stringify({ failed: report.failed, stoppedBecause: report.stoppedBecause, notAttempted: report.notAttempted })}${choked}\n${lines.slice(-20).join('\n')}`;
  };
  assert.ok(isComplete(report), `every message handed off or quarantined: ${context()}`);
  assert.equal(report.found, seeded.length);
  assert.equal(report.handedOff.length + report.quarantined.length, seeded.length, context());

  const queued = new Map<number, { message: MailMessage; viaBlob: boolean }>();
  for (const q of await stack.drainQueue()) {
    assert.ok(!queued.has(q.uid), `UID ${q.uid} queued once`);
    queued.set(q.uid, { message: await fullMessage(stack, q), viaBlob: 'payloadBlobUrl' in q });
  }
  const poisoned = new Map<number, PoisonMessage>();
  for (const p of await stack.drainPoisonQueue()) {
    assert.ok(!poisoned.has(p.uid), `UID ${p.uid} quarantined once`);
    poisoned.set(p.uid, p);
  }
  assert.equal(queued.size + poisoned.size, seeded.length, 'every message is on the queue or the poison queue');

  const outcomes: Outcome[] = [];
  for (const [uid, index] of indexOf) {
    const { name, sentinel } = seeded[index]!;
    const raw = served[index]!.raw;
    const handed = queued.get(uid);
    const poison = poisoned.get(uid);
    assert.ok(handed || poison, `${name} (UID ${uid}) left the mailbox through the queue or the poison queue`);
    assert.ok(!(handed && poison), `${name} (UID ${uid}) is not both handed off and quarantined`);
    const blob = handed ? handed.message.raw : poison!.raw;
    assert.ok(blob, `${name}: its raw bytes were kept`);
    assert.equal(blob.size, raw.length, `${name}: raw size`);
    assert.equal(blob.sha256, sha256(raw), `${name}: raw sha256`);
    assert.ok((await stack.readBlob(blob.blobUrl)).equals(raw), `${name}: the raw blob is byte for byte the message`);
    if (poison) assert.equal(poison.movedTo, 'Failed');
    if (sentinel) {
      assert.ok(handed, `${name}, right behind ${seeded[index - 1]!.name}, was handed off: ${poison?.reason} ${poison?.detail}`);
      assert.equal(handed.message.subject, sentinel.subject);
      assert.equal(handed.message.text, sentinel.text);
      assert.equal(handed.message.messageId, sentinel.messageId);
      assert.deepEqual(handed.message.from, [{ name: 'Alice Example', address: 'alice@example.com' }]);
    } else {
      outcomes.push(handed ? { name, uid, outcome: 'handedOff', ...handed } : { name, uid, outcome: 'quarantined', poison: poison! });
    }
  }

  // The mailbox agrees: the inbox is empty, Processed and Failed hold the very bytes.
  assert.equal((await mailbox.folder('INBOX')).length, 0, 'the inbox is empty');
  const digests = async (folder: string) => (await mailbox.folder(folder)).map(sha256).sort();
  const expected = (uids: Iterable<number>) => [...uids].map((uid) => sha256(served[indexOf.get(uid)!]!.raw)).sort();
  assert.deepEqual(await digests('Processed'), expected(queued.keys()), 'Processed holds every handed-off message, unchanged');
  assert.deepEqual(await digests('Failed'), expected(poisoned.keys()), 'Failed holds every quarantined message, unchanged');

  return { report, outcomes, ms };
}

/** One line per outcome, for the test's diagnostics. */
export function describeOutcome(o: Outcome): string {
  return o.outcome === 'handedOff'
    ? `handed off${o.viaBlob ? ' (payload blob)' : ''}: ${o.name}`
    : `quarantined (${o.poison.reason}): ${o.name}: ${o.poison.detail.slice(0, 120)}`;
}

/**
 * A mailbox on Dovecot (test/support/dovecot.ts), for what the in-process server
 * cannot serve. Dovecot stores lines with CRLF (mail_save_crlf) and serves what it
 * stored: drainHostile needs `exact: false` for mail with other line ends.
 */
export function dovecotMailbox(dovecot: Dovecot, user: string): HostileMailbox {
  return {
    async seed(raws) {
      assert.deepEqual(await dovecot.messages(user, 'INBOX'), [], `${user} is a fresh mailbox`);
      for (const raw of raws) await dovecot.seed(user, 'INBOX', raw);
      return (await dovecot.messages(user, 'INBOX')).map(({ uid, raw }) => ({ uid, raw }));
    },
    folder: async (name) => (await dovecot.messages(user, name)).map((m) => m.raw),
    // Dovecot's own listener, not the token-expiry proxy in front of it: the proxy costs about 40 ms
    // a round trip (a 60 MB download of 960 partial FETCHes takes 38 s through it, 2 s without), and
    // token expiry is not what these tests are about.
    settings: { IMAP_HOST: dovecot.host, IMAP_PORT: String(dovecot.dovecotPort), MAILBOX: user },
  };
}

const hoodiecrowMimeParser = createRequire(import.meta.url)('hoodiecrow-imap/lib/mimeparser') as (raw: string) => unknown;

/**
 * Why the in-process server (hoodiecrow) cannot serve `raw`, or undefined when it
 * can. It parses a message with its own MIME parser on the first FETCH of any
 * BODY[] section; when that parser throws, it answers the whole UID FETCH of the
 * batch with BAD, so the drain stops there (IMAP_FAILED) and no message of the
 * batch can leave the mailbox: a limit of the test server, not of the drain.
 */
export function hoodiecrowCannotServe(raw: Buffer): string | undefined {
  try {
    hoodiecrowMimeParser(raw.toString('binary'));
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
