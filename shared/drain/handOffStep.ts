/**
 * One step of the drain up to Storage's acknowledgement, in two halves the
 * drain overlaps: fetch the step's messages (IMAP), then record them in
 * flight, parse and hand off each (Storage). The mailbox is not settled here;
 * the drain settles what this returns.
 */
import type { LimitFunction } from 'p-limit';
import { describe, DrainError, isDrainError } from '../errors/errors.js';
import type { Logger } from '../errors/logger.js';
import { isRefusal } from '../mailbox/imapResponses.js';
import type { FetchedBatch, Mailbox, PendingMessage } from '../mailbox/mailbox.js';
import type { Outbox } from '../outbox/outbox.js';
import { messageKey } from '../contract/queueMessage.js';
import type { AttemptLedger } from './attemptLedger.js';
import { failed, handOff, quarantineStream, quarantineUnreadable, type HandOffResult, type MailboxRef } from './handOff.js';
import { handOffStreamed } from './handOffStreamed.js';
import type { Step } from './plan.js';

/** What a step works with. */
export interface StepContext {
  /** Bounds the hand-offs in flight across every step of the drain. */
  handOffs: LimitFunction;
  /** Told each result as it comes; once it says stop, hand-offs not yet begun are left for the next run. */
  gate: { stopped(): boolean; counted(result: HandOffResult): void };
  mailbox: Mailbox;
  outbox: Outbox;
  ledger: AttemptLedger;
  ref: MailboxRef;
  /** MAX_ATTEMPTS: own failures after which a message is quarantined. */
  maxAttempts: number;
  /** MAX_MESSAGE_BYTES: larger messages are streamed to quarantine, never parsed. */
  maxMessageBytes: number;
  logger: Logger;
}

/** A step whose messages are in hand; a streamed or oversized step's message is fetched as it is handed off. */
export interface FetchedStep {
  step: Step;
  batch: FetchedBatch;
}

/**
 * Fetches a step's messages. A batch the server refuses to FETCH is fetched
 * again one UID at a time, so one message the server cannot serve fails alone;
 * its failures are counted, and after MAX_ATTEMPTS it is quarantined, with its
 * bytes when they can be had. Throws only when the session went away.
 */
export async function fetchStep(step: Step, ctx: StepContext): Promise<FetchedStep> {
  if (step.kind !== 'fetched') return { step, batch: { messages: [], missing: [] } };
  const uids = step.messages.map((m) => m.uid);
  try {
    return { step, batch: await ctx.mailbox.fetch(uids) };
  } catch (error) {
    return { step, batch: await fetchOneByOne(uids, error, ctx.mailbox, ctx.logger) };
  }
}

/**
 * Hands off a fetched step's messages: a result per message handed off,
 * quarantined or failed; none for a message left because the drain is
 * stopping. Throws only when the session or Storage went away.
 */
export async function handOffStep({ step, batch }: FetchedStep, ctx: StepContext): Promise<HandOffResult[]> {
  const { outbox, ledger, ref, logger, gate } = ctx;
  const each = (run: () => Promise<HandOffResult>) =>
    ctx.handOffs(async () => {
      if (gate.stopped()) return undefined;
      const result = await run();
      gate.counted(result);
      return result;
    });
  const attempts = (uid: number) => ({ previous: ledger.attemptsOf(uid), max: ctx.maxAttempts });
  if (step.kind !== 'fetched') {
    const message = step.messages[0]!;
    const result = await each(() => (step.kind === 'oversized' ? quarantineOversized(message, ctx) : streamed(message, attempts(message.uid), ctx)));
    return result ? [result] : [];
  }
  await ledger.begin(step.messages.map((m) => m.uid));
  const handedOff = batch.messages.map((message) => each(() => handOff(message, ref, outbox, attempts(message.uid), logger)));
  const unreadable = batch.missing.map((uid) => each(() => notServed(uid, ref, outbox, attempts(uid))));
  return (await Promise.all([...handedOff, ...unreadable])).filter((r): r is HandOffResult => r !== undefined);
}

/** A message over STREAM_PARSE_BYTES, parsed as it streams from the mailbox to its blobs. */
async function streamed(message: PendingMessage, attempts: { previous: number; max: number }, ctx: StepContext): Promise<HandOffResult> {
  await ctx.ledger.begin([message.uid]);
  // Never throws: a failed stream, parse or upload comes back as the message's result.
  return handOffStreamed(message, ctx.ref, ctx.outbox, attempts, ctx.logger, (sink) => ctx.mailbox.stream(message.uid, message.size, sink));
}

async function quarantineOversized(message: PendingMessage, ctx: StepContext): Promise<HandOffResult> {
  const { mailbox, outbox, ledger, ref, maxAttempts } = ctx;
  const previous = ledger.attemptsOf(message.uid);
  if (previous >= maxAttempts) {
    return quarantineUnreadable(message.uid, ref, outbox, `streaming it to quarantine failed ${previous} times (MAX_ATTEMPTS ${maxAttempts})`);
  }
  await ledger.begin([message.uid]);
  // Never throws: a failed stream or upload comes back as the message's failed result.
  return quarantineStream(message, ctx.maxMessageBytes, ref, outbox, (sink) => mailbox.stream(message.uid, message.size, sink));
}

/**
 * A batch FETCH failed: the server refused it (NO, BAD), or ended the session
 * over it (Dovecot answers a message it cannot read with BYE). Fetched one UID
 * at a time, the message at fault is the one that fails. A UID whose FETCH
 * ended the session is blamed only if the server answers again afterwards;
 * otherwise the server or the network is down, and the drain stops as for any
 * lost session.
 */
async function fetchOneByOne(uids: number[], error: unknown, mailbox: Mailbox, logger: Logger): Promise<FetchedBatch> {
  if (!isRefusal(error) && !isSessionLost(error)) throw error;
  if (uids.length > 1) logger.warn(`Fetching UIDs ${uids.join(',')} failed (${describe(error).split('\n')[0]}); fetching them one at a time.`);
  const fetched: FetchedBatch = { messages: [], missing: [] };
  let sessionLost = false;
  for (const uid of uids) {
    try {
      if (uids.length === 1) throw error;
      const one = await mailbox.fetch([uid]);
      fetched.messages.push(...one.messages);
      fetched.missing.push(...one.missing);
    } catch (e) {
      if (!isRefusal(e) && !isSessionLost(e)) throw e;
      sessionLost ||= !isRefusal(e);
      fetched.missing.push(uid);
    }
  }
  // Throws when the server does not answer now: then nothing here was any message's fault.
  if (sessionLost) await mailbox.noop();
  return fetched;
}

function isSessionLost(error: unknown): boolean {
  return isDrainError(error) && (error.code === 'IMAP_UNREACHABLE' || error.code === 'IMAP_CONNECTION_LOST' || error.code === 'IMAP_TOKEN_EXPIRED');
}

/** A requested message the server returned no bytes for. */
async function notServed(uid: number, ref: MailboxRef, outbox: Outbox, attempts: { previous: number; max: number }): Promise<HandOffResult> {
  if (attempts.previous >= attempts.max) {
    return quarantineUnreadable(uid, ref, outbox, `the server returned no bytes for it ${attempts.previous} times (MAX_ATTEMPTS ${attempts.max})`);
  }
  const error = new DrainError(
    'IMAP_MESSAGE_UNREADABLE',
    `The server returned no body for UID ${uid} of ${ref.folder}.`,
    { folder: ref.folder },
  );
  return failed(uid, messageKey(ref.mailbox, ref.folder, ref.uidValidity, uid), error);
}
