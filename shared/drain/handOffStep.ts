/**
 * One step of the drain up to Storage's acknowledgement: fetch the step's
 * messages, record them in flight, parse and hand off each. The mailbox is not
 * touched here; the drain settles what this returns.
 */
import pLimit from 'p-limit';
import { describe, DrainError, isDrainError } from '../errors/errors.js';
import type { Logger } from '../errors/logger.js';
import { isRefusal } from '../mailbox/imapResponses.js';
import type { FetchedBatch, Mailbox, PendingMessage } from '../mailbox/mailbox.js';
import type { Outbox } from '../outbox/outbox.js';
import { messageKey } from '../contract/queueMessage.js';
import type { AttemptLedger } from './attemptLedger.js';
import { failed, handOff, quarantineStream, quarantineUnreadable, type HandOffResult, type MailboxRef } from './handOff.js';
import type { Step } from './plan.js';

/** Hand-offs in flight at once: enough to hide Storage latency, few enough to stay under its throttling. */
export const HANDOFF_CONCURRENCY = 4;

/** What a step works with. */
export interface StepContext {
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

/** Fetches and hands off a step's messages; one result per message. Throws only when the session or Storage went away. */
export async function handOffStep(step: Step, ctx: StepContext): Promise<HandOffResult[]> {
  return step.streamed ? [await quarantineOversized(step.messages[0]!, ctx)] : handOffBatch(step.messages.map((m) => m.uid), ctx);
}

async function quarantineOversized(message: PendingMessage, ctx: StepContext): Promise<HandOffResult> {
  const { mailbox, outbox, ledger, ref, maxAttempts } = ctx;
  const previous = ledger.attemptsOf(message.uid);
  if (previous >= maxAttempts) {
    return quarantineUnreadable(message.uid, ref, outbox, `streaming it to quarantine failed ${previous} times (MAX_ATTEMPTS ${maxAttempts})`);
  }
  await ledger.begin([message.uid]);
  // Never throws: a failed stream or upload comes back as the message's failed result.
  return quarantineStream(message.uid, message.size, ctx.maxMessageBytes, ref, outbox, (sink) => mailbox.stream(message.uid, message.size, sink));
}

/**
 * Fetches a batch and hands off each message. A batch the server refuses to
 * FETCH is fetched again one UID at a time, so one message the server cannot
 * serve fails alone; its failures are counted, and after MAX_ATTEMPTS it is
 * quarantined, with its bytes when they can be had.
 */
async function handOffBatch(uids: number[], ctx: StepContext): Promise<HandOffResult[]> {
  const { mailbox, outbox, ledger, ref, logger } = ctx;
  let fetched: FetchedBatch;
  try {
    fetched = await mailbox.fetch(uids);
  } catch (error) {
    fetched = await fetchOneByOne(uids, error, mailbox, logger);
  }
  await ledger.begin(uids);
  const attempts = (uid: number) => ({ previous: ledger.attemptsOf(uid), max: ctx.maxAttempts });
  const limit = pLimit(HANDOFF_CONCURRENCY);
  const handedOff = fetched.messages.map((message) => limit(() => handOff(message, ref, outbox, attempts(message.uid), logger)));
  const unreadable = fetched.missing.map((uid) => limit(() => notServed(uid, ref, outbox, attempts(uid))));
  return Promise.all([...handedOff, ...unreadable]);
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
